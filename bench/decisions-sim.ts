// One simulated experiment through the real Engine: in-memory store, actuator and task runner, a
// virtual clock, the router's MetricsStore fed with simulated request outcomes (instead of real HTTP)
// and the real built-in metrics provider reading it. See bench/README.md ("Decisions").

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadDocuments } from "../src/api/load.ts";
import type { Experiment, Metric } from "../src/api/types.ts";
import { Engine } from "../src/engine/engine.ts";
import type {
  ActionResult,
  Clock,
  ExperimentStore,
  FieldWrite,
  ObjectKey,
  TaskRunner,
  TrafficActuator,
  WeightField,
} from "../src/engine/ports.ts";
import { mulberry32, standardNormal } from "../src/lib/random.ts";
import { BuiltinMetricsProvider, type VersionStatsSnapshot } from "../src/metrics/builtin-provider.ts";
import { MetricsStore } from "../src/router/metrics.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export type Pattern = "canary" | "conformance";
export type Rule = "iter8-v2" | "confidence-0.95";
export type Truth = "good" | "bad" | "limit";

// ------------------------------------------------------------------------------------------------
// Versions' behaviour

export interface Profile {
  errorRate: number;
  /** Draws one latency in ms. */
  latency: (random: () => number) => number;
}

const lognormal = (median: number, sigma: number) => (random: () => number) =>
  median * Math.exp(sigma * standardNormal(random));

/** Mean 20 ms, p95 40 ms: sigma solves exp(1.645 s - s^2 / 2) = 2, median = 20 / exp(s^2 / 2). */
const GOOD_SIGMA = (3.29 - Math.sqrt(3.29 ** 2 - 4 * 2 * Math.LN2)) / 2;
const GOOD_MEDIAN = 20 / Math.exp(GOOD_SIGMA ** 2 / 2);
const good = lognormal(GOOD_MEDIAN, GOOD_SIGMA);

function normalSf(z: number): number {
  // Abramowitz-Stegun 7.1.26 via erfc; accurate to ~1e-7, enough to calibrate a tail.
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) *
    Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/**
 * The good latency with a slow tail: with probability 0.1 a request comes from a lognormal (sigma
 * 0.25) whose median is calibrated so that exactly 5 % of all requests are slower than `p95`: the
 * mixture's 95th percentile is `p95` while its mean stays near 30 ms (below the 50 ms limit).
 */
function slowTail(p95: number): (random: () => number) => number {
  const tailShare = 0.1;
  const sigma = 0.25;
  const above = (median: number) =>
    (1 - tailShare) * normalSf(Math.log(p95 / GOOD_MEDIAN) / GOOD_SIGMA) +
    tailShare * normalSf(Math.log(p95 / median) / sigma);
  let lo = 1;
  let hi = p95 * 10;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (above(mid) < 0.05) lo = mid;
    else hi = mid;
  }
  const tail = lognormal((lo + hi) / 2, sigma);
  return (random) => (random() < tailShare ? tail(random) : good(random));
}

export interface Scenario {
  name: string;
  truth: Truth;
  profile: Profile;
}

export const SCENARIOS: Scenario[] = [
  { name: "good-0.2%", truth: "good", profile: { errorRate: 0.002, latency: good } },
  { name: "good-0.5%", truth: "good", profile: { errorRate: 0.005, latency: good } },
  { name: "bad-1.5%", truth: "bad", profile: { errorRate: 0.015, latency: good } },
  { name: "bad-2%", truth: "bad", profile: { errorRate: 0.02, latency: good } },
  { name: "bad-3%", truth: "bad", profile: { errorRate: 0.03, latency: good } },
  { name: "bad-p95-110ms", truth: "bad", profile: { errorRate: 0.002, latency: slowTail(110) } },
  { name: "bad-p95-130ms", truth: "bad", profile: { errorRate: 0.002, latency: slowTail(130) } },
  // Mean 55 ms, p95 75 ms (sigma 0.2): only the mean objective is violated.
  {
    name: "bad-mean-55ms",
    truth: "bad",
    profile: { errorRate: 0.002, latency: lognormal(55 / Math.exp(0.02), 0.2) },
  },
  { name: "limit-1.0%", truth: "limit", profile: { errorRate: 0.01, latency: good } },
  { name: "limit-p95-100ms", truth: "limit", profile: { errorRate: 0.002, latency: slowTail(100) } },
];

/** The canary's baseline: the good version with 0.2 % errors. */
const BASELINE: Profile = { errorRate: 0.002, latency: good };

// ------------------------------------------------------------------------------------------------
// In-memory ports

class VirtualClock implements Clock {
  ms = Date.parse("2026-01-01T00:00:00Z");
  now(): Date {
    return new Date(this.ms);
  }
  sleep(): Promise<void> {
    // Only action timeouts sleep here, and the bench's experiments have no actions.
    return new Promise(() => {});
  }
}

class Store implements ExperimentStore {
  #exp: Experiment;
  readonly #metrics: Map<string, Metric>;
  #rv = 1;
  constructor(exp: Experiment, metrics: Map<string, Metric>) {
    this.#exp = structuredClone(exp);
    this.#exp.metadata.resourceVersion = "1";
    this.#metrics = metrics;
  }
  get current(): Experiment {
    return this.#exp;
  }
  async get(): Promise<Experiment | undefined> {
    return structuredClone(this.#exp);
  }
  async list(): Promise<Experiment[]> {
    return [structuredClone(this.#exp)];
  }
  async listByTarget(target: string): Promise<Experiment[]> {
    return this.#exp.spec.target === target ? [structuredClone(this.#exp)] : [];
  }
  async updateStatus(e: Experiment): Promise<Experiment> {
    const next = structuredClone(this.#exp);
    if (e.status) next.status = structuredClone(e.status);
    else delete next.status;
    this.#exp = next;
    this.#exp.metadata.resourceVersion = String(++this.#rv);
    return structuredClone(this.#exp);
  }
  async updateSpec(e: Experiment): Promise<Experiment> {
    this.#exp = structuredClone({ ...this.#exp, spec: e.spec });
    this.#exp.metadata.resourceVersion = String(++this.#rv);
    return structuredClone(this.#exp);
  }
  async getMetric(key: ObjectKey): Promise<Metric | undefined> {
    return this.#metrics.get(`${key.namespace}/${key.name}`);
  }
}

class Actuator implements TrafficActuator {
  readonly weights = new Map<string, number>();
  /** Fields come baseline first: until written, the baseline has 100. */
  async readFields(fields: readonly WeightField[]): Promise<unknown[]> {
    return fields.map((f, i) => this.weights.get(f.version) ?? (i === 0 ? 100 : 0));
  }
  async writeFields(writes: readonly FieldWrite[]): Promise<void> {
    for (const w of writes) this.weights.set(w.field.version, w.value);
  }
}

const noTasks: TaskRunner = {
  async run(_action, experiment): Promise<ActionResult> {
    return { ok: true, tasks: [], effects: {}, experiment };
  },
  validate: () => [],
};

/** The router's store; snapshots (which encode the HDR histogram) are cached until new traffic. */
class CachedStats {
  readonly store = new MetricsStore();
  #cache = new Map<string, VersionStatsSnapshot | undefined>();
  record(version: string, status: number, ms: number): void {
    this.store.record(version, status, ms);
    this.#cache.clear();
  }
  snapshot(version: string): VersionStatsSnapshot | undefined {
    if (!this.#cache.has(version)) this.#cache.set(version, this.store.snapshot(version));
    return this.#cache.get(version);
  }
}

// ------------------------------------------------------------------------------------------------
// Experiments

function loadYaml(path: string): Array<Experiment | Metric> {
  return loadDocuments(readFileSync(join(ROOT, path), "utf8"))
    .map((d) => d.resource)
    .filter((r): r is Experiment | Metric => r !== undefined);
}

let metricsCache: Map<string, Metric> | undefined;
function builtinMetrics(): Map<string, Metric> {
  if (!metricsCache) {
    metricsCache = new Map();
    for (const f of ["deploy/metrics/iter8-knative-builtin.yaml", "deploy/metrics/builtin.yaml"]) {
      for (const m of loadYaml(f)) {
        if (m.kind !== "Metric") continue;
        metricsCache.set(`${m.metadata.namespace}/${m.metadata.name}`, m as Metric);
        // Seed 004 (v2alpha1) names the built-in metrics in its own namespace, where its tutorial
        // installs them.
        if (m.metadata.namespace === "iter8-system") {
          metricsCache.set(`default/${m.metadata.name}`, {
            ...m,
            metadata: { ...m.metadata, namespace: "default" },
          } as Metric);
        }
      }
    }
  }
  return metricsCache;
}

/** The strength our rule sets (documented in bench/README.md). */
export const STRENGTH = { confidence: 0.95, maxExtraIterations: 10 };

/**
 * Seed 001 (Canary) or seed 004 (Conformance) as written, with three changes: the actions are
 * removed (no Helm, no Knative; the start task's only effect, the weight fields, is filled in),
 * the canary's error-rate objective has `rollback_on_failure: true` (so rollbacks are measured),
 * and our rule adds `strength`.
 */
export function experimentFor(pattern: Pattern, rule: Rule): Experiment {
  const file =
    pattern === "canary"
      ? "test/fixtures/seeds/001-experiment.yaml"
      : "test/fixtures/seeds/004-experiment.yaml";
  const exp = structuredClone(loadYaml(file).find((r) => r.kind === "Experiment") as Experiment);
  exp.metadata.namespace ??= "default";
  delete exp.spec.strategy.actions;
  const info = exp.spec.versionInfo!;
  [info.baseline, ...(info.candidates ?? [])].forEach((v, i) => {
    if (pattern === "canary") {
      v.weightObjRef = {
        apiVersion: "serving.knative.dev/v1",
        kind: "Service",
        namespace: "default",
        name: "sample-app",
        fieldPath: `.spec.traffic[${i}].percent`,
      };
    }
  });
  const criteria = exp.spec.criteria!;
  if (pattern === "canary") {
    for (const o of criteria.objectives ?? [])
      if (o.metric.endsWith("error-rate")) o.rollback_on_failure = true;
  }
  if (rule === "confidence-0.95") criteria.strength = { ...STRENGTH };
  return exp;
}

// ------------------------------------------------------------------------------------------------
// One trial

export interface TrialResult {
  outcome: "promoted" | "inconclusive" | "rejected" | "rolledBack";
  decisionSeconds: number;
  /** Requests served by the version under test. */
  served: number;
}

function label(exp: Experiment, i: number): string {
  const info = exp.spec.versionInfo!;
  const v = [info.baseline, ...(info.candidates ?? [])][i]!;
  return v.variables?.find((x) => x.name === "revision")?.value ?? v.name;
}

export async function runTrial(
  template: Experiment,
  pattern: Pattern,
  scenario: Scenario,
  rate: number,
  seed: number,
): Promise<TrialResult> {
  const random = mulberry32(seed);
  const clock = new VirtualClock();
  const store = new Store(template, builtinMetrics());
  const stats = new CachedStats();
  const actuator = new Actuator();
  const engine = new Engine({
    store,
    actuator,
    metrics: new BuiltinMetricsProvider(stats),
    tasks: noTasks,
    clock,
    waitingPollMs: 1000,
  });
  const key = { namespace: template.metadata.namespace ?? "default", name: template.metadata.name };
  const labels = pattern === "canary" ? [label(template, 0), label(template, 1)] : [label(template, 0)];
  const profiles = pattern === "canary" ? [BASELINE, scenario.profile] : [scenario.profile];
  const names =
    pattern === "canary"
      ? [template.spec.versionInfo!.baseline.name, template.spec.versionInfo!.candidates![0]!.name]
      : [template.spec.versionInfo!.baseline.name];
  let carry = 0;
  for (let step = 0; step < 10_000; step++) {
    const r = await engine.reconcile(key);
    if (r.done) break;
    if (r.pending) {
      await r.pending;
      continue;
    }
    const delay = r.requeueAfterMs ?? 1000;
    if (delay <= 0) continue;
    // Traffic during the wait, split by the weights on the target (conformance: all to the baseline).
    const weights = names.map((n, i) => actuator.weights.get(n) ?? (i === 0 ? 100 : 0));
    const total = weights.reduce((a, b) => a + b, 0) || 100;
    const exact = (rate * delay) / 1000 + carry;
    const requests = Math.floor(exact);
    carry = exact - requests;
    for (let q = 0; q < requests; q++) {
      let u = random() * total;
      let v = 0;
      while (v < weights.length - 1 && u >= weights[v]!) u -= weights[v++]!;
      const p = profiles[v]!;
      const status = random() < p.errorRate ? 500 : 200;
      stats.record(labels[v]!, status, Math.max(0.05, p.latency(random)));
    }
    clock.ms += delay;
  }
  return classify(store.current, pattern, stats, labels[labels.length - 1]!);
}

function classify(exp: Experiment, pattern: Pattern, stats: CachedStats, tested: string): TrialResult {
  const st = exp.status ?? {};
  const started = Date.parse(st.startTime ?? "");
  // The decision is when the experiment completed: a rollback completes in the iteration that saw
  // the violation, which does not update lastUpdateTime.
  const completed = st.conditions?.find((c) => c.type === "Completed" && c.status === "True");
  const ended = Date.parse(completed?.lastTransitionTime ?? st.lastUpdateTime ?? "");
  const served = stats.store.snapshot(tested)?.count ?? 0;
  const decisionSeconds = Math.max(0, (ended - started) / 1000);
  const result = (outcome: TrialResult["outcome"]): TrialResult => ({ outcome, decisionSeconds, served });
  if ((st.message ?? "").includes("rolled back")) return result("rolledBack");
  const testedName =
    pattern === "canary" ? exp.spec.versionInfo!.candidates![0]!.name : exp.spec.versionInfo!.baseline.name;
  const evidence = st.analysis?.evidence?.data?.[testedName] ?? [];
  const promoted =
    pattern === "canary"
      ? st.versionRecommendedForPromotion === testedName
      : exp.spec.criteria?.strength !== undefined
        ? evidence.length > 0 && evidence.every((e) => e.outcome === "satisfied")
        : (st.analysis?.versionAssessments?.data?.[testedName] ?? []).every((x) => x);
  if (promoted) return result("promoted");
  // Iter8 v2's rule knows no "inconclusive": not promoted is rejected.
  if (exp.spec.criteria?.strength === undefined) return result("rejected");
  return result(evidence.some((e) => e.outcome === "violated") ? "rejected" : "inconclusive");
}
