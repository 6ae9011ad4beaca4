// Evidence for every objective and version: the point value, the limit, the sample size and, where
// the metric's statistical shape is known, one-sided confidence bounds and a three-way outcome
// (satisfied, violated, inconclusive). `fixed` bounds are valid for one look (shown without
// `strength`); `sequential` bounds are confidence sequences, valid however often the engine looks.

import type {
  AggregatedMetricsData,
  EvidenceData,
  Experiment,
  Metric,
  MetricShape,
  Objective,
  ObjectiveEvidence,
} from "../api/types.ts";
import { percentileOf } from "../metrics/builtin-provider.ts";
import { readQuantity } from "./numbers.ts";
import {
  MIN_MEAN_SAMPLES,
  meanInterval,
  meanSequence,
  type ProportionMethod,
  proportionBounds,
  showsAbove,
  showsBelow,
} from "./stats/index.ts";
import type { SampleDetails, SampleDistribution } from "./stats/sample.ts";
import { findAggregatedMetric, versionNames } from "./versions.ts";

/** Annotation a user's Metric sets to declare its shape: `ratio`, `percentile`, `mean` or `none`. */
export const SHAPE_ANNOTATION = "iter8.tools/shape";
/** For `percentile`: which percentile the metric is (e.g. "95"), when its name does not say. */
export const PERCENTILE_ANNOTATION = "iter8.tools/percentile";

const SHAPES: readonly MetricShape[] = ["ratio", "percentile", "mean", "none"];

export interface ShapeOf {
  shape: MetricShape;
  /** For a percentile: the percentile, 0-100. */
  percentile?: number;
}

/**
 * A metric's shape: its annotation if it has one; else, for the built-in metrics (`provider: iter8`),
 * what the name says (error-rate is a ratio, mean-latency a mean, latency-95th-percentile a percentile).
 */
export function metricShape(metric: Metric | undefined): ShapeOf {
  if (!metric) return { shape: "none" };
  const name = metric.metadata.name;
  const declared = metric.metadata.annotations?.[SHAPE_ANNOTATION]?.trim();
  const p = Number(metric.metadata.annotations?.[PERCENTILE_ANNOTATION] ?? percentileOf(name));
  const percentile = Number.isFinite(p) && p > 0 && p < 100 ? p : undefined;
  if (declared !== undefined && (SHAPES as readonly string[]).includes(declared)) {
    const shape = declared as MetricShape;
    if (shape === "percentile") return percentile === undefined ? { shape: "none" } : { shape, percentile };
    return { shape };
  }
  if (metric.spec.provider !== "iter8") return { shape: "none" };
  if (name === "error-rate") return { shape: "ratio" };
  if (name === "mean-latency") return { shape: "mean" };
  if (percentile !== undefined) return { shape: "percentile", percentile };
  return { shape: "none" };
}

export interface EvidenceOptions {
  confidence: number;
  method: ProportionMethod;
  /** Observations a version needs before it is judged (strength.minSamples). */
  minSamples?: number;
}

export interface EvidenceResult {
  data: EvidenceData;
  /** Per version and objective: further observations that would likely decide it (undefined: unknown). */
  needed: Record<string, Array<number | undefined>>;
}

const METHOD_NAMES: Record<MetricShape, Record<ProportionMethod, string>> = {
  ratio: { fixed: "Clopper-Pearson", sequential: "beta-binomial mixture confidence sequence" },
  percentile: {
    fixed: "order statistic (Clopper-Pearson)",
    sequential: "order statistic (mixture confidence sequence)",
  },
  mean: { fixed: "normal interval", sequential: "asymptotic confidence sequence" },
  none: { fixed: "point", sequential: "point" },
};

export function computeEvidence(
  exp: Experiment,
  metrics: AggregatedMetricsData,
  details: SampleDetails,
  opts: EvidenceOptions,
): EvidenceResult {
  const objectives = exp.spec.criteria?.objectives ?? [];
  const versions = versionNames(exp);
  const data: EvidenceData = {};
  const needed: EvidenceResult["needed"] = {};
  const metricObjs = new Map((exp.status?.metrics ?? []).map((m) => [m.name, m.metricObj]));
  for (const v of versions) {
    data[v] = [];
    needed[v] = [];
    objectives.forEach((objective, i) => {
      const shape = metricShape(metricObjs.get(objective.metric));
      const cell = findAggregatedMetric(metrics, objective.metric, exp.metadata.namespace)?.data?.[v];
      const value = readQuantity(cell?.value);
      const n = readQuantity(cell?.sampleSize);
      const judged = judge(
        objective,
        i,
        shape,
        value.ok ? value.value : undefined,
        n.ok ? n.value : undefined,
        details[objective.metric]?.[v],
        opts,
      );
      data[v]!.push(judged.evidence);
      needed[v]!.push(judged.needed);
    });
  }
  return { data, needed };
}

interface Judged {
  evidence: ObjectiveEvidence;
  needed?: number;
}

function judge(
  objective: Objective,
  index: number,
  shapeOf: ShapeOf,
  value: number | undefined,
  sampleSize: number | undefined,
  dist: SampleDistribution | undefined,
  opts: EvidenceOptions,
): Judged {
  const upper = readQuantity(objective.upperLimit);
  const lower = readQuantity(objective.lowerLimit);
  const direction: "upper" | "lower" = upper.ok ? "upper" : "lower";
  const limit = upper.ok ? upper.value : lower.ok ? lower.value : Number.NaN;
  const base: ObjectiveEvidence = {
    objective: index,
    metric: objective.metric,
    limit,
    direction,
    shape: shapeOf.shape,
    outcome: "inconclusive",
  };
  if (value !== undefined) base.value = value;
  const n = dist?.n ?? sampleSize;
  if (n !== undefined) base.sampleSize = n;
  if (!Number.isFinite(limit)) return { evidence: { ...base, outcome: "satisfied", reason: "no limit" } };
  if (value === undefined) return { evidence: { ...base, reason: "no value yet" } };
  const point = (why: string): Judged => {
    const ok = !(upper.ok && value > upper.value) && !(lower.ok && value < lower.value);
    return { evidence: { ...base, outcome: ok ? "satisfied" : "violated", reason: `no interval: ${why}` } };
  };
  if (shapeOf.shape === "none") return point("the metric has no known statistical shape");
  if (n === undefined) return point("the sample size is unknown");
  if (opts.minSamples !== undefined && n < opts.minSamples) {
    return {
      evidence: {
        ...base,
        reason: `${count(n)} of the ${count(opts.minSamples)} observations required so far`,
      },
      needed: opts.minSamples - n,
    };
  }
  const ev = { ...base, confidence: opts.confidence, method: METHOD_NAMES[shapeOf.shape][opts.method] };
  const j: Judging = { ev, value, n, dist, direction, limit, opts, point };
  switch (shapeOf.shape) {
    case "ratio":
      return judgeRatio(j);
    case "mean":
      return judgeMean(j);
    case "percentile":
      return judgePercentile(j, shapeOf.percentile!);
  }
}

/** What every shape's judgement starts from: a value and a sample size known, the limit set. */
interface Judging {
  /** The evidence so far, with confidence and method. */
  ev: ObjectiveEvidence;
  value: number;
  n: number;
  dist: SampleDistribution | undefined;
  direction: "upper" | "lower";
  limit: number;
  opts: EvidenceOptions;
  /** The point judgement, for when no interval can be had. */
  point: (why: string) => Judged;
}

function judgeRatio({ ev, value, n, dist, direction, limit, opts }: Judging): Judged {
  const trials = Math.round(n);
  const k = Math.min(trials, Math.max(0, Math.round(dist?.events ?? value * n)));
  const b = proportionBounds(k, trials, opts.confidence, opts.method);
  const good = direction === "upper" ? showsBelow : showsAbove;
  const bad = direction === "upper" ? showsAbove : showsBelow;
  const e = { ...ev, lower: b.lower, upper: b.upper };
  const [unit, event] = ev.metric.endsWith("error-rate") ? ["request", "error"] : ["observation", "event"];
  const tally = `${count(trials)} ${plural(trials, unit)}, ${count(k)} ${plural(k, event)}`;
  if (good(k, trials, limit, opts.confidence, opts.method))
    return { evidence: { ...e, outcome: "satisfied" } };
  if (bad(k, trials, limit, opts.confidence, opts.method)) return { evidence: { ...e, outcome: "violated" } };
  if (direction === "lower") return { evidence: { ...e, reason: `${tally}: cannot tell yet` } };
  const need = requestsToPass(limit, opts);
  const atMost = eventsAllowedIn(1000, limit, opts);
  const more = moreToDecide(k, trials, limit, opts);
  const name = ev.metric.slice(ev.metric.indexOf("/") + 1);
  const at = `${formatNumber(opts.confidence * 100)} %`;
  const parts = [
    `${tally}; \`${name} <= ${formatNumber(limit)}\` at ${at} needs no ${event} in >= ${count(need)}`,
  ];
  if (atMost !== undefined) parts.push(`or at most ${count(atMost)} in 1,000`);
  return {
    evidence: { ...e, reason: `${parts.join(" ")}` },
    ...(more === undefined ? {} : { needed: more }),
  };
}

function judgeMean({ ev, value, n, dist, direction, limit, opts, point }: Judging): Judged {
  const sd = dist?.sd;
  if (sd === undefined || !Number.isFinite(sd)) return point("the backend gives no standard deviation");
  const mean = dist?.mean ?? value;
  if (n < MIN_MEAN_SAMPLES) {
    return {
      evidence: { ...ev, reason: `${count(n)} observations; a mean is judged from ${MIN_MEAN_SAMPLES} on` },
      needed: MIN_MEAN_SAMPLES - n,
    };
  }
  const b = (opts.method === "fixed" ? meanInterval : meanSequence)(mean, sd, n, opts.confidence);
  const e = { ...ev, lower: b.lower, upper: b.upper };
  const satisfied = direction === "upper" ? b.upper < limit : b.lower > limit;
  const violated = direction === "upper" ? b.lower > limit : b.upper < limit;
  if (satisfied) return { evidence: { ...e, outcome: "satisfied" } };
  if (violated) return { evidence: { ...e, outcome: "violated" } };
  return { evidence: { ...e, reason: `${count(n)} observations, sd ${formatNumber(sd)}: cannot tell yet` } };
}

function judgePercentile(
  { ev, n, dist, direction, limit, opts, point }: Judging,
  percentile: number,
): Judged {
  if (!dist?.countAbove) return point("the backend gives no latency distribution");
  if (direction === "lower") return point("only upper limits of a percentile are bounded");
  // p-th percentile <= L exactly when at most a share (1 - p) of observations is above L: a
  // binomial question about the count above L, whatever the distribution (order statistics).
  const share = 1 - percentile / 100;
  const trials = Math.round(n);
  const k = Math.min(trials, dist.countAbove(limit));
  const e = { ...ev, ...quantileBounds(dist, trials, share, opts) };
  const tally = `${count(k)} of ${count(trials)} above ${formatNumber(limit)}`;
  if (showsBelow(k, trials, share, opts.confidence, opts.method)) {
    return { evidence: { ...e, outcome: "satisfied", reason: tally } };
  }
  if (showsAbove(k, trials, share, opts.confidence, opts.method)) {
    return { evidence: { ...e, outcome: "violated", reason: tally } };
  }
  const more = moreToDecide(k, trials, share, opts);
  return {
    evidence: { ...e, reason: `${tally} (at most ${formatNumber(share * 100)} % may be): cannot tell yet` },
    ...(more === undefined ? {} : { needed: more }),
  };
}

/**
 * Order-statistic bounds on the percentile itself: the upper bound is the smallest order statistic
 * X(j) for which the data show that more than a share (1 - share) of observations are <= X(j); the
 * lower bound likewise from below. Binary search over j; the quantile function reads X(j).
 */
export function quantileBounds(
  dist: SampleDistribution,
  n: number,
  share: number,
  opts: EvidenceOptions,
): { lower?: number; upper?: number } {
  if (!dist.quantile || n === 0) return {};
  const out: { lower?: number; upper?: number } = {};
  // Above X(j) lie n - j observations: the upper bound needs "share above X(j) < share" shown.
  let lo = 1;
  let hi = n;
  if (showsBelow(0, n, share, opts.confidence, opts.method)) {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (showsBelow(n - mid, n, share, opts.confidence, opts.method)) hi = mid;
      else lo = mid + 1;
    }
    out.upper = dist.quantile(lo / n);
  }
  // Below X(j) lie j - 1 observations: the lower bound needs "share >= X(j) > share" shown, i.e.
  // more than a share (1 - share) at or above it. The largest such j.
  const showsAtOrAbove = (j: number) => showsAbove(n - j + 1, n, share, opts.confidence, opts.method);
  if (showsAtOrAbove(1)) {
    lo = 1;
    hi = n;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (showsAtOrAbove(mid)) lo = mid;
      else hi = mid - 1;
    }
    out.lower = dist.quantile(lo / n);
  }
  return out;
}

const MAX_SEARCH = 10_000_000;

/** Event-free observations that pass `rate <= limit` at the confidence. */
export function requestsToPass(limit: number, opts: EvidenceOptions): number {
  let hi = 1;
  while (hi < MAX_SEARCH && !showsBelow(0, hi, limit, opts.confidence, opts.method)) hi *= 2;
  let lo = Math.max(1, hi >>> 1);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (showsBelow(0, mid, limit, opts.confidence, opts.method)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The most events among n that still pass `rate <= limit`; undefined when none pass. */
function eventsAllowedIn(n: number, limit: number, opts: EvidenceOptions): number | undefined {
  let k = -1;
  while (k + 1 <= n && showsBelow(k + 1, n, limit, opts.confidence, opts.method)) k++;
  return k < 0 ? undefined : k;
}

/**
 * Further observations after which, if events keep coming at the observed rate, the data would
 * decide (pass below the limit, or show it exceeded); undefined when that rate sits on the limit.
 */
function moreToDecide(k: number, n: number, limit: number, opts: EvidenceOptions): number | undefined {
  const rate = n > 0 ? k / n : 0;
  if (Math.abs(rate - limit) < 1e-12) return undefined;
  const decided = (m: number) => {
    const events = Math.round(rate * m);
    return rate < limit
      ? showsBelow(events, m, limit, opts.confidence, opts.method)
      : showsAbove(events, m, limit, opts.confidence, opts.method);
  };
  let hi = Math.max(n, 1);
  while (hi < MAX_SEARCH && !decided(hi)) hi *= 2;
  if (hi >= MAX_SEARCH) return undefined;
  let lo = Math.max(n, hi >>> 1);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (decided(mid)) hi = mid;
    else lo = mid + 1;
  }
  return Math.max(0, lo - n);
}

export function count(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function plural(n: number, word: string): string {
  return Math.round(n) === 1 ? word : `${word}s`;
}

/** Up to 4 significant digits, no exponent for everyday magnitudes. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  return String(Number(x.toPrecision(4)));
}
