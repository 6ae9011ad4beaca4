// The built-in metrics (`provider: iter8`) computed from the Fortio-shaped histograms
// that `metrics/collect` accumulates in `status.analysis.aggregatedBuiltinHists.data`,
// keyed by version name. This is how built-in metrics work on Kubernetes, and locally whenever an
// experiment loads its versions with `metrics/collect` instead of sending traffic through the router.
// `CompositeBuiltinProvider` puts both sources behind the `builtin` slot of `HttpMetricsProvider`.
//
// Percentiles deliberately differ from the original analytics, which drew `10 × Count` uniform
// random samples per bucket (numpy seed 17) and took `numpy.percentile` of them: here each bucket's
// count is taken as spread uniformly over [Start, End] and the percentile is the exact quantile of
// that distribution, found by linear interpolation within the bucket holding the rank (as Fortio
// computes its own percentiles). Same model, no sampling noise, same answer on every call.

import type { SampleDistribution } from "../analytics/stats/sample.ts";
import type { Experiment } from "../api/types.ts";
import type { MetricQuery, MetricReading, MetricsProvider } from "../engine/ports.ts";
import { isRecord } from "../lib/objects.ts";
import { BUILTIN_METRICS, percentileOf, withDistribution } from "./builtin-provider.ts";

const DATA_PATH = "status.analysis.aggregatedBuiltinHists.data";

/** One latency bucket in seconds (Fortio's `DurationHistogram.Data[i]`). */
export interface LatencyBucket {
  start: number;
  end: number;
  count: number;
}

/** A version's collected histogram after validation. */
export interface CollectedHistogram {
  /** Requests, connection errors included (`DurationHistogram.Count`). */
  count: number;
  /** Total latency in seconds (`DurationHistogram.Sum`). */
  sum: number;
  buckets: LatencyBucket[];
  /** Responses per status code; `-1` is Fortio's "no response" (connection error). */
  retCodes: Map<number, number>;
}

class MalformedHistogram extends Error {}

function nonNegative(v: unknown, field: string, integer: boolean): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
    throw new MalformedHistogram(
      `${field} must be a non-negative ${integer ? "integer" : "number"}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/** The collected data map, or undefined when `metrics/collect` has not recorded anything yet. */
function collectedData(experiment: Experiment): Record<string, unknown> | undefined {
  const hists = experiment.status?.analysis?.aggregatedBuiltinHists;
  if (hists === undefined || hists === null) return undefined;
  if (!isRecord(hists.data)) {
    throw new MalformedHistogram(`${DATA_PATH} must be a map of version name to histogram`);
  }
  return hists.data;
}

/** Whether the experiment's status holds a collected histogram (well-formed or not) for the version. */
export function hasCollectedHistogram(experiment: Experiment, versionName: string): boolean {
  const hists = experiment.status?.analysis?.aggregatedBuiltinHists;
  return isRecord(hists?.data) && Object.hasOwn(hists.data, versionName);
}

/**
 * Validates one version's entry (`{DurationHistogram: {Count, Sum, Data: [{Start, End, Count}]},
 * RetCodes}`); throws with the offending field's path.
 */
export function parseCollectedHistogram(raw: unknown, path: string): CollectedHistogram {
  if (!isRecord(raw)) throw new MalformedHistogram(`${path} must be an object`);
  const dh = raw["DurationHistogram"];
  const hPath = `${path}.DurationHistogram`;
  if (!isRecord(dh)) throw new MalformedHistogram(`${hPath} must be an object`);
  const count = nonNegative(dh["Count"], `${hPath}.Count`, true);
  const sum = nonNegative(dh["Sum"], `${hPath}.Sum`, false);
  const data = dh["Data"] ?? [];
  if (!Array.isArray(data)) throw new MalformedHistogram(`${hPath}.Data must be a list of buckets`);
  let inBuckets = 0;
  const buckets = data.map((b: unknown, i): LatencyBucket => {
    const bPath = `${hPath}.Data[${i}]`;
    if (!isRecord(b)) throw new MalformedHistogram(`${bPath} must be an object`);
    const start = nonNegative(b["Start"], `${bPath}.Start`, false);
    const end = nonNegative(b["End"], `${bPath}.End`, false);
    if (end < start) throw new MalformedHistogram(`${bPath}.End (${end}) is below its Start (${start})`);
    const n = nonNegative(b["Count"], `${bPath}.Count`, true);
    inBuckets += n;
    return { start, end, count: n };
  });
  // Percentiles rank against Count, so the buckets must hold exactly Count observations.
  if (inBuckets !== count) {
    throw new MalformedHistogram(`${hPath}.Data bucket counts add up to ${inBuckets}, but Count is ${count}`);
  }
  const rc = raw["RetCodes"] ?? {};
  if (!isRecord(rc)) throw new MalformedHistogram(`${path}.RetCodes must be a map of status code to count`);
  const retCodes = new Map<number, number>();
  for (const [code, n] of Object.entries(rc)) {
    if (!/^-?\d+$/.test(code)) {
      throw new MalformedHistogram(`${path}.RetCodes key ${JSON.stringify(code)} is not a status code`);
    }
    retCodes.set(Number(code), nonNegative(n, `${path}.RetCodes["${code}"]`, true));
  }
  return { count, sum, buckets, retCodes };
}

/** Responses with a status code ≥ 400; Fortio's `-1` (no response at all) is not counted, as in Iter8 v2. */
export function errorCountOf(h: CollectedHistogram): number {
  let errors = 0;
  for (const [code, n] of h.retCodes) if (code >= 400) errors += n;
  return errors;
}

/**
 * The `p`-th percentile (0 < p ≤ 100), in the buckets' unit, of the distribution that spreads each
 * bucket's count uniformly over [start, end] (a zero-width bucket is a point mass).
 *
 * Buckets may overlap: `metrics/collect` concatenates the buckets of repeated runs. So the range is
 * cut at every bucket boundary into elementary intervals; each bucket adds its count to the intervals
 * it covers in proportion to their length (a bucket that is one elementary interval adds its whole
 * count, so non-overlapping data is ranked with exact integer sums). Then the rank `p/100 × total`
 * is found by walking the intervals in order and interpolating linearly within the one that holds it.
 * Undefined when there are no observations.
 */
export function histogramPercentile(buckets: readonly LatencyBucket[], p: number): number | undefined {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const used = buckets.filter((b) => b.count > 0);
  if (used.length === 0) return undefined;
  const bounds = [...new Set(used.flatMap((b) => [b.start, b.end]))].sort((a, b) => a - b);
  const index = new Map(bounds.map((x, i) => [x, i]));
  const m = bounds.length;
  const intervalMass = new Array<number>(m).fill(0); // [bounds[i], bounds[i+1]]
  const pointMass = new Array<number>(m).fill(0); // at bounds[i]
  // Buckets spanning several intervals: a density sweep (difference arrays), O(n log n) in all.
  const densityDelta = new Array<number>(m).fill(0);
  const activeDelta = new Array<number>(m).fill(0);
  let total = 0;
  for (const b of used) {
    total += b.count;
    const i = index.get(b.start) as number;
    const j = index.get(b.end) as number;
    if (i === j) pointMass[i]! += b.count;
    else if (j === i + 1) intervalMass[i]! += b.count;
    else {
      const density = b.count / (b.end - b.start);
      densityDelta[i]! += density;
      densityDelta[j]! -= density;
      activeDelta[i]!++;
      activeDelta[j]!--;
    }
  }
  let density = 0;
  let active = 0;
  for (let i = 0; i + 1 < m; i++) {
    density += densityDelta[i]!;
    active += activeDelta[i]!;
    // With no spanning bucket active the density is exactly 0 (no float residue leaking into gaps).
    if (active === 0) density = 0;
    else intervalMass[i]! += density * (bounds[i + 1]! - bounds[i]!);
  }

  const target = (p / 100) * total;
  // Split masses are fractions; tolerate their rounding so a rank on a boundary stays on it.
  const reached = (cumulative: number) => cumulative >= target * (1 - 1e-12);
  let cumulative = 0;
  let last = bounds[0]!;
  for (let i = 0; i < m; i++) {
    if (i > 0 && intervalMass[i - 1]! > 0) {
      const mass = intervalMass[i - 1]!;
      const lo = bounds[i - 1]!;
      const hi = bounds[i]!;
      if (reached(cumulative + mass)) {
        const fraction = Math.min(1, Math.max(0, (target - cumulative) / mass));
        return lo + fraction * (hi - lo);
      }
      cumulative += mass;
      last = hi;
    }
    if (pointMass[i]! > 0) {
      cumulative += pointMass[i]!;
      last = bounds[i]!;
      if (reached(cumulative)) return bounds[i];
    }
  }
  return last; // p = 100 with split masses summing a hair below the total
}

/**
 * Standard deviation in ms, each bucket's count spread uniformly over [start, end] as for the
 * percentiles: E[x^2] within a bucket is (start^2 + start end + end^2) / 3.
 */
function bucketSd(h: CollectedHistogram, meanMs: number): number {
  let n = 0;
  let second = 0;
  for (const b of h.buckets) {
    n += b.count;
    second += (b.count * (b.start * b.start + b.start * b.end + b.end * b.end)) / 3;
  }
  if (n < 2) return Number.NaN;
  const m = meanMs / 1000;
  return 1000 * Math.sqrt(Math.max(0, ((second / n - m * m) * n) / (n - 1)));
}

/** Count above a limit (ms) and quantiles, with the same uniform-within-bucket model. */
function bucketDistribution(h: CollectedHistogram): SampleDistribution {
  const n = h.buckets.reduce((a, b) => a + b.count, 0);
  return {
    n,
    countAbove(limitMs: number): number {
      const limit = limitMs / 1000;
      let above = 0;
      for (const b of h.buckets) {
        if (b.end <= limit) continue;
        above += b.start >= limit ? b.count : (b.count * (b.end - limit)) / (b.end - b.start);
      }
      return Math.round(above);
    },
    quantile: (q: number) =>
      1000 * (histogramPercentile(h.buckets, Math.min(100, Math.max(0, 100 * q))) ?? 0),
  };
}

/** `provider: iter8` metrics from the histograms `metrics/collect` recorded for each version. */
export class CollectedHistogramsProvider implements MetricsProvider {
  async read(query: MetricQuery): Promise<MetricReading> {
    const metricName = query.metric.metadata.name;
    const versionName = query.version.name;
    const fail = (reason: string): MetricReading => ({
      error: `metric ${query.metricKey} for version ${versionName}: ${reason}`,
    });
    if (query.metric.spec.provider !== "iter8") {
      return fail(
        `only provider: iter8 metrics are computed from collected histograms, this one has provider ${JSON.stringify(query.metric.spec.provider)}`,
      );
    }
    const percentile = percentileOf(metricName);
    const known = (BUILTIN_METRICS as readonly string[]).includes(metricName) || percentile !== undefined;
    if (!known) return fail(`${metricName} is not a built-in metric (known: ${BUILTIN_METRICS.join(", ")})`);

    let h: CollectedHistogram;
    try {
      const data = collectedData(query.experiment);
      if (data === undefined || !Object.hasOwn(data, versionName)) {
        const others = Object.keys(data ?? {});
        return fail(
          `no built-in histogram for version ${versionName} (has metrics/collect run?)` +
            (others.length > 0 ? `; histograms exist for: ${others.join(", ")}` : ""),
        );
      }
      h = parseCollectedHistogram(data[versionName], `${DATA_PATH}.${versionName}`);
    } catch (e) {
      if (e instanceof MalformedHistogram) return fail(`malformed built-in histogram: ${e.message}`);
      throw e;
    }

    const count = h.count;
    switch (metricName) {
      case "request-count":
        return { value: count, sampleSize: count };
      case "error-count":
        return { value: errorCountOf(h), sampleSize: count };
    }
    if (count === 0) return fail(`the built-in histogram for version ${versionName} has no requests`);
    if (metricName === "error-rate") {
      const errors = errorCountOf(h);
      return withDistribution({ value: errors / count, sampleSize: count }, { n: count, events: errors });
    }
    if (metricName === "mean-latency") {
      const mean = (1000 * h.sum) / count;
      return withDistribution({ value: mean, sampleSize: count }, { n: count, mean, sd: bucketSd(h, mean) });
    }
    const seconds = histogramPercentile(h.buckets, percentile as number) as number;
    return withDistribution({ value: 1000 * seconds, sampleSize: count }, bucketDistribution(h));
  }
}

/**
 * The `builtin` provider for `HttpMetricsProvider` when both sources may apply: a version's histogram
 * collected by `metrics/collect` wins whenever the experiment's status has one (a malformed one is
 * reported, not skipped); otherwise the fallback answers (locally, the router-stats
 * `BuiltinMetricsProvider`). Without a fallback it is the collected-histograms provider alone.
 */
export class CompositeBuiltinProvider implements MetricsProvider {
  readonly #collected: MetricsProvider;
  readonly #fallback: MetricsProvider | undefined;

  constructor(fallback?: MetricsProvider, collected: MetricsProvider = new CollectedHistogramsProvider()) {
    this.#fallback = fallback;
    this.#collected = collected;
  }

  read(query: MetricQuery): Promise<MetricReading> {
    const hists = query.experiment.status?.analysis?.aggregatedBuiltinHists;
    // A data field that is not a map at all is also reported rather than silently bypassed.
    const unreadable = hists !== undefined && hists !== null && !isRecord(hists.data);
    if (
      this.#fallback === undefined ||
      unreadable ||
      hasCollectedHistogram(query.experiment, query.version.name)
    ) {
      return this.#collected.read(query);
    }
    return this.#fallback.read(query);
  }
}
