import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  alignWeights,
  CONFORMANCE_WEIGHTS_MESSAGE,
  mixWeights,
  recommendWeights,
  roundToHundred,
} from "../../../src/analytics/index.ts";
import type { VersionWeight, WinnerAssessmentData } from "../../../src/api/types.ts";
import { type ExperimentOptions, experiment, weightsOf } from "./fixtures.ts";

const V1 = "sample-app-v1";
const V2 = "sample-app-v2";
const TWO = [V1, V2];

const winnerIs = (v: string): WinnerAssessmentData => ({ winnerFound: true, winner: v, bestVersions: [v] });
const NO_WINNER: WinnerAssessmentData = { winnerFound: false, bestVersions: [] };

/** Runs the recommender repeatedly, feeding each recommendation back as the observed weights. */
function iterate(
  opts: ExperimentOptions,
  winners: WinnerAssessmentData[],
  start: VersionWeight[] | undefined,
): number[][] {
  const exp = experiment(opts);
  let current = start;
  const out: number[][] = [];
  for (const w of winners) {
    current = recommendWeights(exp, w, current).data;
    out.push(current.map((x) => x.value));
  }
  return out;
}

describe("recommendWeights: Iter8 v2's worked examples (defaults 100 / 10)", () => {
  test("winning candidate from [100,0]: +10 per iteration up to [5,95], then stays", () => {
    const got = iterate({ versions: TWO }, Array(12).fill(winnerIs(V2)), undefined);
    assert.deepEqual(got, [
      [90, 10],
      [80, 20],
      [70, 30],
      [60, 40],
      [50, 50],
      [40, 60],
      [30, 70],
      [20, 80],
      [10, 90],
      [5, 95],
      [5, 95],
      [5, 95],
    ]);
  });

  const toBaseline = [
    { name: "no winner", winner: NO_WINNER },
    { name: "winner without bestVersions", winner: { winnerFound: false } },
    { name: "baseline is the winner", winner: winnerIs(V1) },
  ];
  for (const c of toBaseline) {
    test(`${c.name}: [95,5]`, () => {
      const exp = experiment({ versions: TWO });
      for (const start of [
        undefined,
        weightsOf(TWO, [100, 0]),
        weightsOf(TWO, [50, 50]),
        weightsOf(TWO, [5, 95]),
      ]) {
        assert.deepEqual(recommendWeights(exp, c.winner, start).data, weightsOf(TWO, [95, 5]));
      }
    });
  }

  test("A/B/N, three versions, bestVersions [v1, v2] from [100,0,0]: [80,10,10]", () => {
    const names = ["v0", "v1", "v2"];
    const exp = experiment({ pattern: "A/B/N", versions: names });
    const best: WinnerAssessmentData = { winnerFound: false, bestVersions: ["v1", "v2"] };
    assert.deepEqual(
      mixWeights(names, best.bestVersions).map((m) => Math.round(m * 100) / 100),
      [3.33, 48.33, 48.33],
    );
    assert.deepEqual(
      recommendWeights(exp, best, weightsOf(names, [100, 0, 0])).data,
      weightsOf(names, [80, 10, 10]),
    );
    assert.deepEqual(recommendWeights(exp, best, undefined).data, weightsOf(names, [80, 10, 10]));
  });

  test("maxCandidateWeight 75, increment 20: [80,20] → [60,40] → [40,60] → [25,75], then stays", () => {
    const got = iterate(
      { versions: TWO, maxCandidateWeight: 75, maxCandidateWeightIncrement: 20 },
      Array(6).fill(winnerIs(V2)),
      weightsOf(TWO, [100, 0]),
    );
    assert.deepEqual(got, [
      [80, 20],
      [60, 40],
      [40, 60],
      [25, 75],
      [25, 75],
      [25, 75],
    ]);
  });
});

describe("recommendWeights: the worked trace", () => {
  const opts: ExperimentOptions = { versions: TWO };
  test("iteration 1 baseline wins [95,5]; 2 candidate wins [85,15]; 3 [75,25]", () => {
    const got = iterate(opts, [winnerIs(V1), winnerIs(V2), winnerIs(V2)], weightsOf(TWO, [100, 0]));
    assert.deepEqual(got, [
      [95, 5],
      [85, 15],
      [75, 25],
    ]);
  });
  test("iteration 3 failure: the candidate drops to 5 at once (decreases are not rate-limited)", () => {
    const got = iterate(opts, [winnerIs(V1), winnerIs(V2), winnerIs(V1)], weightsOf(TWO, [100, 0]));
    assert.deepEqual(got, [
      [95, 5],
      [85, 15],
      [95, 5],
    ]);
  });
});

describe("recommendWeights: old weights are aligned by version name", () => {
  const exp = experiment({ versions: TWO });
  const cases = [
    {
      name: "same order as the spec",
      current: [
        { name: V1, value: 90 },
        { name: V2, value: 10 },
      ],
      want: [80, 20],
    },
    // A baseline without weightObjRef is appended last by the observer.
    {
      name: "baseline listed last",
      current: [
        { name: V2, value: 10 },
        { name: V1, value: 90 },
      ],
      want: [80, 20],
    },
    { name: "candidate missing: counts as 0", current: [{ name: V1, value: 100 }], want: [90, 10] },
    {
      name: "baseline missing: candidate's own value still used",
      current: [{ name: V2, value: 30 }],
      want: [60, 40],
    },
    {
      name: "unknown names are ignored",
      current: [
        { name: "ghost", value: 70 },
        { name: V2, value: 30 },
      ],
      want: [60, 40],
    },
    { name: "empty list: as if the baseline had everything", current: [], want: [90, 10] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(recommendWeights(exp, winnerIs(V2), c.current).data, weightsOf(TWO, c.want));
    });
  }

  test("three versions listed in another order", () => {
    const names = ["a", "b", "c"];
    const e = experiment({ pattern: "A/B/N", versions: names });
    const current = [
      { name: "c", value: 40 },
      { name: "a", value: 50 },
      { name: "b", value: 10 },
    ];
    // c is the winner: M = [3.33, 3.33, 93.33]; c capped at 40 + 10 = 50; b at 3.33; a gets the rest.
    assert.deepEqual(recommendWeights(e, winnerIs("c"), current).data, weightsOf(names, [47, 3, 50]));
    assert.deepEqual(alignWeights(names, current), [50, 10, 40]);
  });
});

describe("recommendWeights: caps and patterns", () => {
  test("a candidate above maxCandidateWeight is brought down to it", () => {
    const exp = experiment({ versions: TWO, maxCandidateWeight: 50 });
    assert.deepEqual(
      recommendWeights(exp, winnerIs(V2), weightsOf(TWO, [20, 80])).data,
      weightsOf(TWO, [50, 50]),
    );
  });
  test("maxCandidateWeight 0: candidates never get traffic", () => {
    const exp = experiment({ versions: TWO, maxCandidateWeight: 0 });
    assert.deepEqual(recommendWeights(exp, winnerIs(V2), undefined).data, weightsOf(TWO, [100, 0]));
  });
  test("increment 0: a candidate cannot grow", () => {
    const exp = experiment({ versions: TWO, maxCandidateWeightIncrement: 0 });
    assert.deepEqual(
      recommendWeights(exp, winnerIs(V2), weightsOf(TWO, [70, 30])).data,
      weightsOf(TWO, [70, 30]),
    );
  });
  test("each candidate is capped on its own; the excess goes to the baseline", () => {
    const names = ["b", "c1", "c2", "c3"];
    const exp = experiment({ pattern: "A/B/N", versions: names, maxCandidateWeightIncrement: 20 });
    // M = [2.5, 2.5, 47.5, 47.5]; c2 capped at 0+20; c3 at 40+20 but M is 47.5; baseline 30.
    // c1 and c3 tie on remainder .5 for the one spare unit: the earlier (c1) gets it.
    const got = recommendWeights(
      exp,
      { winnerFound: false, bestVersions: ["c2", "c3"] },
      weightsOf(names, [60, 0, 0, 40]),
    );
    assert.deepEqual(got.data, weightsOf(names, [30, 3, 20, 47]));
  });
  test("bestVersions naming no version of the experiment: the baseline is exploited", () => {
    const exp = experiment({ versions: TWO });
    assert.deepEqual(
      recommendWeights(exp, { winnerFound: false, bestVersions: ["ghost"] }, undefined).data,
      weightsOf(TWO, [95, 5]),
    );
  });
  test("Conformance: no weights", () => {
    const exp = experiment({ pattern: "Conformance", versions: ["only"] });
    assert.deepEqual(recommendWeights(exp, winnerIs("only"), undefined), {
      data: [],
      message: CONFORMANCE_WEIGHTS_MESSAGE,
    });
  });
  test("FixedSplit and BlueGreen are computed like Progressive", () => {
    for (const deployment of ["FixedSplit", "BlueGreen"] as const) {
      const exp = experiment({ versions: TWO, deployment });
      assert.deepEqual(recommendWeights(exp, winnerIs(V2), undefined).data, weightsOf(TWO, [90, 10]));
    }
  });
  test("message", () => {
    assert.equal(
      recommendWeights(experiment(), NO_WINNER, undefined).message,
      "Error: ; Warning: ; Info: all ok",
    );
  });
  test("no versionInfo: no weights, with an error", () => {
    const exp = experiment();
    delete exp.spec.versionInfo;
    const got = recommendWeights(exp, NO_WINNER, undefined);
    assert.deepEqual(got.data, []);
    assert.match(got.message, /^Error: versionInfo is not set/);
  });
});

describe("roundToHundred: largest remainder, ties to the earlier version", () => {
  const cases = [
    { in: [100 / 3, 100 / 3, 100 / 3], out: [34, 33, 33] },
    { in: [93 + 1 / 3, 10 / 3, 10 / 3], out: [94, 3, 3] },
    { in: [10 / 3, 48 + 1 / 3, 48 + 1 / 3], out: [4, 48, 48] },
    { in: [10.4, 10.6, 79], out: [10, 11, 79] },
    { in: [0.5, 0.5, 99], out: [1, 0, 99] },
    { in: [99, 0.5, 0.5], out: [99, 1, 0] },
    { in: [0, 0], out: [50, 50] },
    { in: [1, 1, 1], out: [34, 33, 33] },
    { in: [2, 2], out: [50, 50] },
    { in: [95.00000000000001, 4.999999999999999], out: [95, 5] },
    { in: [-3, 50, Number.NaN], out: [0, 100, 0] },
    { in: [], out: [] },
    { in: [12.5, 12.5, 12.5, 12.5, 12.5, 12.5, 12.5, 12.5], out: [13, 13, 13, 13, 12, 12, 12, 12] },
  ];
  for (const c of cases) test(JSON.stringify(c.in), () => assert.deepEqual(roundToHundred(c.in), c.out));

  test("no winner among 3 versions: [94,3,3] (baseline takes the tied unit)", () => {
    const names = ["a", "b", "c"];
    const exp = experiment({ pattern: "A/B/N", versions: names });
    assert.deepEqual(recommendWeights(exp, NO_WINNER, undefined).data, weightsOf(names, [94, 3, 3]));
  });
});
