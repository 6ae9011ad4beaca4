import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assessVersions, assessWinner } from "../../../src/analytics/index.ts";
import type {
  AggregatedMetricsData,
  VersionAssessmentsData,
  WinnerAssessmentData,
} from "../../../src/api/types.ts";
import { experiment, LATENCY, metricsOf, USER_ENGAGEMENT } from "./fixtures.ts";

describe("assessWinner: Canary", () => {
  const exp = experiment({
    versions: ["base", "cand", "other"],
    objectives: [{ metric: LATENCY, upperLimit: 50 }],
  });
  const cases: {
    name: string;
    data: VersionAssessmentsData;
    winner: WinnerAssessmentData;
    message: string;
  }[] = [
    {
      name: "candidate feasible wins",
      data: { base: [true], cand: [true], other: [false] },
      winner: { winnerFound: true, winner: "cand", bestVersions: ["cand"] },
      message: "Error: ; Warning: ; Info: candidate satisfies all objectives",
    },
    {
      name: "candidate infeasible, baseline feasible: baseline wins",
      data: { base: [true], cand: [false], other: [true] },
      winner: { winnerFound: true, winner: "base", bestVersions: ["base"] },
      message: "Error: ; Warning: ; Info: baseline satisfies all objectives; candidate does not",
    },
    {
      name: "only candidates[0] counts: a feasible second candidate never wins",
      data: { base: [false], cand: [false], other: [true] },
      winner: { winnerFound: false, bestVersions: [] },
      message: "Error: ; Warning: ; Info: no version satisfies all objectives",
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(assessWinner(exp, c.data, {}), { data: c.winner, message: c.message });
    });
  }

  test("no objectives: the candidate wins at once", () => {
    assert.deepEqual(assessWinner(experiment(), {}, {}).data, {
      winnerFound: true,
      winner: "sample-app-v2",
      bestVersions: ["sample-app-v2"],
    });
  });

  test("a candidate without values never wins (the worked trace, iteration 1)", () => {
    const e = experiment({ objectives: [{ metric: LATENCY, upperLimit: 50 }] });
    const metrics = metricsOf({ [LATENCY]: { "sample-app-v1": 12, "sample-app-v2": undefined } });
    const result = assessWinner(e, assessVersions(e, metrics).data, metrics);
    assert.deepEqual(result.data, {
      winnerFound: true,
      winner: "sample-app-v1",
      bestVersions: ["sample-app-v1"],
    });
  });
});

describe("assessWinner: Conformance", () => {
  const exp = experiment({ pattern: "Conformance", versions: ["only"], objectives: [{ metric: LATENCY }] });
  test("baseline feasible wins", () => {
    assert.deepEqual(assessWinner(exp, { only: [true] }, {}), {
      data: { winnerFound: true, winner: "only", bestVersions: ["only"] },
      message: "Error: ; Warning: ; Info: baseline satisfies all objectives",
    });
  });
  test("baseline infeasible: no winner", () => {
    const r = assessWinner(exp, { only: [false] }, {});
    assert.deepEqual(r.data, { winnerFound: false, bestVersions: [] });
    assert.equal(r.message, "Error: ; Warning: ; Info: baseline does not satisfy all objectives");
  });
  test("v2alpha1 Conformance never has a winner, even with a feasible baseline", () => {
    const r = assessWinner(exp, { only: [true] }, {}, { sourceVersion: "v2alpha1" });
    assert.deepEqual(r.data, { winnerFound: false, bestVersions: [] });
    assert.equal(r.message, "Error: conformance tests cannot have winner assessments; Warning: ; Info: ");
  });
  test("v2alpha2 explicitly: winner as usual", () => {
    assert.equal(assessWinner(exp, { only: [true] }, {}, { sourceVersion: "v2alpha2" }).data.winner, "only");
  });
});

describe("assessWinner: A/B and A/B/N by rewards[0]", () => {
  const versions = ["v1", "v2", "v3"];
  const high = experiment({
    pattern: "A/B/N",
    versions,
    rewards: [
      { metric: USER_ENGAGEMENT, preferredDirection: "High" },
      { metric: LATENCY, preferredDirection: "Low" },
    ],
  });
  const low = experiment({
    pattern: "A/B/N",
    versions,
    rewards: [{ metric: LATENCY, preferredDirection: "Low" }],
  });
  const all: VersionAssessmentsData = {};
  const cases: {
    name: string;
    exp: typeof high;
    assessments: VersionAssessmentsData;
    metrics: AggregatedMetricsData;
    winner: WinnerAssessmentData;
    message: string;
  }[] = [
    {
      name: "High: largest reward wins",
      exp: high,
      assessments: all,
      metrics: metricsOf({
        [USER_ENGAGEMENT]: { v1: 10, v2: 30, v3: 20 },
        [LATENCY]: { v1: 1, v2: 99, v3: 1 },
      }),
      winner: { winnerFound: true, winner: "v2", bestVersions: ["v2"] },
      message: "Error: ; Warning: ; Info: found unique winner",
    },
    {
      name: "Low: smallest reward wins",
      exp: low,
      assessments: all,
      metrics: metricsOf({ [LATENCY]: { v1: 10, v2: 30, v3: "5" } }),
      winner: { winnerFound: true, winner: "v3", bestVersions: ["v3"] },
      message: "Error: ; Warning: ; Info: found unique winner",
    },
    {
      name: "tie for best: no winner, both best versions in spec order",
      exp: high,
      assessments: all,
      metrics: metricsOf({ [USER_ENGAGEMENT]: { v1: 5, v2: 30, v3: "30" } }),
      winner: { winnerFound: false, bestVersions: ["v2", "v3"] },
      message:
        "Error: ; Warning: ; Info: no unique winner; two or more feasible versions with same reward value",
    },
    {
      name: "tie below the best does not matter",
      exp: high,
      assessments: all,
      metrics: metricsOf({ [USER_ENGAGEMENT]: { v1: 5, v2: 5, v3: 6 } }),
      winner: { winnerFound: true, winner: "v3", bestVersions: ["v3"] },
      message: "Error: ; Warning: ; Info: found unique winner",
    },
    {
      name: "infeasible versions are not considered",
      exp: high,
      assessments: { v1: [true], v2: [false], v3: [true] },
      metrics: metricsOf({ [USER_ENGAGEMENT]: { v1: 5, v2: 50, v3: 6 } }),
      winner: { winnerFound: true, winner: "v3", bestVersions: ["v3"] },
      message: "Error: ; Warning: ; Info: found unique winner",
    },
    {
      name: "no feasible version",
      exp: high,
      assessments: { v1: [false], v2: [false], v3: [false] },
      metrics: metricsOf({ [USER_ENGAGEMENT]: { v1: 5, v2: 50, v3: 6 } }),
      winner: { winnerFound: false, bestVersions: [] },
      message: "Error: ; Warning: ; Info: no version satisfies all objectives",
    },
    {
      name: "feasible version without a reward value is skipped with a warning",
      exp: high,
      assessments: all,
      metrics: metricsOf({ [USER_ENGAGEMENT]: { v1: 5, v3: undefined } }),
      winner: { winnerFound: true, winner: "v1", bestVersions: ["v1"] },
      message:
        "Error: ; Warning: reward value for feasible version v2 is not available, " +
        "reward value for feasible version v3 is not available; Info: found unique winner",
    },
    {
      name: "reward metric missing from aggregated metrics",
      exp: high,
      assessments: all,
      metrics: metricsOf({ [LATENCY]: { v1: 1, v2: 2, v3: 3 } }),
      winner: { winnerFound: false, bestVersions: [] },
      message: "Error: ; Warning: reward metric values are not available; Info: ",
    },
    {
      name: "no reward in the experiment",
      exp: experiment({ pattern: "A/B", versions: ["v1", "v2"] }),
      assessments: all,
      metrics: metricsOf({ [USER_ENGAGEMENT]: { v1: 1, v2: 2 } }),
      winner: { winnerFound: false, bestVersions: [] },
      message:
        "Error: ; Warning: No reward metric in experiment. Winner assessment cannot be computed for ab or abn " +
        "experiments without reward metric.; Info: ",
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(assessWinner(c.exp, c.assessments, c.metrics), { data: c.winner, message: c.message });
    });
  }

  test("A/B with two versions, Low direction, quantities compared by value not text", () => {
    const ab = experiment({
      pattern: "A/B",
      versions: ["a", "b"],
      rewards: [{ metric: LATENCY, preferredDirection: "Low" }],
    });
    const r = assessWinner(ab, {}, metricsOf({ [LATENCY]: { a: "100m", b: "0.2" } }));
    assert.deepEqual(r.data, { winnerFound: true, winner: "a", bestVersions: ["a"] });
  });
});
