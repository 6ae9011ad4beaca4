// Mock metrics: a Metric with `mock` levels is computed without any backend.
// Counter: level × elapsed. Gauge: 2 × level × Beta(elapsed, elapsed), whose mean is the level and
// whose spread shrinks as the experiment runs. Randomness comes from a seeded generator so that
// runs and tests are reproducible.

import { parseQuantity } from "../api/quantity.ts";
import type { Metric } from "../api/types.ts";
import { mulberry32 } from "../lib/random.ts";

/** A uniform [0, 1) generator. */
export type Random = () => number;

/** A seeded generator (mulberry32, shared with the sample app); same seed ⇒ same sequence. */
export function seededRandom(seed: number): Random {
  return mulberry32(seed);
}

function standardNormal(rand: Random): number {
  // Box–Muller; 1 - u keeps the logarithm's argument in (0, 1].
  const u = 1 - rand();
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Gamma(shape, 1) for shape ≥ 1 (Marsaglia & Tsang 2000). */
export function gamma(shape: number, rand: Random): number {
  if (!(shape >= 1)) throw new RangeError(`gamma shape must be >= 1, got ${shape}`);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = standardNormal(rand);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rand();
    if (u < 1 - 0.0331 * x ** 4) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
export function beta(a: number, b: number, rand: Random): number {
  const x = gamma(a, rand);
  const y = gamma(b, rand);
  return x / (x + y);
}

export type MockValue = { value: number } | { error: string };

/** The mock value of `metric` for `versionName` after `elapsed` seconds (≥ 1). */
export function mockValue(metric: Metric, versionName: string, elapsed: number, rand: Random): MockValue {
  const entry = metric.spec.mock?.find((m) => m.name === versionName);
  if (entry === undefined) return { error: `mock has no level for version ${versionName}` };
  let level: number;
  try {
    level = parseQuantity(entry.level);
  } catch (e) {
    return { error: `mock level for version ${versionName}: ${(e as Error).message}` };
  }
  if (metric.spec.type === "Counter") return { value: level * elapsed };
  return { value: 2 * level * beta(elapsed, elapsed, rand) };
}
