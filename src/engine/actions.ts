// Actions (start, loop, finish): launching one, the in-process flight that runs its tasks, and
// recording its outcome. Exactly once, by construction:
// - The action is recorded as Running in status before it is launched, and each task's start and
//   completion are recorded (`progress`) as they happen, before the task runs and after it ends.
// - A restarted engine that finds a Running record it did not launch relaunches the action (at most
//   `maxActionAttempts` launches in all), skipping the tasks that completed. A task that had started
//   but not completed is run again only when it is idempotent (`idempotent: true`, or a task that is
//   by default: readiness, init, notifications); otherwise the action ends Failed with
//   "<task> was interrupted; not re-run", because it may already have had its effect (a promotion).
// - What the tasks changed comes back as effects (versionInfo, collected histograms) that are
//   applied here; nothing else of the experiment is taken from the tasks.

import { isDeepStrictEqual } from "node:util";
import type { Experiment, ExperimentSpec } from "../api/types.ts";
import { errorText } from "../lib/errors.ts";
import {
  type ActionName,
  type ActionResult,
  type Clock,
  type EngineLogger,
  type ExperimentStore,
  isConflict,
  type ObjectKey,
  type ReconcileResult,
  type TaskEvent,
  type TaskOutcome,
  type TaskRunner,
  type TrafficActuator,
} from "./ports.ts";
import { effectiveSpecOf } from "./spec.ts";
import {
  type ActionKind,
  type ActionRecord,
  endExperiment,
  engineStatus,
  failExperiment,
  kindTitle,
  type StatusDraft,
  type TaskProgress,
} from "./status.ts";
import { keyText } from "./target.ts";
import { readWeights } from "./weights.ts";

interface Flight {
  result?: ActionResult;
  promise: Promise<void>;
  controller: AbortController;
  abandoned: boolean;
}

/** What the actions need of the engine: its ports, settings, and its way of writing and ending. */
export interface ActionHost {
  store: ExperimentStore;
  tasks: TaskRunner;
  actuator: TrafficActuator;
  clock: Clock;
  log: EngineLogger;
  actionTimeoutMs: number;
  maxActionAttempts: number;
  write(exp: Experiment, draft: StatusDraft): Promise<Experiment>;
  end(key: ObjectKey, exp: Experiment, draft: StatusDraft, apply: () => void): Promise<ReconcileResult>;
  wake(key: ObjectKey): void;
}

/** Tail of each task's output kept in status (etcd objects are limited to ~1.5 MB). */
const STATUS_OUTPUT_CHARS = 8 * 1024;
/** Progress writes re-read and retry on a conflict (another writer of status got in between). */
const PROGRESS_WRITE_ATTEMPTS = 5;

function trimOutput(t: TaskOutcome): TaskOutcome {
  if (t.output.length <= STATUS_OUTPUT_CHARS) return t;
  return {
    ...t,
    output: `[... ${t.output.length - STATUS_OUTPUT_CHARS} earlier characters not kept ...]\n${t.output.slice(-STATUS_OUTPUT_CHARS)}`,
  };
}

export function hasAction(spec: ExperimentSpec, name: ActionName): boolean {
  return Object.hasOwn(spec.strategy.actions ?? {}, name);
}

export class Actions {
  readonly #h: ActionHost;
  /** In-process actions, by `ns/name#id#attempt`. */
  readonly #flights = new Map<string, Flight>();

  constructor(host: ActionHost) {
    this.#h = host;
  }

  /** Records the action as Running (with whatever else the draft holds), then launches it. */
  async launch(
    key: ObjectKey,
    exp: Experiment,
    draft: StatusDraft,
    action: ActionName,
    id: string,
    loop?: number,
    kind: ActionKind = action,
  ): Promise<ReconcileResult> {
    const previous = draft.action(id);
    const record: ActionRecord = {
      id,
      action,
      kind,
      state: "Running",
      attempts: (previous?.attempts ?? 0) + 1,
      startedAt: draft.nowText,
    };
    if (loop !== undefined) record.loop = loop;
    if (previous?.progress) record.progress = previous.progress;
    draft.putAction(record);
    draft.progress("HandlerLaunched", `${kindTitle(kind)} handler '${action}' launched`);
    const written = await this.#h.write(exp, draft);
    return { done: false, pending: this.#startFlight(key, written, record) };
  }

  /** A Running action: wait for it, record its outcome, or relaunch it after a restart. */
  async running(
    key: ObjectKey,
    exp: Experiment,
    draft: StatusDraft,
    record: ActionRecord,
  ): Promise<ReconcileResult> {
    const id = this.#flightId(key, record);
    const flight = this.#flights.get(id);
    if (flight && !flight.result) return { done: false, pending: flight.promise };

    let result: ActionResult;
    if (flight?.result) {
      result = flight.result;
    } else {
      const interrupted = this.#interruptedTask(exp, record);
      if (interrupted !== undefined) {
        result = { ok: false, tasks: [], effects: {}, experiment: exp, error: interrupted };
      } else if (record.attempts < this.#h.maxActionAttempts) {
        // Launched by an engine that stopped before recording the outcome: launch it again.
        this.#h.log.warn("relaunching interrupted action", { experiment: keyText(key), action: record.id });
        return this.launch(key, exp, draft, record.action, record.id, record.loop, record.kind);
      } else {
        const error = `interrupted ${record.attempts} times before it completed`;
        result = { ok: false, tasks: [], effects: {}, experiment: exp, error };
      }
    }
    return this.#finish(key, exp, draft, record, result, id);
  }

  /** Aborts every in-process action of `key` (its records stay Running, for the next engine). */
  abandon(key: ObjectKey): void {
    const prefix = `${keyText(key)}#`;
    for (const id of [...this.#flights.keys()]) if (id.startsWith(prefix)) this.#abandonFlight(id);
  }

  /** Aborts every in-process action (shutdown). */
  close(): void {
    for (const id of [...this.#flights.keys()]) this.#abandonFlight(id);
  }

  /**
   * The reason to stop, when a task of the last launch started and never completed and is not
   * idempotent (it may have had its effect); undefined when relaunching is safe.
   */
  #interruptedTask(exp: Experiment, record: ActionRecord): string | undefined {
    const specs = effectiveSpecOf(exp).strategy.actions?.[record.action] ?? [];
    for (const p of openTasks(record.progress ?? [])) {
      const spec = specs[p.index];
      if (spec && this.#h.tasks.isIdempotent?.(spec)) continue;
      return `${p.task} (task ${p.index + 1} of ${record.action}) was interrupted; not re-run, as it is not declared idempotent`;
    }
    return undefined;
  }

  async #finish(
    key: ObjectKey,
    exp: Experiment,
    draft: StatusDraft,
    record: ActionRecord,
    result: ActionResult,
    id: string,
  ): Promise<ReconcileResult> {
    const st = draft.status;
    const latest = draft.action(record.id) ?? record;
    const done: ActionRecord = {
      ...latest,
      state: result.ok ? "Succeeded" : "Failed",
      finishedAt: draft.nowText,
      tasks: result.tasks.map(trimOutput),
    };
    const failedTask = result.tasks.find((t) => !t.ok && !t.skipped);
    const error =
      result.error ?? (failedTask ? `${failedTask.task}: ${failedTask.error ?? "failed"}` : undefined);
    if (error !== undefined && !result.ok) done.error = error;
    draft.putAction(done);

    const hists = result.effects.aggregatedBuiltinHists;
    if (hists !== undefined) st.analysis = { ...st.analysis, aggregatedBuiltinHists: hists };

    let base = exp;
    const versionInfo = result.effects.versionInfo;
    if (result.ok && versionInfo !== undefined && !isDeepStrictEqual(versionInfo, exp.spec.versionInfo)) {
      // Start tasks (knative/init-experiment) fill versionInfo: persist the spec first; if the status
      // write below then fails, the redo finds the spec already equal and writes status only.
      base = await this.#h.store.updateSpec({ ...exp, spec: { ...exp.spec, versionInfo } });
    }

    const title = kindTitle(record.kind);
    if (!result.ok) {
      this.#h.log.warn("action failed", { experiment: keyText(key), action: record.id, error });
      return this.#h.end(key, base, draft, () =>
        failExperiment(draft, "HandlerFailed", `${title} actions failed`, `${title} actions failed`),
      );
    }
    if (record.action === "finish") {
      return this.#h.end(key, base, draft, () => endExperiment(draft, "Experiment Completed"));
    }
    if (record.action === "loop") {
      try {
        st.currentWeightDistribution = await readWeights(this.#h.actuator, {
          ...base,
          spec: effectiveSpecOf(base),
        });
      } catch (err) {
        this.#h.log.warn("weights not observable after loop action", {
          experiment: keyText(key),
          error: errorText(err),
        });
      }
    }
    await this.#h.write(base, draft);
    this.#flights.delete(id);
    return { done: false, requeueAfterMs: 0 };
  }

  #flightId(key: ObjectKey, record: ActionRecord): string {
    return `${keyText(key)}#${record.id}#${record.attempts}`;
  }

  #startFlight(key: ObjectKey, experiment: Experiment, record: ActionRecord): Promise<void> {
    const controller = new AbortController();
    const flight: Flight = { controller, abandoned: false, promise: Promise.resolve() };
    const id = this.#flightId(key, record);
    this.#flights.set(id, flight);
    this.#h.log.info("action launched", {
      experiment: keyText(key),
      action: record.id,
      attempt: record.attempts,
    });
    const skip = new Set((record.progress ?? []).filter((p) => p.state === "Completed").map((p) => p.index));
    flight.promise = (async () => {
      const timeoutMs = this.#h.actionTimeoutMs;
      const timeout = this.#h.clock.sleep(timeoutMs, controller.signal).then(
        (): ActionResult => {
          controller.abort(new Error(`action timed out after ${timeoutMs / 1000}s`));
          const error = `${record.action} action timed out after ${timeoutMs / 1000}s`;
          return { ok: false, tasks: [], effects: {}, experiment, error };
        },
        // Aborted: the action settled first (or the engine shut down); never wins the race.
        () => new Promise<ActionResult>(() => {}),
      );
      let result: ActionResult;
      try {
        const run = this.#h.tasks.run(record.action, experiment, {
          signal: controller.signal,
          skip,
          onTask: (event) => this.#recordProgress(key, record, event, flight),
        });
        result = await Promise.race([run, timeout]);
      } catch (err) {
        result = { ok: false, tasks: [], effects: {}, experiment, error: errorText(err) };
      }
      if (!controller.signal.aborted) controller.abort();
      flight.result = result;
      if (!flight.abandoned) this.#h.wake(key);
    })();
    return flight.promise;
  }

  /** Writes one task's start or completion into the action's record, re-reading on a conflict. */
  async #recordProgress(
    key: ObjectKey,
    record: ActionRecord,
    event: TaskEvent,
    flight: Flight,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (flight.abandoned) throw new Error("engine stopped");
      const exp = await this.#h.store.get(key);
      if (!exp) throw new Error("experiment deleted");
      const status = structuredClone(engineStatus(exp));
      const current = status.actions?.find((a) => a.id === record.id);
      if (current?.state !== "Running" || current.attempts !== record.attempts) {
        throw new Error(`action ${record.id} is no longer this launch's`);
      }
      const entry: TaskProgress = {
        index: event.index,
        task: event.task,
        state: event.phase === "started" ? "Started" : "Completed",
        attempt: record.attempts,
      };
      current.progress = [...(current.progress ?? []).filter((p) => p.index !== event.index), entry];
      try {
        await this.#h.store.updateStatus({ ...exp, status });
        return;
      } catch (err) {
        if (!isConflict(err) || attempt >= PROGRESS_WRITE_ATTEMPTS) throw err;
      }
    }
  }

  #abandonFlight(id: string): void {
    const flight = this.#flights.get(id);
    if (!flight) return;
    flight.abandoned = true;
    if (!flight.controller.signal.aborted) flight.controller.abort(new Error("engine stopped"));
    this.#flights.delete(id);
  }
}

/** Tasks recorded as Started and never Completed. */
function openTasks(progress: TaskProgress[]): TaskProgress[] {
  return progress.filter((p) => p.state === "Started");
}
