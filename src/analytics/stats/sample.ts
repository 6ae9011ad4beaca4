// What a metrics backend can say about the observations behind one value, beyond the value itself.
// Only in memory (never in status): the evidence is recomputed from cumulative data every iteration.

export interface SampleDistribution {
  /** Observations (requests). */
  n: number;
  /** For a ratio of counts: the events counted (errors). */
  events?: number;
  /** For a mean: the sample mean and standard deviation, in the metric's units. */
  mean?: number;
  sd?: number;
  /** For a percentile: observations strictly above `limit` (metric units). */
  countAbove?: (limit: number) => number;
  /** For a percentile: the q-quantile (q in [0, 1]) of the observations, in metric units. */
  quantile?: (q: number) => number;
}

/** Keyed by metric key (`namespace/name`), then by version name. */
export type SampleDetails = Record<string, Record<string, SampleDistribution>>;
