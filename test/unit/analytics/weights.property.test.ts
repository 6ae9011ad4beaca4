// Properties of the weight recommender over random experiments, winners and observed weights.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { recommendWeights } from "../../../src/analytics/index.ts";
import type { VersionWeight, WinnerAssessmentData } from "../../../src/api/types.ts";
import { experiment } from "./fixtures.ts";

const RUNS = Number(process.env.RUNS ?? 400);

interface Setup {
  names: string[];
  maxCandidateWeight: number;
  maxCandidateWeightIncrement: number;
}

const setupArb: fc.Arbitrary<Setup> = fc.record({
  names: fc
    .integer({ min: 1, max: 8 })
    .map((n) => Array.from({ length: n }, (_, i) => (i === 0 ? "baseline" : `c${i}`))),
  maxCandidateWeight: fc.integer({ min: 0, max: 100 }),
  maxCandidateWeightIncrement: fc.integer({ min: 0, max: 100 }),
});

/** Any winner assessment the winner step can produce for these versions (plus stray names). */
function winnerArb(names: string[]): fc.Arbitrary<WinnerAssessmentData> {
  const unique = fc.constantFrom(...names).map((v) => ({ winnerFound: true, winner: v, bestVersions: [v] }));
  const none = fc.constant<WinnerAssessmentData>({ winnerFound: false, bestVersions: [] });
  const stray = fc.constant<WinnerAssessmentData>({ winnerFound: false, bestVersions: ["not-a-version"] });
  if (names.length < 2) return fc.oneof(unique, none, stray);
  const tie = fc
    .subarray(names, { minLength: 2 })
    .map((best) => ({ winnerFound: false, bestVersions: best }));
  return fc.oneof(unique, tie, none, stray);
}

/** Observed weights: any subset of the versions (plus a stray name), in any order, any 0..100 values. */
function currentArb(names: string[]): fc.Arbitrary<VersionWeight[] | undefined> {
  const entries = fc
    .shuffledSubarray([...names, "stray"])
    .chain((picked) =>
      fc.tuple(...picked.map((name) => fc.integer({ min: 0, max: 100 }).map((value) => ({ name, value })))),
    );
  return fc.option(entries, { nil: undefined });
}

const caseArb = setupArb.chain((setup) =>
  fc.record({ setup: fc.constant(setup), winner: winnerArb(setup.names), current: currentArb(setup.names) }),
);

function expOf(setup: Setup, pattern: "Canary" | "A/B/N" = "A/B/N") {
  return experiment({
    pattern,
    versions: setup.names,
    maxCandidateWeight: setup.maxCandidateWeight,
    maxCandidateWeightIncrement: setup.maxCandidateWeightIncrement,
  });
}

function oldWeight(current: VersionWeight[] | undefined, name: string, isBaseline: boolean): number {
  if (!current || current.length === 0) return isBaseline ? 100 : 0;
  return current.find((w) => w.name === name)?.value ?? 0;
}

describe("recommendWeights properties", () => {
  test("integers in 0..100 summing to exactly 100, one per version in spec order", () => {
    fc.assert(
      fc.property(caseArb, ({ setup, winner, current }) => {
        const { data } = recommendWeights(expOf(setup), winner, current);
        assert.deepEqual(
          data.map((w) => w.name),
          setup.names,
        );
        for (const w of data)
          assert.ok(Number.isInteger(w.value) && w.value >= 0 && w.value <= 100, `bad ${w.value}`);
        assert.equal(
          data.reduce((a, w) => a + w.value, 0),
          100,
        );
      }),
      { numRuns: RUNS },
    );
  });

  test("every candidate stays within maxCandidateWeight and within old + maxCandidateWeightIncrement", () => {
    fc.assert(
      fc.property(caseArb, ({ setup, winner, current }) => {
        const { data } = recommendWeights(expOf(setup), winner, current);
        for (const w of data.slice(1)) {
          assert.ok(
            w.value <= setup.maxCandidateWeight,
            `${w.name}=${w.value} > max ${setup.maxCandidateWeight}`,
          );
          const old = oldWeight(current, w.name, false);
          assert.ok(w.value <= old + setup.maxCandidateWeightIncrement, `${w.name}: ${old} -> ${w.value}`);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test("deterministic: same input, same output; the order of the observed weights does not matter", () => {
    fc.assert(
      fc.property(caseArb, fc.integer(), ({ setup, winner, current }, seed) => {
        const exp = expOf(setup);
        const first = recommendWeights(exp, winner, current);
        assert.deepEqual(recommendWeights(exp, winner, current), first);
        if (current) {
          // Rotate the list: alignment is by name, never by position.
          const k = Math.abs(seed) % Math.max(1, current.length);
          const rotated = [...current.slice(k), ...current.slice(0, k)];
          assert.deepEqual(recommendWeights(exp, winner, rotated).data, first.data);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test("iterated: a candidate that keeps winning never loses weight and gains at most the increment", () => {
    const sequenceArb = setupArb
      .filter((s) => s.names.length >= 2)
      .chain((setup) =>
        fc.record({
          setup: fc.constant(setup),
          winners: fc.array(winnerArb(setup.names), { minLength: 1, maxLength: 60 }),
        }),
      );
    fc.assert(
      fc.property(sequenceArb, ({ setup, winners }) => {
        const exp = expOf(setup);
        let current: VersionWeight[] | undefined;
        for (const [t, winner] of winners.entries()) {
          const next = recommendWeights(exp, winner, current).data;
          const w = winner.winnerFound ? winner.winner : undefined;
          if (w !== undefined && w !== setup.names[0]) {
            const before = oldWeight(current, w, false);
            const after = next.find((x) => x.name === w)!.value;
            if (before <= setup.maxCandidateWeight) {
              assert.ok(after >= before, `step ${t}: winner ${w} went ${before} -> ${after}`);
            }
            assert.ok(
              after - before <= setup.maxCandidateWeightIncrement,
              `step ${t}: ${w} ${before} -> ${after}`,
            );
          }
          current = next;
        }
      }),
      { numRuns: RUNS },
    );
  });

  test("iterated Canary from [100,0]: a steady winner climbs by the increment to min(95, maxCandidateWeight)", () => {
    fc.assert(
      fc.property(setupArb, fc.integer({ min: 1, max: 40 }), (s, steps) => {
        const setup = { ...s, names: ["baseline", "c1"] };
        const exp = expOf(setup, "Canary");
        const winner: WinnerAssessmentData = { winnerFound: true, winner: "c1", bestVersions: ["c1"] };
        let current: VersionWeight[] | undefined;
        for (let t = 1; t <= steps; t++) {
          current = recommendWeights(exp, winner, current).data;
          const expected = Math.min(95, setup.maxCandidateWeight, t * setup.maxCandidateWeightIncrement);
          assert.deepEqual(current, [
            { name: "baseline", value: 100 - expected },
            { name: "c1", value: expected },
          ]);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
