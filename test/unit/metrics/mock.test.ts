import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { beta, gamma, mockValue, seededRandom } from "../../../src/metrics/mock.ts";
import { metric } from "./fixtures.ts";

const gauge = metric("user-engagement", {
  type: "Gauge",
  mock: [
    { name: "sample-app-v1", level: "15.0" },
    { name: "sample-app-v2", level: 20 },
  ],
});

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
function variance(xs: number[]): number {
  const m = mean(xs);
  return mean(xs.map((x) => (x - m) ** 2));
}

describe("mock metrics", () => {
  it("Counter is level × elapsed", () => {
    const counter = metric("request-count", { type: "Counter", mock: [{ name: "v1", level: "10m" }] });
    assert.deepEqual(mockValue(counter, "v1", 30, seededRandom(1)), { value: 0.01 * 30 });
  });

  it("Gauge is reproducible for a seed and differs across seeds", () => {
    const a = mockValue(gauge, "sample-app-v1", 10, seededRandom(17));
    const b = mockValue(gauge, "sample-app-v1", 10, seededRandom(17));
    const c = mockValue(gauge, "sample-app-v1", 10, seededRandom(18));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it("Gauge has mean `level` and a spread that shrinks as elapsed grows", () => {
    const rand = seededRandom(5);
    const sample = (elapsed: number) =>
      Array.from(
        { length: 4000 },
        () => (mockValue(gauge, "sample-app-v2", elapsed, rand) as { value: number }).value,
      );
    const early = sample(2);
    const late = sample(200);
    // Beta(a, a) has mean 1/2 and variance 1/(4(2a+1)); the value is 2·level·B.
    assert.ok(Math.abs(mean(early) - 20) < 0.6, `mean ${mean(early)}`);
    assert.ok(Math.abs(mean(late) - 20) < 0.1, `mean ${mean(late)}`);
    const expected = (a: number) => (2 * 20) ** 2 / (4 * (2 * a + 1));
    assert.ok(
      Math.abs(variance(early) / expected(2) - 1) < 0.1,
      `variance ${variance(early)} vs ${expected(2)}`,
    );
    assert.ok(
      Math.abs(variance(late) / expected(200) - 1) < 0.1,
      `variance ${variance(late)} vs ${expected(200)}`,
    );
    for (const x of [...early, ...late]) assert.ok(x > 0 && x < 40);
  });

  it("a version without a level is unavailable", () => {
    assert.deepEqual(mockValue(gauge, "sample-app-v3", 5, seededRandom(1)), {
      error: "mock has no level for version sample-app-v3",
    });
  });

  it("a malformed level is unavailable with the quantity error", () => {
    const m = metric("x", { mock: [{ name: "v1", level: "fast" }] });
    const out = mockValue(m, "v1", 5, seededRandom(1));
    assert.ok(
      "error" in out && /mock level for version v1: "fast" is not a valid quantity/.test(out.error),
      JSON.stringify(out),
    );
  });
});

describe("gamma and beta samplers", () => {
  it("Gamma(k) has mean k", () => {
    const rand = seededRandom(9);
    for (const k of [1, 3.5, 50]) {
      const xs = Array.from({ length: 5000 }, () => gamma(k, rand));
      assert.ok(Math.abs(mean(xs) / k - 1) < 0.05, `k=${k} mean ${mean(xs)}`);
    }
  });
  it("Beta(2, 6) has mean 1/4", () => {
    const rand = seededRandom(3);
    const xs = Array.from({ length: 5000 }, () => beta(2, 6, rand));
    assert.ok(Math.abs(mean(xs) - 0.25) < 0.01, `mean ${mean(xs)}`);
  });
  it("rejects shapes below 1", () => assert.throws(() => gamma(0.5, seededRandom(1)), RangeError));
});
