// Per-version request metrics: counts, errors, an HDR latency histogram (for in-process percentiles), and
// fixed Prometheus buckets per response code class exported with Knative's metric and label names, so the
// iter8-knative PromQL works against a Prometheus scraping the router's admin endpoint.

import * as hdr from "hdr-histogram-js";

/**
 * Upper bounds (ms) of the exported buckets: fine below 10 ms, where local services answer, and Knative's
 * own layout above, so histogram_quantile(0.95, ...) lands within a few percent of the true p95.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 12.5, 15, 20, 25, 30, 40,
  50, 60, 70, 80, 90, 100, 125, 150, 200, 250, 300, 350, 400, 450, 500, 600, 700, 800, 900, 1000, 1500, 2000,
  3000, 5000, 10000, 20000, 50000, 100000,
];

export const CODE_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;
const CLASS_COUNT = CODE_CLASSES.length;

export interface VersionSnapshot {
  readonly version: string;
  readonly count: number;
  /** 5xx responses, including the router's own 502/504 for upstream failures. */
  readonly errors: number;
  readonly errorRate: number;
  readonly meanMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly percentilesMs: {
    readonly p50: number;
    readonly p75: number;
    readonly p90: number;
    readonly p95: number;
    readonly p99: number;
    readonly p999: number;
  };
  /** Counts per response code class ("2xx", ...). */
  readonly byClass: Readonly<Record<string, number>>;
  /** The HDR histogram of latencies in microseconds, compressed base64 (hdr-histogram-js encoding). */
  readonly histogram: string;
}

/** Serializable state of a metrics store (IPC between router workers and the primary). */
export interface MetricsState {
  readonly versions: ReadonlyArray<{
    readonly version: string;
    readonly count: number;
    readonly errors: number;
    readonly sumMs: number;
    readonly classCounts: number[];
    readonly classSums: number[];
    readonly buckets: number[][];
    readonly histogram: string;
  }>;
}

export interface RouterMetrics {
  snapshot(version: string): VersionSnapshot | undefined;
  versions(): string[];
  /** Prometheus text exposition (version 0.0.4). */
  toPrometheus(): string;
  /** Brings in-process readings up to date (a no-op in one process; gathers workers otherwise). */
  sync(): Promise<void>;
}

class VersionStats {
  count = 0;
  errors = 0;
  sumMs = 0;
  readonly classCounts = new Float64Array(CLASS_COUNT);
  readonly classSums = new Float64Array(CLASS_COUNT);
  /** Non-cumulative bucket counts per class; index LATENCY_BUCKETS_MS.length = +Inf. */
  readonly buckets: Float64Array[] = [];
  readonly hist: hdr.Histogram;
  readonly version: string;
  constructor(version: string) {
    this.version = version;
    for (let i = 0; i < CLASS_COUNT; i++) this.buckets.push(new Float64Array(LATENCY_BUCKETS_MS.length + 1));
    this.hist = newHistogram();
  }
}

function newHistogram(): hdr.Histogram {
  return hdr.build({
    bitBucketSize: 64,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

function bucketIndex(ms: number): number {
  // Binary search for the first bound >= ms (Prometheus buckets are "less than or equal").
  let lo = 0;
  let hi = LATENCY_BUCKETS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (LATENCY_BUCKETS_MS[mid]! < ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MetricsStore implements RouterMetrics {
  private readonly stats = new Map<string, VersionStats>();

  /** Make a version visible (with zero counts) before its first request, so counters start at 0. */
  register(version: string): void {
    if (!this.stats.has(version)) this.stats.set(version, new VersionStats(version));
  }

  /**
   * Record one finished request. `status` is what the client (or, for a mirror, the router) got; 0 means
   * no response at all (counted as 5xx). Latency in milliseconds.
   */
  record(version: string, status: number, latencyMs: number): void {
    let s = this.stats.get(version);
    if (s === undefined) {
      s = new VersionStats(version);
      this.stats.set(version, s);
    }
    const cls = status >= 100 && status < 600 ? ((status / 100) | 0) - 1 : 4;
    const ms = Math.max(latencyMs, 0);
    s.count++;
    if (cls === 4) s.errors++;
    s.sumMs += ms;
    s.classCounts[cls]!++;
    s.classSums[cls]! += ms;
    s.buckets[cls]![bucketIndex(ms)]!++;
    const us = Math.round(ms * 1000);
    s.hist.recordValue(Math.max(us, 1));
  }

  versions(): string[] {
    return [...this.stats.keys()].sort();
  }

  snapshot(version: string): VersionSnapshot | undefined {
    const s = this.stats.get(version);
    if (!s) return undefined;
    const h = s.hist;
    const ms = (us: number) => (s.count === 0 ? 0 : us / 1000);
    const byClass: Record<string, number> = {};
    CODE_CLASSES.forEach((c, i) => {
      byClass[c] = s.classCounts[i]!;
    });
    return {
      version,
      count: s.count,
      errors: s.errors,
      errorRate: s.count === 0 ? 0 : s.errors / s.count,
      meanMs: s.count === 0 ? 0 : s.sumMs / s.count,
      minMs: ms(h.minNonZeroValue === Number.MAX_SAFE_INTEGER ? 0 : h.minNonZeroValue),
      maxMs: ms(h.maxValue),
      percentilesMs: {
        p50: ms(h.getValueAtPercentile(50)),
        p75: ms(h.getValueAtPercentile(75)),
        p90: ms(h.getValueAtPercentile(90)),
        p95: ms(h.getValueAtPercentile(95)),
        p99: ms(h.getValueAtPercentile(99)),
        p999: ms(h.getValueAtPercentile(99.9)),
      },
      byClass,
      histogram: hdr.encodeIntoCompressedBase64(h),
    };
  }

  toJSON(): Record<string, VersionSnapshot> {
    const out: Record<string, VersionSnapshot> = {};
    for (const v of this.versions()) out[v] = this.snapshot(v)!;
    return out;
  }

  toPrometheus(): string {
    const lines: string[] = [
      "# HELP revision_app_request_latencies The response time in millisecond",
      "# TYPE revision_app_request_latencies histogram",
    ];
    const counts: string[] = [
      "# HELP revision_app_request_count The number of requests that are routed to the revision",
      "# TYPE revision_app_request_count counter",
    ];
    for (const v of this.versions()) {
      const s = this.stats.get(v)!;
      const rev = escapeLabel(v);
      // 1xx is only exported when seen: proxies rarely pass interim responses on as final ones.
      for (let c = 0; c < CLASS_COUNT; c++) {
        if (c === 0 && s.classCounts[0] === 0) continue;
        const labels = `revision_name="${rev}",response_code_class="${CODE_CLASSES[c]}"`;
        const b = s.buckets[c]!;
        let cum = 0;
        for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) {
          cum += b[i]!;
          lines.push(`revision_app_request_latencies_bucket{${labels},le="${LATENCY_BUCKETS_MS[i]}"} ${cum}`);
        }
        cum += b[LATENCY_BUCKETS_MS.length]!;
        lines.push(`revision_app_request_latencies_bucket{${labels},le="+Inf"} ${cum}`);
        lines.push(`revision_app_request_latencies_sum{${labels}} ${formatFloat(s.classSums[c]!)}`);
        lines.push(`revision_app_request_latencies_count{${labels}} ${s.classCounts[c]}`);
        counts.push(`revision_app_request_count{${labels}} ${s.classCounts[c]}`);
      }
    }
    return `${lines.join("\n")}\n${counts.join("\n")}\n`;
  }

  async sync(): Promise<void> {}

  /** Serializable copy of the whole store. */
  state(): MetricsState {
    return {
      versions: [...this.stats.values()].map((s) => ({
        version: s.version,
        count: s.count,
        errors: s.errors,
        sumMs: s.sumMs,
        classCounts: [...s.classCounts],
        classSums: [...s.classSums],
        buckets: s.buckets.map((b) => [...b]),
        histogram: hdr.encodeIntoCompressedBase64(s.hist),
      })),
    };
  }

  /** Replace this store's content with the sum of several states (one per router worker). */
  replaceWithSum(states: Iterable<MetricsState>): void {
    for (const s of this.stats.values()) s.hist.destroy();
    this.stats.clear();
    for (const state of states) {
      for (const v of state.versions) {
        let s = this.stats.get(v.version);
        if (!s) {
          s = new VersionStats(v.version);
          this.stats.set(v.version, s);
        }
        s.count += v.count;
        s.errors += v.errors;
        s.sumMs += v.sumMs;
        for (let c = 0; c < CLASS_COUNT; c++) {
          s.classCounts[c]! += v.classCounts[c] ?? 0;
          s.classSums[c]! += v.classSums[c] ?? 0;
          const from = v.buckets[c] ?? [];
          const to = s.buckets[c]!;
          for (let i = 0; i < to.length; i++) to[i]! += from[i] ?? 0;
        }
        if (v.count > 0) {
          const h = hdr.decodeFromCompressedBase64(v.histogram, 64, false);
          s.hist.add(h);
          h.destroy();
        }
      }
    }
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatFloat(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(6).replace(/0+$/, "");
}

/** The current format of `serialiseMetrics`; `restoreMetrics` refuses others. */
export const METRICS_STATE_FORMAT = 1;

/** A store's statistics as plain JSON (HDR histograms compressed), to persist with a run. */
export function serialiseMetrics(store: MetricsStore): { format: number; state: MetricsState } {
  return { format: METRICS_STATE_FORMAT, state: store.state() };
}

/**
 * Adds persisted statistics back into a (fresh) store, so counts, errors, buckets and percentiles
 * continue where a previous process stopped. Throws, naming the field, on data of another shape.
 */
export function restoreMetrics(store: MetricsStore, saved: unknown): void {
  const s = saved as { format?: unknown; state?: { versions?: unknown } } | null;
  if (s === null || typeof s !== "object" || s.format !== METRICS_STATE_FORMAT)
    throw new Error(`format: must be ${METRICS_STATE_FORMAT}`);
  const versions = s.state?.versions;
  if (!Array.isArray(versions)) throw new Error("state.versions: must be a list");
  versions.forEach((v: Record<string, unknown>, i) => {
    const nums = (x: unknown) => Array.isArray(x) && x.every((n) => typeof n === "number");
    if (
      typeof v?.["version"] !== "string" ||
      typeof v["count"] !== "number" ||
      typeof v["errors"] !== "number" ||
      typeof v["sumMs"] !== "number" ||
      !nums(v["classCounts"]) ||
      !nums(v["classSums"]) ||
      !Array.isArray(v["buckets"]) ||
      !(v["buckets"] as unknown[]).every(nums) ||
      typeof v["histogram"] !== "string"
    )
      throw new Error(`state.versions[${i}]: not a version's statistics`);
  });
  const current = store.state();
  store.replaceWithSum([current, s.state as MetricsState]);
}
