// Bounds on a binomial proportion p from k events in n trials (errors in requests, requests slower
// than a latency limit). Every bound is one-sided at the given confidence: `upper` is a
// (confidence) upper bound and `lower` a (confidence) lower bound, so "upper < limit" is a test of
// "p >= limit" at level 1 - confidence, and "lower > limit" a test of "p <= limit".
//
// - `clopperPearson`: the exact binomial interval (Clopper & Pearson 1934), valid for one look at a
//   fixed n. Beta quantiles come from jStat.
// - `binomialSequence`: an always-valid bound (a confidence sequence), valid simultaneously for every
//   n, however often it is looked at (Robbins 1970; Howard, Ramdas, McAuliffe & Sekhon 2021,
//   "Time-uniform, nonparametric, nonasymptotic confidence sequences", Ann. Statist.). For each
//   candidate p0 it runs a mixture likelihood-ratio martingale: the average, over alternatives q
//   drawn from a prior, of prod (q/p0)^x (1-q/1-p0)^(1-x). Under p0 (and, one-sided, under any p on
//   the null side) that average is a nonnegative (super)martingale with mean 1, so by Ville's
//   inequality it ever exceeds 1/alpha with probability <= alpha. The bound is the edge of the set of
//   p0 it has not rejected. The prior is discrete and uniform on a grid scaled to p0: (0, p0) for the
//   upper bound, (p0, min(1, 3 p0)) for the lower one; any prior keeps the guarantee, this one
//   spends its power on alternatives of the order of the limit.
import jstatModule from "jstat";

const { jStat } = jstatModule;

export interface ProportionBounds {
  lower: number;
  upper: number;
}

function check(k: number, n: number, confidence: number): void {
  if (!(Number.isInteger(n) && n >= 0 && Number.isInteger(k) && k >= 0 && k <= n)) {
    throw new RangeError(`need integers 0 <= k <= n, got k = ${k}, n = ${n}`);
  }
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
}

/** Exact (Clopper-Pearson) one-sided bounds at `confidence`, for a single look at n trials. */
export function clopperPearson(k: number, n: number, confidence: number): ProportionBounds {
  check(k, n, confidence);
  if (n === 0) return { lower: 0, upper: 1 };
  const alpha = 1 - confidence;
  const lower = k === 0 ? 0 : jStat.beta.inv(alpha, k, n - k + 1);
  const upper = k === n ? 1 : jStat.beta.inv(confidence, k + 1, n - k);
  return { lower, upper };
}

/** Grid points of the discrete mixture prior. */
const GRID = 24;

function logMeanExp(xs: number[]): number {
  const m = Math.max(...xs);
  if (m === Number.NEGATIVE_INFINITY) return m;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s / xs.length);
}

/** log of the mixture martingale for the null p0 over alternatives uniform on the grid in (from, to). */
function logMixture(k: number, n: number, p0: number, from: number, to: number): number {
  const lp0 = Math.log(p0);
  const lq0 = Math.log1p(-p0);
  const terms: number[] = [];
  for (let j = 0; j < GRID; j++) {
    const q = from + ((to - from) * (j + 0.5)) / GRID;
    const a = k === 0 ? 0 : k * (Math.log(q) - lp0);
    const b = n - k === 0 ? 0 : (n - k) * (Math.log1p(-q) - lq0);
    terms.push(a + b);
  }
  return logMeanExp(terms);
}

/** Against "p >= p0": evidence that p is smaller. */
function logEvidenceBelow(k: number, n: number, p0: number): number {
  return logMixture(k, n, p0, 0, p0);
}

/** Against "p <= p0": evidence that p is larger. */
function logEvidenceAbove(k: number, n: number, p0: number): number {
  return logMixture(k, n, p0, p0, Math.min(1, 3 * p0));
}

const STEPS = 40;

/** log(1/alpha): by Ville's inequality the mixture ever exceeds 1/alpha with probability <= alpha. */
function logThreshold(confidence: number): number {
  return Math.log(1 / (1 - confidence));
}

/**
 * Always-valid one-sided bounds at `confidence`: with probability >= confidence, p <= upper at every
 * n at once (and likewise p >= lower).
 */
export function binomialSequence(k: number, n: number, confidence: number): ProportionBounds {
  check(k, n, confidence);
  if (n === 0) return { lower: 0, upper: 1 };
  const threshold = logThreshold(confidence);
  const phat = k / n;
  // Upper: the largest p0 >= phat not yet rejected (evidence grows with p0 beyond phat).
  let upper = 1;
  if (phat < 1 && logEvidenceBelow(k, n, 1 - 1e-12) >= threshold) {
    let lo = phat;
    let hi = 1 - 1e-12;
    for (let i = 0; i < STEPS; i++) {
      const mid = (lo + hi) / 2;
      if (logEvidenceBelow(k, n, mid) >= threshold) hi = mid;
      else lo = mid;
    }
    upper = hi;
  }
  // Lower: the smallest p0 <= phat not yet rejected.
  let lower = 0;
  if (k > 0 && logEvidenceAbove(k, n, 1e-12) >= threshold) {
    let lo = 1e-12;
    let hi = phat;
    for (let i = 0; i < STEPS; i++) {
      const mid = (lo + hi) / 2;
      if (logEvidenceAbove(k, n, mid) >= threshold) lo = mid;
      else hi = mid;
    }
    lower = lo;
  }
  return { lower, upper };
}

export type ProportionMethod = "fixed" | "sequential";

/** Bounds by method: Clopper-Pearson for one look, the confidence sequence for repeated looks. */
export function proportionBounds(
  k: number,
  n: number,
  confidence: number,
  method: ProportionMethod,
): ProportionBounds {
  return method === "fixed" ? clopperPearson(k, n, confidence) : binomialSequence(k, n, confidence);
}

/** A one-sided test of "p against p0" from k events in n trials, at `confidence`. */
export type ProportionTest = (
  k: number,
  n: number,
  p0: number,
  confidence: number,
  method: ProportionMethod,
) => boolean;

/** Whether the data show p < p0 at `confidence` (the upper bound is below p0). */
export const showsBelow: ProportionTest = (k, n, p0, confidence, method) => {
  if (n === 0 || k / n >= p0) return false;
  if (method === "fixed") return clopperPearson(k, n, confidence).upper < p0;
  return logEvidenceBelow(k, n, p0) >= logThreshold(confidence);
};

/** Whether the data show p > p0 at `confidence` (the lower bound is above p0). */
export const showsAbove: ProportionTest = (k, n, p0, confidence, method) => {
  if (n === 0 || k / n <= p0) return false;
  if (method === "fixed") return clopperPearson(k, n, confidence).lower > p0;
  return logEvidenceAbove(k, n, p0) >= logThreshold(confidence);
};
