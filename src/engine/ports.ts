// The four ports the engine talks to, plus the clock. The engine knows nothing of Kubernetes or of
// local processes: platform adapters (src/platforms/*) implement these interfaces.

import type { SampleDistribution } from "../analytics/stats/sample.ts";
import type {
  AnalysisPiece,
  Experiment,
  Metric,
  TaskSpec,
  VersionDetail,
  VersionInfo,
} from "../api/types.ts";

/** Injected time, so tests drive iterations without sleeping. */
export interface Clock {
  now(): Date;
  /** Resolves after `ms` of this clock's time, or rejects with an AbortError when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface ObjectKey {
  namespace: string;
  name: string;
}

/** Raised by a store when a write was based on a stale `resourceVersion`. */
export class ConflictError extends Error {
  override readonly name = "ConflictError";
}

export function isConflict(err: unknown): boolean {
  return err instanceof ConflictError || (err instanceof Error && err.name === "ConflictError");
}

export interface EngineLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface ReconcileResult {
  /** The experiment is completed (or gone): nothing more to do. */
  done: boolean;
  /** Reconcile again after this delay (0 = right away). */
  requeueAfterMs?: number;
  /** An in-process action is running; reconcile again when this settles. */
  pending?: Promise<void>;
}

/** Where experiments (and the Metric objects they reference) live, and where status is written. */
export interface ExperimentStore {
  get(key: ObjectKey): Promise<Experiment | undefined>;
  list(): Promise<Experiment[]>;
  /**
   * The experiments whose `spec.target` is `target` (target locking). Stores serve this from an
   * index, so starting or ending an experiment never reads every experiment.
   */
  listByTarget(target: string): Promise<Experiment[]>;
  /** Writes `status` only. Rejects with ConflictError when `metadata.resourceVersion` is stale. */
  updateStatus(experiment: Experiment): Promise<Experiment>;
  /** Writes `spec` (start tasks such as `knative/init-experiment` fill `versionInfo`). */
  updateSpec(experiment: Experiment): Promise<Experiment>;
  getMetric(key: ObjectKey): Promise<Metric | undefined>;
}

/**
 * One weight field of one object, as a version's `weightObjRef` names it (namespace resolved).
 * `version` is there for messages and for test doubles; adapters locate the field by the rest.
 */
export interface WeightField {
  version: string;
  /** Absent when the ref names none: the local platform finds kinds by name alone, Kubernetes cannot. */
  apiVersion?: string;
  kind: string;
  namespace: string;
  name: string;
  fieldPath: string;
}

export interface FieldWrite {
  field: WeightField;
  value: number;
}

/**
 * Moves traffic by reading and writing raw fields. What a value means (absent fields, strings,
 * the remaining weight) is decided once, in engine/weights.ts, not by each platform.
 */
export interface TrafficActuator {
  /** The value at each field now, in order; undefined where the field is absent. */
  readFields(fields: readonly WeightField[]): Promise<unknown[]>;
  /** Writes every value; the fields of one object change in one atomic write, so no state in between is seen. */
  writeFields(writes: readonly FieldWrite[]): Promise<void>;
}

export interface MetricQuery {
  experiment: Experiment;
  /** `namespace/name` of the metric. */
  metricKey: string;
  metric: Metric;
  version: VersionDetail;
  now: Date;
}

/** A metric reading: a value, or the reason there is none. Never throws for backend problems. */
export interface MetricReading {
  value?: number;
  /** Observations behind the value (e.g. requests), when the backend knows it. */
  sampleSize?: number;
  /** Why `value` is absent: backend unreachable, empty result, NaN, jq error, ... */
  error?: string;
  /** What the backend knows about the observations behind the value, for confidence bounds. */
  distribution?: SampleDistribution;
}

export interface MetricsProvider {
  read(query: MetricQuery): Promise<MetricReading>;
}

export type ActionName = "start" | "loop" | "finish";

export interface TaskOutcome {
  /** Task name (`common/exec`) or `run`. */
  task: string;
  skipped: boolean;
  ok: boolean;
  output: string;
  error?: string;
  durationMs: number;
}

/** What an action's tasks changed; the engine applies it (and nothing else) to the experiment. */
export interface ActionEffects {
  /** Filled by a start task (`knative/init-experiment`): written to the spec. */
  versionInfo?: VersionInfo;
  /** Accumulated by `metrics/collect`: kept in `status.analysis`. */
  aggregatedBuiltinHists?: AnalysisPiece<unknown>;
}

export interface ActionResult {
  ok: boolean;
  tasks: TaskOutcome[];
  effects: ActionEffects;
  /** The runner's working copy as the tasks left it (for callers of the runner; the engine uses `effects`). */
  experiment: Experiment;
  /** Why the action as a whole failed (timeout, interrupted), beyond the failing task's own error. */
  error?: string;
}

/** A task of an action about to start, or just completed (its index in the action's list). */
export interface TaskEvent {
  index: number;
  task: string;
  phase: "started" | "completed";
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Indices of tasks that completed in an earlier launch: reported as skipped, not run again. */
  skip?: ReadonlySet<number>;
  /**
   * Awaited before each task starts and after it completes, so the caller records both durably;
   * a rejection before a start keeps the task from running (the action fails).
   */
  onTask?: (event: TaskEvent) => Promise<void>;
}

export interface TaskRunner {
  run(action: ActionName, experiment: Experiment, opts?: RunOptions): Promise<ActionResult>;
  /**
   * Whether running this task again after an interruption is harmless: `idempotent:` on the task,
   * else the task's own default (readiness checks and notifications are; commands are not).
   */
  isIdempotent?(spec: TaskSpec): boolean;
  /**
   * Problems with the experiment's task specs (unknown task, both or neither of `task`/`run`, bad
   * `if:`), each naming the action and index. Empty when every action can run.
   */
  validate?(experiment: Experiment): string[];
}
