// The built-in metrics (`provider: iter8`, SPEC B §2.5, issue 4 item 3) computed from the local
// router's per-version request statistics rather than from Fortio histograms in status: request and
// error counts, error rate, mean latency and latency percentiles, each cumulative since the
// experiment started and with the number of requests behind it as the sample size.
//
// "Since the experiment started": the router's counters only grow, so `markStart` records a
// baseline per version when the experiment starts and readings are current minus baseline. Without
// a baseline (e.g. the run was resumed after a restart, which also restarted the router), readings
// are since the router started.

import type { Experiment, VersionDetail } from "../api/types.ts";
import type { MetricQuery, MetricReading, MetricsProvider } from "../engine/ports.ts";

/** Latency distribution of one version: an HDR histogram or anything with the same three methods. */
export interface LatencyHistogram {
  readonly totalCount: number;
  /** Smallest recorded value such that `percentile` % of values are at or below it. */
  getValueAtPercentile(percentile: number): number;
  /** Removes another histogram's counts (used to subtract the baseline). */
  subtract(other: LatencyHistogram): void;
}

/** Cumulative statistics of one router version label since the router started. */
export interface VersionStats {
  /** Completed requests (every response, errors included). */
  count: number;
  /** Error responses (status ≥ 400, or no response at all), a subset of `count`. */
  errors: number;
  /** Sum of request latencies, in milliseconds. */
  latencySumMs: number;
  /** A copy the caller may modify (baseline subtraction works on it). */
  histogram: LatencyHistogram;
  /** Milliseconds per histogram unit (1 if it records ms, 0.001 if µs). */
  histogramUnitMs: number;
}

/** What the router's metrics object offers: a fresh snapshot per version label. */
export interface VersionStatsSource {
  /** Undefined when the router has not seen the label (yet). */
  snapshot(version: string): VersionStats | undefined;
}

/** The built-in metric names (the nine of B §2.5 plus the sample metrics' tail-latency name). */
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

interface Baseline {
  count: number;
  errors: number;
  latencySumMs: number;
  histogram: LatencyHistogram;
}

export class BuiltinMetricsProvider implements MetricsProvider {
  readonly #source: VersionStatsSource;
  /** Per experiment (`namespace/name`): per version label, the stats at the experiment's start. */
  readonly #baselines = new Map<string, Map<string, Baseline | null>>();

  constructor(source: VersionStatsSource) {
    this.#source = source;
  }

  /**
   * Records the router's counters for every version of `experiment` as its zero point. Call when the
   * experiment starts (status.startTime is set); calling again replaces the baseline.
   */
  markStart(experiment: Experiment): void {
    const perVersion = new Map<string, Baseline | null>();
    const info = experiment.spec.versionInfo;
    for (const v of info === undefined ? [] : [info.baseline, ...(info.candidates ?? [])]) {
      const label = versionLabel(v);
      const s = this.#source.snapshot(label);
      // null: the label had no traffic at the start, so everything seen later counts.
      perVersion.set(label, s === undefined ? null : s);
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

    const stats = this.#sinceStart(query.experiment, label);
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
    if (metricName === "error-rate") return { value: errors / count, sampleSize: count };
    if (metricName === "mean-latency") return { value: stats.latencySumMs / count, sampleSize: count };
    const h = stats.histogram;
    if (h.totalCount === 0) return fail(`no latencies recorded for ${label} since the experiment started`);
    return { value: h.getValueAtPercentile(percentile as number) * stats.histogramUnitMs, sampleSize: count };
  }

  #sinceStart(experiment: Experiment, label: string): VersionStats | undefined {
    const now = this.#source.snapshot(label);
    if (now === undefined) return undefined;
    const base = this.#baselines.get(experimentKey(experiment))?.get(label);
    if (base === undefined || base === null) return now;
    now.histogram.subtract(base.histogram);
    return {
      count: now.count - base.count,
      errors: now.errors - base.errors,
      latencySumMs: now.latencySumMs - base.latencySumMs,
      histogram: now.histogram,
      histogramUnitMs: now.histogramUnitMs,
    };
  }
}

function experimentKey(e: Experiment): string {
  return `${e.metadata.namespace ?? "default"}/${e.metadata.name}`;
}
