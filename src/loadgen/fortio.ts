// The load result in the shape Fortio's JSON output uses (`DurationHistogram` in seconds,
// `RetCodes` with -1 for requests without a response), which the built-in metrics
// are computed from and which `metrics/collect` merges across runs.

import type { LoadResult } from "./recorder.ts";

export interface FortioBucket {
  Start: number;
  End: number;
  Percent: number;
  Count: number;
}

export interface FortioHistogram {
  Count: number;
  Min: number;
  Max: number;
  Sum: number;
  Avg: number;
  Data: FortioBucket[];
}

export interface FortioResult {
  DurationHistogram: FortioHistogram;
  RetCodes: Record<string, number>;
}

export function toFortioResult(r: LoadResult): FortioResult {
  const count = r.histogram.buckets.reduce((n, b) => n + b[2], 0);
  let cumulative = 0;
  const Data = r.histogram.buckets.map(([startMs, endMs, n]) => {
    cumulative += n;
    return { Start: startMs / 1000, End: endMs / 1000, Percent: (cumulative / count) * 100, Count: n };
  });
  const RetCodes: Record<string, number> = { ...r.statusCodes };
  if (r.errorCount > 0) RetCodes["-1"] = r.errorCount;
  const sum = r.histogram.sumMs / 1000;
  return {
    DurationHistogram: {
      Count: count,
      Min: count > 0 ? r.latencyMs.min / 1000 : 0,
      Max: count > 0 ? r.latencyMs.max / 1000 : 0,
      Sum: sum,
      Avg: count > 0 ? sum / count : 0,
      Data,
    },
    RetCodes,
  };
}

/**
 * Accumulates runs the way `metrics/collect` does across loop iterations: Count and
 * Sum added, Max the larger, Min the smaller of non-empty runs, buckets concatenated, RetCodes
 * added per code. Avg and each bucket's Percent are recomputed. Inputs are not modified.
 */
export function mergeFortioResults(a: FortioResult, b: FortioResult): FortioResult {
  const ha = a.DurationHistogram;
  const hb = b.DurationHistogram;
  const count = ha.Count + hb.Count;
  const sum = ha.Sum + hb.Sum;
  let cumulative = 0;
  const Data = [...ha.Data, ...hb.Data].map((bucket) => {
    cumulative += bucket.Count;
    return { ...bucket, Percent: count > 0 ? (cumulative / count) * 100 : 0 };
  });
  const RetCodes: Record<string, number> = { ...a.RetCodes };
  for (const [code, n] of Object.entries(b.RetCodes)) RetCodes[code] = (RetCodes[code] ?? 0) + n;
  const mins = [ha, hb].filter((h) => h.Count > 0).map((h) => h.Min);
  return {
    DurationHistogram: {
      Count: count,
      Min: mins.length > 0 ? Math.min(...mins) : 0,
      Max: Math.max(ha.Max, hb.Max),
      Sum: sum,
      Avg: count > 0 ? sum / count : 0,
      Data,
    },
    RetCodes,
  };
}
