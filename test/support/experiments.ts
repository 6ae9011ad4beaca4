// Experiment and Metric objects for tests: one valid object by default, changed only where a test
// says so, so that a test shows just the fields it is about.
//
// What the builders promise:
// - an option left out, or given as undefined, leaves its field out: nothing is ever present as
//   undefined (the tsconfig has exactOptionalPropertyTypes on, and assert.deepStrictEqual and
//   `"key" in obj` both tell an absent field from an undefined one);
// - nothing is added beyond the defaults documented on each option;
// - every call returns new objects for the defaults, so a test may mutate what it gets; objects
//   passed in are used as they are, not copied, as a hand-written literal would hold them.

import {
  type AnalysisPiece,
  type Criteria,
  type DeploymentPattern,
  type Duration,
  type Experiment,
  type ExperimentSpec,
  type ExperimentStatus,
  type Metric,
  type MetricInfo,
  type MetricSpec,
  type Objective,
  type ObjectMeta,
  type Reward,
  type Strategy,
  type TaskSpec,
  type TestingPattern,
  V2ALPHA2,
  type VersionDetail,
  type VersionInfo,
  type VersionWeight,
  type WeightObjRef,
  type Weights,
  type WinnerAssessmentData,
} from "../../src/api/types.ts";

/** `T` with `undefined` allowed wherever a value is: what the builders accept. */
type Loose<T> = { [K in keyof T]: T[K] | undefined };

/** `o` without the entries whose value is undefined (shallow), in the same key order. */
function present<T extends object>(o: Loose<T>): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Metadata beyond name and namespace: uid, resourceVersion, labels, annotations, ... */
export type ExtraMeta = Omit<ObjectMeta, "name" | "namespace">;

export interface ExperimentOverrides {
  /** metadata.name; default "e". */
  name?: string | undefined;
  /** metadata.namespace; default "default". */
  namespace?: string | undefined;
  metadata?: ExtraMeta | undefined;
  /** spec.target; default `<namespace>/app`. */
  target?: string | undefined;
  /** Default "Canary". */
  testingPattern?: TestingPattern | undefined;
  /** Left out by default, which iter8 reads as Progressive. */
  deploymentPattern?: DeploymentPattern | undefined;
  /** spec.strategy.actions: `start`, `loop`, `finish`. */
  actions?: Record<string, TaskSpec[]> | undefined;
  /** spec.strategy.weights. */
  weights?: Weights | undefined;
  /**
   * The baseline first, then the candidates: names, or VersionDetails (see `version`). Default
   * `["current", "candidate"]`. One version gives a versionInfo without a candidates list; none
   * gives no versionInfo at all.
   */
  versions?: readonly (string | VersionDetail)[] | undefined;
  /** A weightObjRef for each version without one, by position (0 is the baseline): see `*Ref` below. */
  weightObjRefs?: ((index: number) => WeightObjRef) | undefined;
  /** spec.versionInfo exactly as given, instead of `versions`. */
  versionInfo?: VersionInfo | undefined;
  criteria?: Criteria | undefined;
  duration?: Duration | undefined;
  status?: ExperimentStatus | undefined;
}

function versionInfoOf(
  versions: readonly (string | VersionDetail)[],
  refs: ((index: number) => WeightObjRef) | undefined,
): VersionInfo | undefined {
  const details = versions.map((v, i): VersionDetail => {
    const d = typeof v === "string" ? { name: v } : v;
    return refs && d.weightObjRef === undefined ? { ...d, weightObjRef: refs(i) } : d;
  });
  const [baseline, ...candidates] = details;
  if (baseline === undefined) return undefined;
  return candidates.length === 0 ? { baseline } : { baseline, candidates };
}

/**
 * An iter8.tools/v2alpha2 Experiment: by default `default/e`, Canary (Progressive by default) on
 * `default/app`, with a baseline `current` and a candidate `candidate`, no criteria, duration or
 * status. See ExperimentOverrides for what each option sets.
 */
export function experimentFixture(o: ExperimentOverrides = {}): Experiment {
  const namespace = o.namespace ?? "default";
  const versionInfo = o.versionInfo ?? versionInfoOf(o.versions ?? ["current", "candidate"], o.weightObjRefs);
  return present<Experiment>({
    apiVersion: V2ALPHA2,
    kind: "Experiment",
    metadata: present<ObjectMeta>({ name: o.name ?? "e", namespace, ...o.metadata }),
    spec: present<ExperimentSpec>({
      target: o.target ?? `${namespace}/app`,
      versionInfo,
      strategy: present<Strategy>({
        testingPattern: o.testingPattern ?? "Canary",
        deploymentPattern: o.deploymentPattern,
        actions: o.actions,
        weights: o.weights,
      }),
      criteria: o.criteria,
      duration: o.duration,
    }),
    status: o.status,
  });
}

/** A Conformance experiment: one version, `current` unless `versions` says otherwise. */
export function conformanceFixture(o: ExperimentOverrides = {}): Experiment {
  return experimentFixture({ ...o, testingPattern: "Conformance", versions: o.versions ?? ["current"] });
}

const rewardOf = (r: string | Reward): Reward =>
  typeof r === "string" ? { metric: r, preferredDirection: "High" } : r;

/**
 * An A/B experiment with its one reward (a metric key means higher is better), added to any other
 * `criteria`; versions `current` and `candidate` unless `versions` says otherwise.
 */
export function abFixture(reward: string | Reward, o: ExperimentOverrides = {}): Experiment {
  return experimentFixture({
    ...o,
    testingPattern: "A/B",
    criteria: { ...o.criteria, rewards: [rewardOf(reward)] },
  });
}

/** An A/B/N experiment, like `abFixture`; versions `current`, `candidate-1` and `candidate-2` by default. */
export function abnFixture(reward: string | Reward, o: ExperimentOverrides = {}): Experiment {
  return experimentFixture({
    ...o,
    testingPattern: "A/B/N",
    criteria: { ...o.criteria, rewards: [rewardOf(reward)] },
    versions: o.versions ?? ["current", "candidate-1", "candidate-2"],
  });
}

// ---- Versions and where their weights live ---------------------------------------------------------

/**
 * A version: `variables` (in key order) only when given, even empty; `weightObjRef` only when given.
 */
export function version(
  name: string,
  variables?: Record<string, string>,
  weightObjRef?: WeightObjRef,
): VersionDetail {
  return present<VersionDetail>({
    name,
    variables:
      variables === undefined
        ? undefined
        : Object.entries(variables).map(([n, value]) => ({ name: n, value })),
    weightObjRef,
  });
}

/** The `index`th traffic entry of a Knative Service (`.spec.traffic[i].percent`). */
export function knativeTrafficRef(service: string, index: number, namespace?: string): WeightObjRef {
  return present<WeightObjRef>({
    apiVersion: "serving.knative.dev/v1",
    kind: "Service",
    namespace,
    name: service,
    fieldPath: `.spec.traffic[${index}].percent`,
  });
}

/** The `index`th route of an Istio VirtualService's first http rule. */
export function virtualServiceRef(name: string, index: number, namespace?: string): WeightObjRef {
  return present<WeightObjRef>({
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "VirtualService",
    name,
    namespace,
    fieldPath: `.spec.http[0].route[${index}].weight`,
  });
}

/** The `index`th backendRef of a Gateway API HTTPRoute's first rule. */
export function httpRouteRef(name: string, index: number, namespace?: string): WeightObjRef {
  return present<WeightObjRef>({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    name,
    namespace,
    fieldPath: `.spec.rules[0].backendRefs[${index}].weight`,
  });
}

// ---- Criteria ----------------------------------------------------------------------------------------

export const MEAN_LATENCY = "iter8-knative/mean-latency";
export const ERROR_RATE = "iter8-knative/error-rate";

/** The seeds' objectives: mean latency at most 50 ms, error rate at most 1 % (a new list each call). */
export function knativeObjectives(): Objective[] {
  return [
    { metric: MEAN_LATENCY, upperLimit: 50 },
    { metric: ERROR_RATE, upperLimit: "0.01" },
  ];
}

// ---- Status ------------------------------------------------------------------------------------------

/** `{v1: 80, v2: 20}` as a weight list, in key order. */
export function versionWeights(weights: Record<string, number>): VersionWeight[] {
  return Object.entries(weights).map(([name, value]) => ({ name, value }));
}

export interface PieceMeta {
  /** Default "test". */
  provenance?: string | undefined;
  /** Default "2026-01-01T00:00:00Z". */
  timestamp?: string | undefined;
  message?: string | undefined;
}

/** One piece of status.analysis. */
export function analysisPiece<T>(data: T, meta: PieceMeta = {}): AnalysisPiece<T> {
  return present<AnalysisPiece<T>>({
    provenance: meta.provenance ?? "test",
    timestamp: meta.timestamp ?? "2026-01-01T00:00:00Z",
    message: meta.message,
    data,
  });
}

/** status.analysis.winnerAssessment: `winner` found, or no winner when undefined. */
export function winnerAssessment(
  winner: string | undefined,
  meta: PieceMeta = {},
): AnalysisPiece<WinnerAssessmentData> {
  return analysisPiece(winner === undefined ? { winnerFound: false } : { winnerFound: true, winner }, meta);
}

// ---- Metrics -----------------------------------------------------------------------------------------

/**
 * An iter8.tools/v2alpha2 Metric. `key` is `namespace/name`, or a bare name for a Metric without
 * a namespace; `spec` is used as given (default empty).
 */
export function metricFixture(key: string, spec: MetricSpec = {}, metadata: ExtraMeta = {}): Metric {
  const slash = key.indexOf("/");
  const name = slash < 0 ? key : key.slice(slash + 1);
  const namespace = slash < 0 ? undefined : key.slice(0, slash);
  return {
    apiVersion: V2ALPHA2,
    kind: "Metric",
    metadata: present<ObjectMeta>({ name, namespace, ...metadata }),
    spec,
  };
}

/** `namespace/name` of a Metric (its bare name when it has no namespace). */
export function metricKey(m: Metric): string {
  return m.metadata.namespace === undefined ? m.metadata.name : `${m.metadata.namespace}/${m.metadata.name}`;
}

/** A status.metrics entry: the Metric under its key, or under `name` when given. */
export function metricInfo(metric: Metric, name: string = metricKey(metric)): MetricInfo {
  return { name, metricObj: metric };
}
