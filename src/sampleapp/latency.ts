// The sample app's injected latency model. A latency is either constant (only a mean) or
// lognormal, which is positive and right-skewed like real service latency. The lognormal is fixed
// by its mean m and either its standard deviation s ("jitter") or its 95th percentile q:
//   X = exp(μ + σZ), Z ~ N(0, 1); mean = exp(μ + σ²/2); p95 = exp(μ + z95·σ), z95 = 1.6449
//   from (m, s): σ² = ln(1 + s²/m²), μ = ln m − σ²/2
//   from (m, q): σ = z95 − sqrt(z95² − 2·ln(q/m)) (the root with q ≥ m), μ = ln m − σ²/2;
//   this needs m ≤ q ≤ m·e^(z95²/2) ≈ 3.87·m, the largest p95/mean ratio a lognormal can have.

import { standardNormal } from "../lib/random.ts";

export const Z95 = 1.6448536269514722;
export const MAX_P95_OVER_MEAN = Math.exp((Z95 * Z95) / 2);

export interface LatencySpec {
  /** Mean latency in ms. */
  meanMs: number;
  /** Standard deviation in ms (lognormal). */
  jitterMs?: number;
  /** 95th percentile in ms (lognormal); exclusive with jitterMs. */
  p95Ms?: number;
}

export interface LatencyModel {
  readonly meanMs: number;
  /** Lognormal parameters; sigma 0 means constant latency. */
  readonly mu: number;
  readonly sigma: number;
  sample(random: () => number): number;
  /** The model's p-quantile (0 < p < 1), for documentation and tests. */
  quantile(p: number): number;
}

export function latencyModel(spec: LatencySpec): LatencyModel {
  const m = spec.meanMs;
  if (!(m >= 0) || !Number.isFinite(m)) throw new Error(`latency: must be a duration ≥ 0, got ${m} ms`);
  if (spec.jitterMs !== undefined && spec.p95Ms !== undefined) {
    throw new Error("latency-jitter and latency-p95: give only one");
  }
  let sigma = 0;
  if (spec.jitterMs !== undefined) {
    const s = spec.jitterMs;
    if (!(s >= 0) || !Number.isFinite(s)) throw new Error(`latency-jitter: must be ≥ 0, got ${s} ms`);
    if (s > 0 && m === 0) throw new Error("latency-jitter: needs a positive --latency (mean)");
    sigma = m > 0 ? Math.sqrt(Math.log(1 + (s * s) / (m * m))) : 0;
  } else if (spec.p95Ms !== undefined) {
    const q = spec.p95Ms;
    if (m === 0) throw new Error("latency-p95: needs a positive --latency (mean)");
    if (!(q >= m)) throw new Error(`latency-p95: must be ≥ the mean latency (${m} ms), got ${q} ms`);
    if (q > m * MAX_P95_OVER_MEAN) {
      throw new Error(
        `latency-p95: at most ${MAX_P95_OVER_MEAN.toFixed(3)} × the mean (${(m * MAX_P95_OVER_MEAN).toFixed(3)} ms) for a lognormal, got ${q} ms`,
      );
    }
    sigma = Z95 - Math.sqrt(Math.max(0, Z95 * Z95 - 2 * Math.log(q / m)));
  }
  const mu = m > 0 ? Math.log(m) - (sigma * sigma) / 2 : -Infinity;
  return {
    meanMs: m,
    mu,
    sigma,
    sample(random) {
      if (m === 0) return 0;
      if (sigma === 0) return m;
      return Math.exp(mu + sigma * standardNormal(random));
    },
    quantile(p) {
      if (m === 0) return 0;
      if (sigma === 0) return m;
      return Math.exp(mu + sigma * normalQuantile(p));
    },
  };
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`quantile: p must be in (0, 1), got ${p}`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    );
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}
