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
  strength?: unknown;
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

export interface Analysis {
  aggregatedBuiltinHists?: AnalysisPiece<unknown>;
  aggregatedMetrics?: AnalysisPiece<AggregatedMetricsData>;
  versionAssessments?: AnalysisPiece<VersionAssessmentsData>;
  winnerAssessment?: AnalysisPiece<WinnerAssessmentData>;
  weights?: AnalysisPiece<VersionWeight[]>;
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
