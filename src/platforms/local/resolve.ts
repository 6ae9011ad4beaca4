// Finding a stored experiment by name in a local state directory, for `iter8 describe NAME` and
// `iter8 get experiments` in another terminal while `iter8 local run` writes the files.

import { namespaceOf } from "../../api/refs.ts";
import type { Experiment } from "../../api/types.ts";
import {
  defaultStateDir,
  keyOf,
  listStoredExperiments,
  type RunnerLiveness,
  readJson,
  runnerLiveness,
} from "./store.ts";

export interface ResolvedLocalExperiment {
  experiment: Experiment;
  /** The Experiment document as the tutorial wrote it, when the run recorded where it came from. */
  source?: unknown;
}

export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
}

/** The experiment called `name` (in `namespace`, or the only one of that name in any namespace). */
export function resolveLocalExperiment(
  name: string,
  namespace: string | undefined,
  stateDir: string = defaultStateDir(),
): ResolvedLocalExperiment {
  const all = listStoredExperiments(stateDir);
  const matches = all.filter(
    (e) => e.metadata.name === name && (namespace === undefined || namespaceOf(e) === namespace),
  );
  if (matches.length === 0) {
    const known = all.map((e) => `${namespaceOf(e)}/${e.metadata.name}`).join(", ");
    throw new NotFoundError(
      `experiment ${namespace ? `${namespace}/` : ""}${name} not found in state directory ${stateDir}${known ? ` (found: ${known})` : " (it holds no experiments)"}`,
    );
  }
  if (matches.length > 1)
    throw new NotFoundError(
      `experiment ${name} exists in several namespaces (${matches.map((m) => m.metadata.namespace).join(", ")}): use -n NAMESPACE`,
    );
  const experiment = matches[0]!;
  return { experiment, ...sourceOf(stateDir, experiment) };
}

/** The experiment, as `resolveLocalExperiment` finds it, and whether its run is alive now. */
export function findLocalExperiment(
  name: string,
  namespace: string | undefined,
  stateDir: string,
): ResolvedLocalExperiment & { liveness: RunnerLiveness } {
  const found = resolveLocalExperiment(name, namespace, stateDir);
  return { ...found, liveness: runnerLiveness(stateDir, keyOf(found.experiment)) };
}

function sourceOf(stateDir: string, exp: Experiment): { source?: unknown } {
  const rec = readJson<{ source?: unknown }>(
    `${stateDir}/runs/${namespaceOf(exp)}.${exp.metadata.name}.json`,
  );
  return rec?.source === undefined ? {} : { source: rec.source };
}
