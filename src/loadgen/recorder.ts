// Everything a load run measures: HDR latency histograms (microseconds), status-code and error
// counts, send pacing. Turns into a JSON-friendly LoadResult at the end.

import type { JsHistogram } from "hdr-histogram-js";
import { Int32Histogram } from "hdr-histogram-js";
import type { NormalizedLoadOptions } from "./options.ts";

export interface LatencySummary {
  /** Number of recorded values; when 0 every other field is 0. */
  count: number;
  min: number;
  mean: number;
  stdev: number;
  max: number;
  p50: number;
  p75: number;
  p90: number;
  p95: number;
  p99: number;
  p99_9: number;
}

export interface PacingSummary {
  targetQps: number;
  /** Rate at which requests actually went out: (sent − 1) / (last send − first send). */
  sendRate: number;
  /** |sendRate − targetQps| / targetQps × 100. */
  errorPct: number;
  /** How late requests went out relative to their intended send time (ms). */
  latenessMs: { mean: number; p50: number; p99: number; max: number };
  /** Standard deviation of the interval between consecutive sends (ms); target interval is 1000/qps. */
  interSendJitterMs: number;
}

/** One HDR bucket: latencies in [startMs, endMs) were seen `count` times. */
export type LatencyBucket = [startMs: number, endMs: number, count: number];

export type StopReason = "duration" | "requests" | "stopped" | "aborted";

export interface LoadResult {
  url: string;
  method: string;
  connections: number;
  /** Target rate; 0 = as fast as possible. */
  qps: number;
  durationMs: number | null;
  requestsLimit: number | null;
  startedAt: string;
  elapsedMs: number;
  stopReason: StopReason;
  /** Requests written to a connection (retries after a keep-alive race not double-counted). */
  sent: number;
  /** Requests that finished: with a response or with an error. Equals the histogram count. */
  completed: number;
  /** In flight when the run was stopped or aborted; not counted anywhere else. */
  cancelled: number;
  /** Due within the duration at a fixed rate but still unsent one timeout after it ended (server far too slow). */
  dropped: number;
  /** completed / elapsed seconds. */
  actualQps: number;
  /** Responses by status code. */
  statusCodes: Record<string, number>;
  /** Responses outside 2xx. */
  non2xx: number;
  /** Requests that got no response, by cause (ECONNREFUSED, ECONNRESET, timeout, protocol). */
  errors: Record<string, number>;
  errorCount: number;
  /** Requests answered with a response (any status); `completed - errorCount`. */
  answered: number;
  /** Latency of answered requests only (what the text report shows), measured as `latencyMs`. */
  answeredLatencyMs: LatencySummary;
  /**
   * Latency of every completed request (including those that ended in an error, like Fortio), in ms.
   * At a fixed rate it is measured from the *intended* send time, so queueing behind a slow
   * response is counted (no coordinated omission); at max rate, from the actual send.
   */
  latencyMs: LatencySummary;
  /** Fixed rate only: from the actual send time (what a closed-loop client would report). */
  serviceTimeMs: LatencySummary | null;
  pacing: PacingSummary | null;
  /** The latency distribution itself, for merging runs (e.g. into Fortio's histogram shape). */
  histogram: { sumMs: number; buckets: LatencyBucket[] };
  bytesSent: number;
  bytesReceived: number;
}

export interface LoadProgress {
  elapsedMs: number;
  sent: number;
  completed: number;
  errorCount: number;
  non2xx: number;
  /** Completions per second since the previous progress report. */
  recentQps: number;
  p50Ms: number;
  p99Ms: number;
}

function newHistogram(): JsHistogram {
  // 1 µs .. 1 h, 3 significant digits; grows if a value exceeds the range.
  const h = new Int32Histogram(1, 3_600_000_000, 3);
  h.autoResize = true;
  return h;
}

export class Recorder {
  readonly latency = newHistogram();
  readonly answeredLatency = newHistogram();
  private sumAnsweredMs = 0;
  readonly serviceTime: JsHistogram | null;
  readonly lateness: JsHistogram | null;
  private readonly codes = new Map<number, number>();
  private readonly errors = new Map<string, number>();
  completed = 0;
  sent = 0;
  errorCount = 0;
  non2xx = 0;
  bytesSent = 0;
  bytesReceived = 0;
  private sumLatencyMs = 0;
  private firstSendAt = -1;
  private lastSendAt = -1;
  // Welford's running mean/variance of inter-send intervals.
  private intervals = 0;
  private intervalMean = 0;
  private intervalM2 = 0;

  constructor(fixedRate: boolean) {
    this.serviceTime = fixedRate ? newHistogram() : null;
    this.lateness = fixedRate ? newHistogram() : null;
  }

  onSend(intendedAt: number, sentAt: number, bytes: number): void {
    this.sent++;
    this.bytesSent += bytes;
    if (this.lateness !== null) this.lateness.recordValue(toMicros(sentAt - intendedAt));
    if (this.firstSendAt < 0) this.firstSendAt = sentAt;
    else {
      const dt = sentAt - this.lastSendAt;
      this.intervals++;
      const delta = dt - this.intervalMean;
      this.intervalMean += delta / this.intervals;
      this.intervalM2 += delta * (dt - this.intervalMean);
    }
    this.lastSendAt = sentAt;
  }

  onResponse(status: number, intendedAt: number, sentAt: number, now: number): void {
    this.codes.set(status, (this.codes.get(status) ?? 0) + 1);
    if (status < 200 || status >= 300) this.non2xx++;
    this.finish(intendedAt, sentAt, now);
    this.sumAnsweredMs += now - intendedAt;
    this.answeredLatency.recordValue(toMicros(now - intendedAt));
  }

  onError(kind: string, intendedAt: number, sentAt: number, now: number): void {
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
    this.errorCount++;
    this.finish(intendedAt, sentAt, now);
  }

  private finish(intendedAt: number, sentAt: number, now: number): void {
    this.completed++;
    const ms = now - intendedAt;
    this.sumLatencyMs += ms;
    this.latency.recordValue(toMicros(ms));
    if (this.serviceTime !== null) this.serviceTime.recordValue(toMicros(now - sentAt));
  }

  progress(elapsedMs: number, recentQps: number): LoadProgress {
    const has = this.latency.totalCount > 0;
    return {
      elapsedMs,
      sent: this.sent,
      completed: this.completed,
      errorCount: this.errorCount,
      non2xx: this.non2xx,
      recentQps,
      p50Ms: has ? this.latency.getValueAtPercentile(50) / 1000 : 0,
      p99Ms: has ? this.latency.getValueAtPercentile(99) / 1000 : 0,
    };
  }

  result(
    opts: NormalizedLoadOptions,
    startedAt: Date,
    elapsedMs: number,
    stopReason: StopReason,
    cancelled: number,
    dropped: number,
  ): LoadResult {
    const statusCodes: Record<string, number> = {};
    for (const [code, n] of [...this.codes].sort((a, b) => a[0] - b[0])) statusCodes[String(code)] = n;
    const errors: Record<string, number> = {};
    for (const [kind, n] of [...this.errors].sort()) errors[kind] = n;
    return {
      url: opts.url,
      method: opts.method,
      connections: opts.connections,
      qps: opts.qps,
      durationMs: opts.durationMs,
      requestsLimit: opts.requests,
      startedAt: startedAt.toISOString(),
      elapsedMs: round3(elapsedMs),
      stopReason,
      sent: this.sent,
      completed: this.completed,
      cancelled,
      dropped,
      actualQps: elapsedMs > 0 ? round3((this.completed * 1000) / elapsedMs) : 0,
      statusCodes,
      non2xx: this.non2xx,
      errors,
      errorCount: this.errorCount,
      answered: this.completed - this.errorCount,
      answeredLatencyMs: summarize(this.answeredLatency, this.sumAnsweredMs),
      latencyMs: summarize(this.latency, this.sumLatencyMs),
      serviceTimeMs: this.serviceTime === null ? null : summarize(this.serviceTime, null),
      pacing: this.pacing(opts.qps),
      histogram: { sumMs: round3(this.sumLatencyMs), buckets: buckets(this.latency) },
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
    };
  }

  private pacing(qps: number): PacingSummary | null {
    if (this.lateness === null) return null;
    const span = this.lastSendAt - this.firstSendAt;
    const sendRate = this.sent >= 2 && span > 0 ? ((this.sent - 1) * 1000) / span : 0;
    const l = this.lateness;
    const has = l.totalCount > 0;
    return {
      targetQps: qps,
      sendRate: round3(sendRate),
      errorPct: sendRate > 0 ? round3((Math.abs(sendRate - qps) / qps) * 100) : 100,
      latenessMs: {
        mean: has ? round3(l.mean / 1000) : 0,
        p50: has ? l.getValueAtPercentile(50) / 1000 : 0,
        p99: has ? l.getValueAtPercentile(99) / 1000 : 0,
        max: has ? l.maxValue / 1000 : 0,
      },
      interSendJitterMs: this.intervals >= 2 ? round3(Math.sqrt(this.intervalM2 / (this.intervals - 1))) : 0,
    };
  }
}

function toMicros(ms: number): number {
  // HDR histograms hold integers ≥ 1; sub-microsecond latencies count as 1 µs.
  return Math.max(1, Math.round(ms * 1000));
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function summarize(h: JsHistogram, sumMs: number | null): LatencySummary {
  const count = h.totalCount;
  if (count === 0)
    return { count: 0, min: 0, mean: 0, stdev: 0, max: 0, p50: 0, p75: 0, p90: 0, p95: 0, p99: 0, p99_9: 0 };
  const p = (q: number) => h.getValueAtPercentile(q) / 1000;
  return {
    count,
    min: h.minNonZeroValue / 1000,
    mean: round3(sumMs !== null ? sumMs / count : h.mean / 1000),
    stdev: round3(h.stdDeviation / 1000),
    max: h.maxValue / 1000,
    p50: p(50),
    p75: p(75),
    p90: p(90),
    p95: p(95),
    p99: p(99),
    p99_9: p(99.9),
  };
}

function buckets(h: JsHistogram): LatencyBucket[] {
  const out: LatencyBucket[] = [];
  const it = h.recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    const value = v.valueIteratedTo;
    const start = h.lowestEquivalentValue(value);
    const end = h.highestEquivalentValue(value) + 1;
    out.push([start / 1000, end / 1000, v.countAddedInThisIterationStep]);
  }
  return out;
}
