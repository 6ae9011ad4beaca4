// A/B with a reward of known shape under criteria.strength: the winner is the satisfied version
// whose posterior probability of being best is >= 0.99; without a known shape, today's rule.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { analyze } from "../../../src/analytics/index.ts";
import type { AggregatedMetricsData, Experiment, Metric } from "../../../src/api/types.ts";
import { decide } from "../../../src/engine/decision.ts";
import { abFixture, metricFixture, metricInfo } from "../../support/experiments.ts";

const metric = (name: string, annotations?: Record<string, string>): Metric =>
  metricFixture(
    `ns/${name}`,
    { provider: "prometheus", sampleSize: "ns/users" },
    annotations ? { annotations } : {},
  );

function abExperiment(shaped: boolean): Experiment {
  return abFixture("ns/conversion", {
    name: "ab",
    namespace: "ns",
    deploymentPattern: "FixedSplit",
    criteria: { strength: { confidence: 0.95 } },
    versions: ["a", "b"],
    status: {
      startTime: "2026-01-01T00:00:00Z",
      metrics: [
        metricInfo(metric("conversion", shaped ? { "iter8.tools/shape": "ratio" } : undefined)),
        metricInfo(metric("users")),
      ],
    },
  });
}

function data(a: number, b: number, n: number): AggregatedMetricsData {
  return {
    "ns/conversion": { data: { a: { value: a, sampleSize: n }, b: { value: b, sampleSize: n } } },
    "ns/users": { data: { a: { value: n }, b: { value: n } } },
  };
}

function winnerOf(exp: Experiment, metrics: AggregatedMetricsData) {
  const now = new Date("2026-01-01T00:01:00Z");
  const analysis = analyze(exp, metrics, now);
  return decide({ exp, analysis, metrics, details: {}, iteration: 1, planned: 10, now }).analysis
    .winnerAssessment?.data;
}

describe("A/B winner with criteria.strength", () => {
  it("names a winner only when its posterior probability of being best is >= 0.99", () => {
    assert.deepEqual(winnerOf(abExperiment(true), data(0.05, 0.08, 2000)), {
      winnerFound: true,
      winner: "b",
      bestVersions: ["b"],
    });
    // 5.0 % vs 5.4 % of 2,000: b is probably better, but not with 0.99.
    assert.equal(winnerOf(abExperiment(true), data(0.05, 0.054, 2000))?.winnerFound, false);
  });
  it("names no winner while another version is still inconclusive", () => {
    // b is far better on the reward, but with 30 users its error rate cannot be told from the limit
    // yet: a, satisfied, must not win for having collected its evidence first.
    const exp = abExperiment(true);
    exp.spec.criteria = {
      ...exp.spec.criteria,
      objectives: [{ metric: "ns/conversion", lowerLimit: "0.01" }],
    };
    const metrics: AggregatedMetricsData = {
      "ns/conversion": { data: { a: { value: 0.05, sampleSize: 5000 }, b: { value: 0.08, sampleSize: 30 } } },
      "ns/users": { data: { a: { value: 5000 }, b: { value: 30 } } },
    };
    assert.equal(winnerOf(exp, metrics)?.winnerFound, false);
  });
  it("falls back to the best value when the reward has no known shape", () => {
    assert.equal(winnerOf(abExperiment(false), data(0.05, 0.054, 2000))?.winner, "b");
  });
});
