// The built-in metrics (`provider: iter8`) computed from the local
// router's per-version request statistics rather than from Fortio histograms in status: request and
// error counts, error rate, mean latency and latency percentiles, each cumulative since the
// experiment started and with the number of requests behind it as the sample size.
//
// "Since the experiment started": the router's counters only grow, so `markStart` records a
// baseline per version when the experiment starts and readings are current minus baseline. Without
// a baseline (e.g. the run was resumed after a restart, which also restarted the router), readings
// are since the router started.

import * as hdr from "hdr-histogram-js";
import type { SampleDistribution } from "../analytics/stats/sample.ts";
import { namespaceOf } from "../api/refs.ts";
import type { Experiment, VersionDetail } from "../api/types.ts";
import type { MetricQuery, MetricReading, MetricsProvider } from "../engine/ports.ts";

/**
 * One version's cumulative statistics since the router started. The router's `VersionSnapshot`
 * (src/router/metrics.ts) has this shape.
 */
export interface VersionStatsSnapshot {
  /** Completed requests (every response, errors included). */
  readonly count: number;
  /** Server errors (5xx, or no response at all), used when `byClass` is absent. */
  readonly errors: number;
  readonly meanMs: number;
  /** Counts per response code class (`"2xx"`, `"4xx"`, ...); errors are 4xx + 5xx, as Iter8 v2 counted them. */
  readonly byClass?: Readonly<Record<string, number>>;
  /** HDR histogram of latencies in microseconds, compressed base64 (hdr-histogram-js encoding). */
  readonly histogram: string;
}

/** What the built-in provider reads; the router's `RouterMetrics` satisfies it. */
export interface VersionStatsSource {
  /** Undefined when the router has not seen the label (yet). */
  snapshot(version: string): VersionStatsSnapshot | undefined;
  /** Brings snapshots up to date (the router gathers its workers' counts). */
  sync?(): Promise<void>;
}

/** The built-in metric names (Iter8 v2's nine plus the sample metrics' tail-latency name). */
export const BUILTIN_METRICS = [
  "request-count",
  "error-count",
  "error-rate",
  "mean-latency",
  "latency-50th-percentile",
  "latency-75th-percentile",
  "latency-90th-percentile",
  "latency-95th-percentile",
  "latency-99th-percentile",
  "95th-percentile-tail-latency",
] as const;

const LATENCY_PERCENTILE = /^latency-(\d+(?:\.\d+)?)(?:st|nd|rd|th)-percentile$/;
const TAIL_LATENCY = /^(\d+(?:\.\d+)?)(?:st|nd|rd|th)-percentile-tail-latency$/;

/** The percentile a built-in latency metric name asks for, if it is one (`latency-95th-percentile` ⇒ 95). */
export function percentileOf(metricName: string): number | undefined {
  const m = LATENCY_PERCENTILE.exec(metricName) ?? TAIL_LATENCY.exec(metricName);
  if (m === null) return undefined;
  const p = Number(m[1]);
  return p > 0 && p <= 100 ? p : undefined;
}

/** The router label of a version: its `revision` variable (Knative revision name), else its name. */
export function versionLabel(version: VersionDetail): string {
  return version.variables?.find((v) => v.name === "revision")?.value ?? version.name;
}

/** Decoded statistics, so a baseline can be subtracted. */
interface Stats {
  count: number;
  errors: number;
  latencySumMs: number;
  /** Microseconds. */
  histogram: hdr.Histogram;
}

function decode(s: VersionStatsSnapshot): Stats {
  const errors = s.byClass === undefined ? s.errors : (s.byClass["4xx"] ?? 0) + (s.byClass["5xx"] ?? 0);
  const histogram =
    s.count > 0
      ? hdr.decodeFromCompressedBase64(s.histogram, 64, false)
      : hdr.build({ bitBucketSize: 64, useWebAssembly: false });
  return { count: s.count, errors, latencySumMs: s.meanMs * s.count, histogram };
}

export class BuiltinMetricsProvider implements MetricsProvider {
  readonly #source: VersionStatsSource;
  /** Per experiment (`namespace/name`): per version label, the stats at the experiment's start. */
  readonly #baselines = new Map<string, Map<string, Stats | null>>();
  readonly #decoded = new WeakMap<VersionStatsSnapshot, { base: Stats | null; stats: Stats }>();

  constructor(source: VersionStatsSource) {
    this.#source = source;
  }

  /**
   * Records the router's counters for every version of `experiment` as its zero point. Call when the
   * experiment starts (status.startTime is set); calling again replaces the baseline.
   */
  async markStart(experiment: Experiment): Promise<void> {
    await this.#source.sync?.();
    const perVersion = new Map<string, Stats | null>();
    const info = experiment.spec.versionInfo;
    for (const v of info === undefined ? [] : [info.baseline, ...(info.candidates ?? [])]) {
      const label = versionLabel(v);
      const s = this.#source.snapshot(label);
      // null: the label had no traffic at the start, so everything seen later counts.
      perVersion.set(label, s === undefined ? null : decode(s));
    }
    this.#baselines.set(experimentKey(experiment), perVersion);
  }

  /** Forgets an experiment's baseline (when it has finished). */
  forget(experiment: Experiment): void {
    this.#baselines.delete(experimentKey(experiment));
  }

  async read(query: MetricQuery): Promise<MetricReading> {
    const metricName = query.metric.metadata.name;
    const label = versionLabel(query.version);
    const fail = (reason: string): MetricReading => ({
      error: `metric ${query.metricKey} for version ${query.version.name}: ${reason}`,
    });
    const percentile = percentileOf(metricName);
    const known = (BUILTIN_METRICS as readonly string[]).includes(metricName) || percentile !== undefined;
    if (!known) return fail(`${metricName} is not a built-in metric (known: ${BUILTIN_METRICS.join(", ")})`);

    let stats: Stats | undefined;
    try {
      stats = await this.#sinceStart(query.experiment, label);
    } catch (e) {
      return fail(`router statistics unavailable: ${(e as Error).message}`);
    }
    const count = stats?.count ?? 0;
    const errors = stats?.errors ?? 0;
    switch (metricName) {
      case "request-count":
        return { value: count, sampleSize: count };
      case "error-count":
        return { value: errors, sampleSize: count };
    }
    if (stats === undefined || count === 0) {
      return fail(`no requests to ${label} since the experiment started`);
    }
    if (metricName === "error-rate") {
      return withDistribution({ value: errors / count, sampleSize: count }, { n: count, events: errors });
    }
    const h = stats.histogram;
    if (metricName === "mean-latency") {
      const mean = stats.latencySumMs / count;
      const sd = h.totalCount > 1 ? histogramSd(h) / 1000 : Number.NaN;
      return withDistribution({ value: mean, sampleSize: count }, { n: count, mean, sd });
    }
    if (h.totalCount === 0) return fail(`no latencies recorded for ${label} since the experiment started`);
    const value = h.getValueAtPercentile(percentile as number) / 1000;
    return withDistribution({ value, sampleSize: count }, latencyDistribution(h));
  }

  async #sinceStart(experiment: Experiment, label: string): Promise<Stats | undefined> {
    await this.#source.sync?.();
    const snap = this.#source.snapshot(label);
    if (snap === undefined) return undefined;
    const base = this.#baselines.get(experimentKey(experiment))?.get(label) ?? null;
    // A source that hands out the same snapshot object for unchanged counts (every metric of one
    // version in one iteration) is decoded once; the result is only read, never changed.
    const cached = this.#decoded.get(snap);
    if (cached !== undefined && cached.base === base) return cached.stats;
    const now = decode(snap);
    let stats = now;
    if (base !== null) {
      now.histogram.subtract(base.histogram);
      stats = {
        count: now.count - base.count,
        errors: now.errors - base.errors,
        latencySumMs: now.latencySumMs - base.latencySumMs,
        histogram: now.histogram,
      };
    }
    this.#decoded.set(snap, { base, stats });
    return stats;
  }
}

/**
 * Attaches the distribution as a non-enumerable property: it holds functions over the decoded
 * histogram, lives in memory for this iteration's evidence and must never be serialized.
 */
export function withDistribution(reading: MetricReading, distribution: SampleDistribution): MetricReading {
  Object.defineProperty(reading, "distribution", { value: distribution, enumerable: false });
  return reading;
}

/** The hdr-histogram-js internals that give counts per recorded value (not in its public typings). */
interface CountsArray {
  countsArrayIndex(value: number): number;
  getCountAtIndex(index: number): number;
  valueFromIndex(index: number): number;
  medianEquivalentValue(value: number): number;
  countsArrayLength: number;
}

/**
 * Standard deviation of the recorded values (median-equivalent value per bucket, as the library's own
 * `stdDeviation`), by one pass over the counts array instead of the library's much slower iterator.
 */
function histogramSd(h: hdr.Histogram): number {
  const c = h as unknown as CountsArray;
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < c.countsArrayLength; i++) {
    const k = c.getCountAtIndex(i);
    if (k === 0) continue;
    const v = c.medianEquivalentValue(c.valueFromIndex(i));
    n += k;
    sum += k * v;
    sumSq += k * v * v;
  }
  if (n < 2) return Number.NaN;
  const mean = sum / n;
  return Math.sqrt(Math.max(0, (sumSq - n * mean * mean) / (n - 1)));
}

/**
 * Count above a latency and quantiles, for order-statistic bounds on percentiles. A value within the
 * histogram's resolution (3 significant digits) of the limit counts as at the limit, not above it.
 */
function latencyDistribution(h: hdr.Histogram): SampleDistribution {
  const counts = h as unknown as CountsArray;
  return {
    n: h.totalCount,
    countAbove(limitMs: number): number {
      const from = counts.countsArrayIndex(Math.max(1, Math.round(limitMs * 1000))) + 1;
      let above = 0;
      for (let i = Math.max(0, from); i < counts.countsArrayLength; i++) above += counts.getCountAtIndex(i);
      return above;
    },
    quantile: (q: number) => h.getValueAtPercentile(Math.min(100, Math.max(0, q * 100))) / 1000,
  };
}

function experimentKey(e: Experiment): string {
  return `${namespaceOf(e)}/${e.metadata.name}`;
}
