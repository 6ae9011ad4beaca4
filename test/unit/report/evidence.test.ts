import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Experiment, ObjectiveEvidence } from "../../../src/api/types.ts";
import { describeEvidence, evidenceLine } from "../../../src/report/evidence.ts";
import { analysisPiece, experimentFixture, metricFixture, metricInfo } from "../../support/experiments.ts";

const exp = (evidence?: Record<string, ObjectiveEvidence[]>, strength?: unknown): Experiment =>
  experimentFixture({
    target: "t",
    versions: [],
    criteria: strength === undefined ? {} : { strength },
    status: {
      metrics: [
        metricInfo(
          metricFixture("95th-percentile-tail-latency", { units: "milliseconds" }),
          "iter8-knative/95th-percentile-tail-latency",
        ),
      ],
      ...(evidence
        ? {
            analysis: {
              evidence: analysisPiece(evidence, {
                provenance: "iter8 analytics",
                timestamp: "2026-01-01T00:00:00Z",
                message: "Error: ; Warning: promotion of v2 is not supported at 95 %: x inconclusive; Info: ",
              }),
            },
          }
        : {}),
    },
  });

const ratio: ObjectiveEvidence = {
  objective: 2,
  metric: "iter8-knative/error-rate",
  value: 0.0041,
  sampleSize: 1204,
  limit: 0.01,
  direction: "upper",
  shape: "ratio",
  confidence: 0.95,
  lower: 0.001,
  upper: 0.0093,
  method: "Clopper-Pearson",
  outcome: "satisfied",
};

describe("evidence lines", () => {
  it("prints a ratio in percent with its bound, limit and sample size", () => {
    assert.equal(
      evidenceLine(exp(), ratio),
      "error-rate 0.41 %, 95 % bound 0.93 % <= 1 %, n = 1,204: satisfied",
    );
  });
  it("prints a percentile in its units, and the reason when inconclusive", () => {
    const p95: ObjectiveEvidence = {
      ...ratio,
      metric: "iter8-knative/95th-percentile-tail-latency",
      shape: "percentile",
      value: 62,
      upper: 104,
      limit: 100,
      outcome: "inconclusive",
      reason: "3 of 80 above 100",
    };
    assert.equal(
      evidenceLine(exp(), p95),
      "95th-percentile-tail-latency 62 ms, 95 % bound 104 ms <= 100 ms, n = 1,204: inconclusive (3 of 80 above 100)",
    );
  });
  it("says when there is no interval", () => {
    const none: ObjectiveEvidence = {
      objective: 0,
      metric: "ns/custom",
      value: 3,
      limit: 5,
      direction: "upper",
      shape: "none",
      outcome: "satisfied",
      reason: "no interval: the metric has no known statistical shape",
    };
    assert.equal(
      evidenceLine(exp(), none),
      "custom 3, limit <= 5: satisfied (no interval: the metric has no known statistical shape)",
    );
  });
  it("prints nothing for a status without evidence, and the section with its warnings otherwise", () => {
    assert.equal(describeEvidence(exp()), "");
    assert.equal(
      describeEvidence(exp({ v2: [ratio] })),
      "\nEvidence (Iter8 v2's rule decides; shown at 95 %):\n  v2:\n    error-rate 0.41 %, 95 % bound 0.93 % <= 1 %, n = 1,204: satisfied\nWarning: promotion of v2 is not supported at 95 %: x inconclusive\n",
    );
  });
});
