import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { analyze, PROVENANCE } from "../../../src/analytics/index.ts";
import type { Experiment } from "../../../src/api/types.ts";
import { ERROR_RATE, experiment, LATENCY, metricsOf, weightsOf } from "./fixtures.ts";

const B = "sample-app-v1";
const C = "sample-app-v2";
const NOW = new Date("2021-06-01T10:00:20.000Z");

function traceExperiment(current: number[]): Experiment {
  return experiment({
    objectives: [
      { metric: LATENCY, upperLimit: 50 },
      { metric: ERROR_RATE, upperLimit: "0.01" },
    ],
    current: weightsOf([B, C], current),
  });
}

describe("analyze: the worked trace", () => {
  test("iteration 1: candidate has no values, baseline wins, [95,5]", () => {
    const metrics = metricsOf({
      [LATENCY]: { [B]: 20, [C]: undefined },
      [ERROR_RATE]: { [B]: 0, [C]: undefined },
    });
    const a = analyze(traceExperiment([100, 0]), metrics, NOW);
    assert.deepEqual(a.aggregatedMetrics, {
      provenance: PROVENANCE,
      timestamp: "2021-06-01T10:00:20.000Z",
      message: "Error: ; Warning: ; Info: ",
      data: metrics,
    });
    assert.deepEqual(a.versionAssessments?.data, { [B]: [true, true], [C]: [false, false] });
    assert.match(
      a.versionAssessments?.message ?? "",
      /Value for iter8-knative\/mean-latency metric and sample-app-v2 version is None\./,
    );
    assert.deepEqual(a.winnerAssessment?.data, { winnerFound: true, winner: B, bestVersions: [B] });
    assert.deepEqual(a.weights?.data, weightsOf([B, C], [95, 5]));
    for (const piece of [a.versionAssessments, a.winnerAssessment, a.weights]) {
      assert.equal(piece?.provenance, "iter8 analytics");
      assert.equal(piece?.timestamp, "2021-06-01T10:00:20.000Z");
    }
  });

  test("iteration 2: candidate meets both objectives from [95,5] → [85,15]", () => {
    const metrics = metricsOf({ [LATENCY]: { [B]: 20, [C]: 50 }, [ERROR_RATE]: { [B]: 0, [C]: "10m" } });
    const a = analyze(traceExperiment([95, 5]), metrics, NOW);
    assert.deepEqual(a.winnerAssessment?.data, { winnerFound: true, winner: C, bestVersions: [C] });
    assert.deepEqual(a.weights?.data, weightsOf([B, C], [85, 15]));
  });

  test("iteration 3 failure: error-rate above 0.01 drops the candidate to [95,5]", () => {
    const metrics = metricsOf({ [LATENCY]: { [B]: 20, [C]: 30 }, [ERROR_RATE]: { [B]: 0, [C]: "0.02" } });
    const a = analyze(traceExperiment([85, 15]), metrics, NOW);
    assert.deepEqual(a.versionAssessments?.data, { [B]: [true, true], [C]: [true, false] });
    assert.deepEqual(a.winnerAssessment?.data, { winnerFound: true, winner: B, bestVersions: [B] });
    assert.deepEqual(a.weights?.data, weightsOf([B, C], [95, 5]));
  });
});

describe("analyze: other inputs", () => {
  test("built-in histograms are carried over; a metrics message is stored", () => {
    const exp = traceExperiment([100, 0]);
    const hists = { provenance: "Builtin metrics collector", timestamp: "t", data: { x: 1 } };
    exp.status = { ...exp.status, analysis: { aggregatedBuiltinHists: hists } };
    const message = "Error: Error from metrics backend for metric: m and version: v; Warning: ; Info: ";
    const a = analyze(exp, {}, NOW, { aggregatedMetricsMessage: message });
    assert.equal(a.aggregatedBuiltinHists, hists);
    assert.equal(a.aggregatedMetrics?.message, message);
  });

  test("v2alpha1 Conformance: no winner and no weights", () => {
    const exp = experiment({
      pattern: "Conformance",
      versions: ["only"],
      objectives: [{ metric: LATENCY, upperLimit: 5 }],
    });
    const a = analyze(exp, metricsOf({ [LATENCY]: { only: 1 } }), NOW, { sourceVersion: "v2alpha1" });
    assert.deepEqual(a.versionAssessments?.data, { only: [true] });
    assert.deepEqual(a.winnerAssessment?.data, { winnerFound: false, bestVersions: [] });
    assert.deepEqual(a.weights?.data, []);
  });

  test("pure: the input experiment and metrics are not modified and the result repeats", () => {
    const exp = traceExperiment([95, 5]);
    const metrics = metricsOf({ [LATENCY]: { [B]: 20, [C]: 50 }, [ERROR_RATE]: { [B]: 0, [C]: 0 } });
    const before = JSON.stringify({ exp, metrics });
    const first = analyze(exp, metrics, NOW);
    assert.equal(JSON.stringify({ exp, metrics }), before);
    assert.deepEqual(analyze(exp, metrics, NOW), first);
  });
});
