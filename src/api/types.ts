// The normalised in-memory shape of iter8 resources: `iter8.tools/v2alpha2` Experiment and Metric.
// v2alpha1 objects are upgraded to this shape on read, so the engine, analytics and
// report code only ever see these types.

export const GROUP = "iter8.tools";
export const V2ALPHA2 = "iter8.tools/v2alpha2";
export const V2ALPHA1 = "iter8.tools/v2alpha1";

/** A Kubernetes quantity as written: `50`, `"0.01"`, `"10m"`, `"1.5e2"`. Parse with `parseQuantity`. */
export type Quantity = number | string;

export interface NamedValue {
  name: string;
  value: string;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** core/v1 ObjectReference plus `fieldPath`, naming where a version's weight lives. */
export interface WeightObjRef {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  /** `.spec.http[0].route[1].weight` style (v2alpha1's JSON pointers are converted on upgrade). */
  fieldPath?: string;
  uid?: string;
  resourceVersion?: string;
}

export interface VersionDetail {
  name: string;
  variables?: NamedValue[];
  weightObjRef?: WeightObjRef;
}

export interface VersionInfo {
  baseline: VersionDetail;
  candidates?: VersionDetail[];
}

export const TESTING_PATTERNS = ["Canary", "A/B", "A/B/N", "Conformance"] as const;
export type TestingPattern = (typeof TESTING_PATTERNS)[number];

export const DEPLOYMENT_PATTERNS = ["Progressive", "FixedSplit", "BlueGreen"] as const;
export type DeploymentPattern = (typeof DEPLOYMENT_PATTERNS)[number];

/** One entry of an action: exactly one of `task` / `run`. */
export interface TaskSpec {
  task?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  /** Safe to run again when an engine restart interrupted it (default: per task, see the README). */
  idempotent?: boolean;
}

export interface Weights {
  maxCandidateWeight?: number;
  maxCandidateWeightIncrement?: number;
}

export interface Strategy {
  testingPattern: TestingPattern;
  deploymentPattern?: DeploymentPattern;
  /** Keys the engine uses: `start`, `loop`, `finish` (rollback runs `finish`). */
  actions?: Record<string, TaskSpec[]>;
  weights?: Weights;
}

export type PreferredDirection = "High" | "Low";

export interface Reward {
  /** Always `namespace/name` after normalisation. */
  metric: string;
  preferredDirection: PreferredDirection;
}

export interface Objective {
  /** Always `namespace/name` after normalisation. */
  metric: string;
  upperLimit?: Quantity;
  lowerLimit?: Quantity;
  rollback_on_failure?: boolean;
}

export interface Criteria {
  requestCount?: string;
  rewards?: Reward[];
  objectives?: Objective[];
  indicators?: string[];
  /** Arbitrary JSON in v2alpha2; iter8 reads the keys of `Strength` (see docs/decisions.md). */
  strength?: unknown;
}

/** `spec.criteria.strength` as iter8 reads it (validated and defaulted in src/api/strength.ts). */
export interface Strength {
  /** Confidence of every verdict, in (0.5, 1): e.g. 0.95. */
  confidence: number;
  /** Observations a version needs before any of its objectives is judged. */
  minSamples?: number;
  /** End the experiment as soon as the verdict is certain at `confidence`. */
  earlyStop?: boolean;
  /** Iterations that may be added, one at a time, while the verdict is inconclusive. */
  maxExtraIterations?: number;
}

export interface Duration {
  intervalSeconds?: number;
  iterationsPerLoop?: number;
  maxLoops?: number;
}

export interface ExperimentSpec {
  target: string;
  versionInfo?: VersionInfo;
  strategy: Strategy;
  criteria?: Criteria;
  duration?: Duration;
}

export type ConditionType = "Completed" | "Failed" | "TargetAcquired";
export type ConditionStatus = "True" | "False" | "Unknown";

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export const STAGES = ["Waiting", "Initializing", "Running", "Finishing", "Completed"] as const;
export type Stage = (typeof STAGES)[number];

export interface VersionWeight {
  name: string;
  value: number;
}

/** Every analysis piece carries where it came from and when. */
export interface AnalysisPiece<T> {
  provenance: string;
  timestamp: string;
  message?: string;
  data: T;
}

export interface VersionMetricValue {
  max?: Quantity;
  min?: Quantity;
  /** Absent when the value could not be read (backend down, empty result, NaN, ...). */
  value?: Quantity;
  /** Number of observations behind `value` (evidence with every verdict). */
  sampleSize?: Quantity;
}

export interface AggregatedMetric {
  max?: Quantity;
  min?: Quantity;
  data: Record<string, VersionMetricValue>;
}

/** Keyed by metric key (`namespace/name`), then by version name. */
export type AggregatedMetricsData = Record<string, AggregatedMetric>;

/** Keyed by version name: one boolean per objective, in `spec.criteria.objectives` order. */
export type VersionAssessmentsData = Record<string, boolean[]>;

export interface WinnerAssessmentData {
  winnerFound: boolean;
  winner?: string;
  bestVersions?: string[];
}

export type ObjectiveOutcome = "satisfied" | "violated" | "inconclusive";

/** The statistical shape of a metric, which decides how its uncertainty is bounded. */
export type MetricShape = "ratio" | "percentile" | "mean" | "none";

/** What the data say about one objective for one version (`status.analysis.evidence`). */
export interface ObjectiveEvidence {
  /** Index in `spec.criteria.objectives`. */
  objective: number;
  /** `namespace/name`. */
  metric: string;
  /** The point value compared without `strength`. */
  value?: number;
  sampleSize?: number;
  limit: number;
  direction: "upper" | "lower";
  shape: MetricShape;
  /** E.g. 0.95; absent: no interval. */
  confidence?: number;
  /** One-sided confidence bounds at `confidence` (fixed-sample, or always-valid with `strength`). */
  lower?: number;
  upper?: number;
  method?: string;
  outcome: ObjectiveOutcome;
  /** One human sentence: why, and what more data would decide. */
  reason?: string;
}

/** Keyed by version name: one entry per objective, in `spec.criteria.objectives` order. */
export type EvidenceData = Record<string, ObjectiveEvidence[]>;

export interface Analysis {
  aggregatedBuiltinHists?: AnalysisPiece<unknown>;
  aggregatedMetrics?: AnalysisPiece<AggregatedMetricsData>;
  versionAssessments?: AnalysisPiece<VersionAssessmentsData>;
  winnerAssessment?: AnalysisPiece<WinnerAssessmentData>;
  weights?: AnalysisPiece<VersionWeight[]>;
  evidence?: AnalysisPiece<EvidenceData>;
}

export interface MetricInfo {
  /** `namespace/name`. */
  name: string;
  metricObj: Metric;
}

export interface ExperimentStatus {
  conditions?: Condition[];
  initTime?: string;
  startTime?: string;
  lastUpdateTime?: string;
  stage?: Stage;
  completedIterations?: number;
  currentWeightDistribution?: VersionWeight[];
  analysis?: Analysis;
  versionRecommendedForPromotion?: string;
  message?: string;
  metrics?: MetricInfo[];
  /** Per-iteration record (see ExperimentHistory). */
  history?: ExperimentHistory;
  /** Iterations added beyond `spec.duration` while the evidence was inconclusive (`criteria.strength`). */
  extraIterations?: number;
}

export interface Experiment {
  apiVersion: typeof V2ALPHA2;
  kind: "Experiment";
  metadata: ObjectMeta;
  spec: ExperimentSpec;
  status?: ExperimentStatus;
}

export type MetricType = "Counter" | "Gauge";
export type AuthType = "Basic" | "Bearer" | "APIKey";

export interface MockLevel {
  name: string;
  level: Quantity;
}

export interface MetricSpec {
  description?: string;
  units?: string;
  provider?: string;
  type?: MetricType;
  /** `namespace/name` after normalisation. */
  sampleSize?: string;
  params?: NamedValue[];
  method?: "GET" | "POST";
  body?: string;
  urlTemplate?: string;
  headerTemplates?: NamedValue[];
  authType?: AuthType;
  secret?: string;
  jqExpression?: string;
  mock?: MockLevel[];
}

export interface Metric {
  apiVersion: typeof V2ALPHA2;
  kind: "Metric";
  metadata: ObjectMeta;
  spec: MetricSpec;
}

/** Which API version an object was written in, kept so `describe` can use the matching layout. */
export type SourceVersion = "v2alpha2" | "v2alpha1";

/**
 * One thing wrong with an object, named by its field: `{path: "spec.duration.intervalSeconds",
 * message: "must be >= 1"}`. Paths are dotted with list indexes (`spec.versionInfo.candidates[0].name`);
 * an empty path means the whole object.
 */
export interface Problem {
  path: string;
  message: string;
}

// ---- Per-iteration history (status.history) ------------------------------------------------------

/** One metric's reading for one version in one iteration (bounds come from the decision evidence). */
export interface IterationValue {
  value?: number;
  sampleSize?: number;
  lower?: number;
  upper?: number;
  /** Why there is no value (backend unreachable, empty result, jq error, ...). */
  error?: string;
}

/** What one iteration saw and decided. */
export interface IterationRecord {
  /** completedIterations after this iteration (1-based). */
  iteration: number;
  /** RFC 3339. */
  time: string;
  /** The weights the engine asked for. */
  weights?: VersionWeight[];
  /** The weights read back from the target. */
  observed?: VersionWeight[];
  /** Metric key (`namespace/name`) -> version -> reading. */
  values: Record<string, Record<string, IterationValue>>;
  /** Version -> one outcome per objective, in `spec.criteria.objectives` order. */
  outcomes?: Record<string, Array<"satisfied" | "violated" | "inconclusive">>;
  winner?: string;
  /** Why the weights changed (or did not). */
  reason?: string;
}

/**
 * An older iteration in compact form: arrays in the order of `ExperimentHistory.versions` and
 * `.metrics`; `null` where a value could not be read; outcomes as one letter per objective
 * (s = satisfied, v = violated, i = inconclusive).
 */
export interface CompactIteration {
  i: number;
  t: string;
  /** Observed weights per version. */
  w?: number[];
  /** Values: [metric][version]. */
  v?: Array<Array<number | null>>;
  /** Outcomes per version, e.g. "ssv". */
  o?: string[];
  winner?: string;
}

/**
 * A recent iteration: the compact form plus everything else the iteration recorded, in the same
 * [metric][version] grids (`null` where there is nothing). Arrays instead of nested objects keep the
 * status small for the API server, which decodes, validates and stores it on every write.
 */
export interface DetailedIteration extends CompactIteration {
  /** Weights asked for, per version, when they differ from the observed `w` (`[]`: none asked). */
  a?: number[];
  /** Sample sizes. */
  n?: Array<Array<number | null>>;
  /** Lower and upper confidence bounds (decision evidence). */
  lo?: Array<Array<number | null>>;
  hi?: Array<Array<number | null>>;
  /** Why there is no value. */
  e?: Array<Array<string | null>>;
  /** Why the weights changed (or did not). */
  r?: string;
}

/**
 * status.history: the latest iterations in detail, a compact (downsampled) series before. Read it
 * through `historyPoints` (src/engine/history.ts), which gives one IterationRecord per iteration.
 *
 * Each entry is stored as one JSON text (a string), which the API server keeps without walking it;
 * objects written by earlier releases (the same forms, unencoded) are still read.
 */
export interface ExperimentHistory {
  versions: string[];
  metrics: string[];
  /** The latest iterations, oldest first (full IterationRecords in objects written by earlier releases). */
  recent: Array<string | DetailedIteration | IterationRecord>;
  /** Earlier iterations, oldest first; every `stride`-th iteration once downsampled. */
  older?: Array<string | CompactIteration>;
  /** 1 (or absent) = every older iteration is kept; 2, 4, ... after downsampling. */
  stride?: number;
}
