// Every bound against published values, and the confidence sequences' level under repeated looks.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { quantileBounds, requestsToPass } from "../../../src/analytics/evidence.ts";
import {
  binomialSequence,
  clopperPearson,
  meanInterval,
  meanSequence,
  probabilityBest,
  proportionPosterior,
  showsAbove,
  showsBelow,
} from "../../../src/analytics/stats/index.ts";
import { mulberry32, standardNormal } from "../../../src/lib/random.ts";

const near = (actual: number, expected: number, tol: number) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} is not within ${tol} of ${expected}`);

describe("Clopper-Pearson", () => {
  // Two-sided 95 % exact intervals (each side 97.5 %), as tabulated e.g. in Brown, Cai & DasGupta
  // (2001, Statistical Science) and by every exact binomial calculator.
  it("matches the published exact intervals", () => {
    const cases: Array<[number, number, number, number]> = [
      [1, 10, 0.00253, 0.44502],
      [0, 10, 0, 0.3085],
      [5, 20, 0.08657, 0.49105],
      [50, 100, 0.39832, 0.60168],
      [10, 10, 0.6915, 1],
    ];
    for (const [k, n, lo, hi] of cases) {
      const b = clopperPearson(k, n, 0.975);
      near(b.lower, lo, 5e-5);
      near(b.upper, hi, 5e-5);
    }
  });
  it("gives the rule of three for zero events: 1 - 0.05^(1/n) at 95 % one-sided", () => {
    for (const n of [10, 100, 300, 1000]) near(clopperPearson(0, n, 0.95).upper, 1 - 0.05 ** (1 / n), 1e-9);
    // About 3/L error-free requests pass a limit L: 299 for 1 %.
    assert.equal(requestsToPass(0.01, { confidence: 0.95, method: "fixed" }), 299);
  });
  it("rejects impossible counts", () => {
    assert.throws(() => clopperPearson(3, 2, 0.95), /0 <= k <= n/);
    assert.throws(() => clopperPearson(0, 2, 1), /confidence/);
  });
});

describe("order-statistic bounds on a percentile", () => {
  // Distribution-free interval for the median of n = 10 at 95 % two-sided: [X(2), X(9)], coverage
  // 1 - 2 * 11/1024 = 0.9785 (e.g. Conover, Practical Nonparametric Statistics, Table A3).
  it("gives [X(2), X(9)] for the median of 10 at 97.5 % each side", () => {
    const b = quantileBounds({ n: 10, quantile: (q) => Math.round(q * 10) }, 10, 0.5, {
      confidence: 0.975,
      method: "fixed",
    });
    assert.deepEqual(b, { lower: 2, upper: 9 });
  });
  // For the 95th percentile of n = 100: the 95 % one-sided upper bound is X(99), since
  // P(Bin(100, 0.95) <= 98) = 0.963 >= 0.95 and P(Bin(100, 0.95) <= 97) = 0.882 < 0.95.
  it("gives X(99) as the one-sided 95 % upper bound of p95 from 100 observations", () => {
    const b = quantileBounds({ n: 100, quantile: (q) => Math.round(q * 100) }, 100, 0.05, {
      confidence: 0.95,
      method: "fixed",
    });
    assert.equal(b.upper, 99);
  });
  it("tests p95 <= L as a binomial question about the count above L", () => {
    // 1 of 100 above L: the share above L is below 5 % at 95 % (CP upper 4.66 %); 2 of 100 is not.
    assert.equal(showsBelow(1, 100, 0.05, 0.95, "fixed"), true);
    assert.equal(showsBelow(2, 100, 0.05, 0.95, "fixed"), false);
    assert.equal(showsAbove(11, 100, 0.05, 0.95, "fixed"), true);
  });
});

describe("mean bounds", () => {
  it("normal interval: mean +- 1.645 sd / sqrt(n) at 95 % one-sided", () => {
    const b = meanInterval(20, 10, 100, 0.95);
    near(b.upper, 20 + 1.6449, 1e-3);
    near(b.lower, 20 - 1.6449, 1e-3);
  });
  it("the confidence sequence is wider than the one-look interval and shrinks with n", () => {
    const one = meanInterval(20, 10, 500, 0.95);
    const seq = meanSequence(20, 10, 500, 0.95);
    assert.ok(seq.upper > one.upper);
    assert.ok(meanSequence(20, 10, 5000, 0.95).upper < seq.upper);
  });
});

describe("binomial confidence sequence", () => {
  it("contains the Clopper-Pearson interval (it pays for repeated looks)", () => {
    for (const [k, n] of [
      [0, 300],
      [1, 412],
      [4, 1000],
      [30, 2000],
    ] as const) {
      const cp = clopperPearson(k, n, 0.95);
      const cs = binomialSequence(k, n, 0.95);
      assert.ok(cs.upper >= cp.upper && cs.lower <= cp.lower, `${k}/${n}`);
    }
  });
  it("agrees with the direct test at the limit", () => {
    for (const [k, n] of [
      [0, 450],
      [3, 1200],
      [9, 2360],
    ] as const) {
      const cs = binomialSequence(k, n, 0.95);
      assert.equal(cs.upper < 0.01, showsBelow(k, n, 0.01, 0.95, "sequential"));
    }
  });

  /** Runs `paths` Bernoulli(p) paths of `length`, looking after every observation; share of paths ever wrong. */
  function everWrong(
    p: number,
    seed: number,
    paths: number,
    length: number,
    side: "upper" | "lower",
  ): number {
    const random = mulberry32(seed);
    let wrong = 0;
    for (let s = 0; s < paths; s++) {
      let k = 0;
      for (let n = 1; n <= length; n++) {
        if (random() < p) k++;
        const miss =
          side === "upper"
            ? showsBelow(k, n, p, 0.95, "sequential")
            : showsAbove(k, n, p, 0.95, "sequential");
        if (miss) {
          wrong++;
          break;
        }
      }
    }
    return wrong / paths;
  }

  it("holds its level under a look after every observation (property)", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.002, max: 0.3, noNaN: true }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.constantFrom<"upper" | "lower">("upper", "lower"),
        (p, seed, side) => {
          const paths = 300;
          const rate = everWrong(p, seed, paths, 600, side);
          // Level 5 %, plus three standard errors of the estimate.
          return rate <= 0.05 + 3 * Math.sqrt((0.05 * 0.95) / paths);
        },
      ),
      { numRuns: 8 },
    );
  });

  it("the one-look interval does not (why sequences are needed)", () => {
    // The same experiment with Clopper-Pearson at every look is wrong far more often than 5 %.
    const random = mulberry32(7);
    let wrong = 0;
    const paths = 300;
    for (let s = 0; s < paths; s++) {
      let k = 0;
      for (let n = 1; n <= 600; n++) {
        if (random() < 0.05) k++;
        if (showsBelow(k, n, 0.05, 0.95, "fixed") || showsAbove(k, n, 0.05, 0.95, "fixed")) {
          wrong++;
          break;
        }
      }
    }
    assert.ok(wrong / paths > 0.15, `only ${wrong / paths}`);
  });

  it("the mean sequence holds its level under repeated looks (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), (seed) => {
        const random = mulberry32(seed);
        const paths = 200;
        let wrong = 0;
        for (let s = 0; s < paths; s++) {
          let sum = 0;
          let sumSq = 0;
          for (let n = 1; n <= 1000; n++) {
            const x = 20 * Math.exp(0.5 * standardNormal(random));
            sum += x;
            sumSq += x * x;
            if (n < 30) continue;
            const mean = sum / n;
            const sd = Math.sqrt((sumSq - n * mean * mean) / (n - 1));
            const b = meanSequence(mean, sd, n, 0.95);
            const truth = 20 * Math.exp(0.125);
            if (truth > b.upper || truth < b.lower) {
              wrong++;
              break;
            }
          }
        }
        return wrong / paths <= 0.05 + 3 * Math.sqrt((0.05 * 0.95) / paths);
      }),
      { numRuns: 4 },
    );
  });
});

describe("posterior probability of being best", () => {
  it("is symmetric for equal data and decisive for clearly different data", () => {
    const same = probabilityBest([proportionPosterior(50, 1000), proportionPosterior(50, 1000)], true);
    near(same[0]!, 0.5, 1e-6);
    const clear = probabilityBest([proportionPosterior(50, 1000), proportionPosterior(100, 1000)], true);
    assert.ok(clear[1]! > 0.999);
    const low = probabilityBest([proportionPosterior(50, 1000), proportionPosterior(100, 1000)], false);
    assert.ok(low[0]! > 0.999);
  });
});
