import assert from "node:assert/strict";
import { test } from "node:test";
import { deriveSeed, mulberry32 } from "../../../src/lib/random.ts";
import { latencyModel, MAX_P95_OVER_MEAN, normalQuantile } from "../../../src/sampleapp/latency.ts";

function draw(model: ReturnType<typeof latencyModel>, n: number, seed: number): number[] {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, () => model.sample(rnd)).sort((a, b) => a - b);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test("normalQuantile matches known values", () => {
  assert.ok(Math.abs(normalQuantile(0.5)) < 1e-9);
  assert.ok(Math.abs(normalQuantile(0.95) - 1.6448536) < 1e-6);
  assert.ok(Math.abs(normalQuantile(0.01) + 2.3263479) < 1e-6);
});

test("a mean alone gives a constant latency", () => {
  const m = latencyModel({ meanMs: 20 });
  assert.equal(m.sigma, 0);
  assert.deepEqual(draw(m, 5, 1), [20, 20, 20, 20, 20]);
});

test("mean and p95 fix the lognormal exactly, and samples follow it", () => {
  const m = latencyModel({ meanMs: 20, p95Ms: 40 });
  assert.ok(Math.abs(m.quantile(0.95) - 40) < 1e-6);
  assert.ok(Math.abs(Math.exp(m.mu + (m.sigma * m.sigma) / 2) - 20) < 1e-9);
  const xs = draw(m, 20_000, 42);
  assert.ok(Math.abs(mean(xs) / 20 - 1) < 0.03, `sample mean ${mean(xs)}`);
  assert.ok(Math.abs(xs[Math.floor(0.95 * xs.length)]! / 40 - 1) < 0.04, `sample p95 ${xs[19_000]}`);
  assert.ok(xs[0]! > 0);
});

test("mean and jitter (standard deviation) fix the lognormal", () => {
  const m = latencyModel({ meanMs: 10, jitterMs: 5 });
  const xs = draw(m, 20_000, 7);
  const mu = mean(xs);
  const sd = Math.sqrt(mean(xs.map((x) => (x - mu) ** 2)));
  assert.ok(Math.abs(mu / 10 - 1) < 0.03, `mean ${mu}`);
  assert.ok(Math.abs(sd / 5 - 1) < 0.06, `sd ${sd}`);
});

test("impossible latency specs are rejected with the flag named", () => {
  assert.throws(() => latencyModel({ meanMs: 10, p95Ms: 5 }), /latency-p95: must be ≥ the mean/);
  assert.throws(
    () => latencyModel({ meanMs: 10, p95Ms: 10 * MAX_P95_OVER_MEAN + 1 }),
    /latency-p95: at most 3.868/,
  );
  assert.throws(() => latencyModel({ meanMs: 10, p95Ms: 20, jitterMs: 1 }), /give only one/);
  assert.throws(() => latencyModel({ meanMs: -1 }), /latency:/);
  assert.throws(() => latencyModel({ meanMs: 0, jitterMs: 3 }), /latency-jitter/);
  assert.doesNotThrow(() => latencyModel({ meanMs: 10, p95Ms: 10 * MAX_P95_OVER_MEAN }));
});

test("seeded streams are reproducible and independent", () => {
  const a = mulberry32(123);
  const b = mulberry32(123);
  const xs = Array.from({ length: 10 }, () => a());
  assert.deepEqual(
    xs,
    Array.from({ length: 10 }, () => b()),
  );
  for (const x of xs) assert.ok(x >= 0 && x < 1);
  assert.notEqual(deriveSeed(5, 0), deriveSeed(5, 1));
  assert.notEqual(deriveSeed(5, 0), deriveSeed(6, 0));
});
