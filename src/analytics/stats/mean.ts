// Bounds on a mean from n observations with sample mean and standard deviation. One-sided at the
// given confidence, like the proportion bounds.
//
// - `meanInterval`: the normal (z) interval, for a single look at a fixed n (large-sample; latency
//   means are taken over hundreds of requests).
// - `meanSequence`: the asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha, Kennedy &
//   Ramdas (2021, "Time-uniform central limit theory and asymptotic confidence sequences"), eq. for
//   the Robbins normal mixture: mean +- sd * sqrt(2 (n rho^2 + 1) / (n^2 rho^2) * log(sqrt(n rho^2 + 1)
//   / alpha)). It is two-sided at alpha, hence each side is valid at alpha too. rho tunes where the
//   sequence is tightest; here at `TUNED_AT` observations (their eq. for rho).
import jstatModule from "jstat";

const { jStat } = jstatModule;

export interface MeanBounds {
  lower: number;
  upper: number;
}

/** Observations below which neither bound is trusted: both are large-sample results. */
export const MIN_MEAN_SAMPLES = 30;

export function meanInterval(mean: number, sd: number, n: number, confidence: number): MeanBounds {
  if (n < 2) return { lower: Number.NEGATIVE_INFINITY, upper: Number.POSITIVE_INFINITY };
  const half = jStat.normal.inv(confidence, 0, 1) * (sd / Math.sqrt(n));
  return { lower: mean - half, upper: mean + half };
}

const TUNED_AT = 500;

export function meanSequence(mean: number, sd: number, n: number, confidence: number): MeanBounds {
  if (n < 2) return { lower: Number.NEGATIVE_INFINITY, upper: Number.POSITIVE_INFINITY };
  const alpha = 1 - confidence;
  const l = -2 * Math.log(alpha);
  const rho2 = (l + Math.log(l + 1)) / TUNED_AT;
  const nr = n * rho2;
  const half = sd * Math.sqrt(((2 * (nr + 1)) / (n * n * rho2)) * Math.log(Math.sqrt(nr + 1) / alpha));
  return { lower: mean - half, upper: mean + half };
}
