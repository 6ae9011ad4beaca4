// Reading the experiments of a local state directory for `iter8 get experiments [--watch]` in another
// terminal while `iter8 local run` writes them: list them in a scope, judge whether their runs are
// alive, and watch them for changes. The local counterpart of kubernetes/cluster-read.ts; the CLI
// only renders what these return.

import { DEFAULT_NAMESPACE, namespaceOf } from "../../api/refs.ts";
import type { Experiment } from "../../api/types.ts";
import { systemClock } from "../../engine/clock.ts";
import type { Clock } from "../../engine/ports.ts";
import { keyOf, listStoredExperiments, type RunnerLiveness, runnerLiveness } from "./store.ts";

export interface LocalExperimentScope {
  /** Namespace to read (default `default`; ignored with `allNamespaces`). */
  namespace?: string;
  allNamespaces?: boolean;
  /** Only this experiment. */
  name?: string;
}

/** The stored experiments in `scope`, sorted by file name (namespace, then name). */
export function listLocalExperiments(stateDir: string, scope: LocalExperimentScope = {}): Experiment[] {
  return listStoredExperiments(stateDir).filter(
    (e) =>
      (scope.name === undefined || e.metadata.name === scope.name) &&
      (scope.allNamespaces || namespaceOf(e) === (scope.namespace ?? DEFAULT_NAMESPACE)),
  );
}

/** Whether each experiment's `iter8 local run` is alive, judged when asked (by `clock`). */
export function localLiveness(
  stateDir: string,
  clock: Pick<Clock, "now"> = systemClock,
): (e: Experiment) => RunnerLiveness {
  return (e) => runnerLiveness(stateDir, keyOf(e), clock.now().getTime());
}

export interface LocalWatchOptions {
  /** How often the directory is read again (default 250 ms). */
  intervalMs?: number;
  /** Time for the polls and the liveness of runs (tests inject a fake one). */
  clock?: Clock;
}

/**
 * Calls `onChange` for every experiment in `scope` that differs from what `initial` (and then the
 * previous poll) showed, until `signal` aborts. A run writes its files atomically, so polling the
 * directory sees whole experiments; an experiment counts as changed when its resourceVersion does or
 * when its run stops (or starts) being alive, since that changes how it reads (Interrupted).
 */
export async function watchLocalExperiments(
  stateDir: string,
  scope: LocalExperimentScope,
  initial: readonly Experiment[],
  onChange: (e: Experiment) => void,
  signal: AbortSignal,
  options: LocalWatchOptions = {},
): Promise<void> {
  const clock = options.clock ?? systemClock;
  const intervalMs = options.intervalMs ?? 250;
  const liveness = localLiveness(stateDir, clock);
  const version = (e: Experiment) => `${e.metadata.resourceVersion ?? ""}|${liveness(e).alive}`;
  const id = (e: Experiment) => `${namespaceOf(e)}/${e.metadata.name}`;
  const seen = new Map<string, string>();
  for (const e of initial) seen.set(id(e), version(e));
  while (!signal.aborted) {
    try {
      await clock.sleep(intervalMs, signal);
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
    for (const e of listLocalExperiments(stateDir, scope)) {
      const v = version(e);
      if (seen.get(id(e)) === v) continue;
      seen.set(id(e), v);
      onChange(e);
    }
  }
}
