// Probability that each version is the best, from approximately normal posteriors of its reward
// (a proportion: Beta(k+1, n-k+1) by its mean and sd; a mean: N(mean, sd^2/n)). P(i best) =
// integral of f_i(x) * prod_{j != i} F_j(x) dx (higher is better; mirrored for lower), computed on a
// fixed grid, so the same data always give the same answer. Iter8 v2 named the threshold for a
// winner `min_posterior_probability_for_winner` (0.99) but never used it.
import jstatModule from "jstat";

const { jStat } = jstatModule;

export const MIN_POSTERIOR_PROBABILITY_FOR_WINNER = 0.99;

export interface Posterior {
  mean: number;
  sd: number;
}

export function proportionPosterior(k: number, n: number): Posterior {
  const a = k + 1;
  const b = n - k + 1;
  return { mean: a / (a + b), sd: Math.sqrt((a * b) / ((a + b) ** 2 * (a + b + 1))) };
}

export function meanPosterior(mean: number, sd: number, n: number): Posterior {
  return { mean, sd: n > 0 ? sd / Math.sqrt(n) : Number.POSITIVE_INFINITY };
}

const POINTS = 2000;

export function probabilityBest(posteriors: Posterior[], higherIsBetter: boolean): number[] {
  if (posteriors.length === 0) return [];
  if (posteriors.length === 1) return [1];
  const ps = posteriors.map((p) => ({
    mean: higherIsBetter ? p.mean : -p.mean,
    sd: Math.max(p.sd, 1e-12),
  }));
  if (ps.some((p) => !Number.isFinite(p.sd) || !Number.isFinite(p.mean))) return ps.map(() => 0);
  const lo = Math.min(...ps.map((p) => p.mean - 8 * p.sd));
  const hi = Math.max(...ps.map((p) => p.mean + 8 * p.sd));
  const dx = (hi - lo) / POINTS;
  const out = ps.map(() => 0);
  for (let s = 0; s < POINTS; s++) {
    const x = lo + (s + 0.5) * dx;
    const cdfs = ps.map((p) => jStat.normal.cdf(x, p.mean, p.sd));
    ps.forEach((p, i) => {
      const z = (x - p.mean) / p.sd;
      let w = (Math.exp(-0.5 * z * z) / (p.sd * Math.sqrt(2 * Math.PI))) * dx;
      cdfs.forEach((c, j) => {
        if (j !== i) w *= c;
      });
      out[i]! += w;
    });
  }
  const total = out.reduce((a, b) => a + b, 0);
  return total > 0 ? out.map((x) => x / total) : out;
}
