// The facts every closing wording is built from: failure, winner, promotion, rollback and the
// weights left, each read one way from the status.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Experiment, ExperimentStatus } from "../../../src/api/types.ts";
import { endingOf, failureText } from "../../../src/report/ending.ts";

function experiment(status: Record<string, unknown>): Experiment {
  return {
    apiVersion: "iter8.tools/v2alpha2",
    kind: "Experiment",
    metadata: { name: "e", namespace: "default" },
    spec: {
      target: "t",
      strategy: { testingPattern: "Canary" },
      versionInfo: { baseline: { name: "v1" }, candidates: [{ name: "v2" }] },
    },
    status: { stage: "Completed", ...status } as ExperimentStatus,
  };
}

const COMPLETED = [{ type: "Completed", status: "True" }];
const FINISHED = [
  { id: "finish", action: "finish", kind: "finish", state: "Succeeded", attempts: 1, startedAt: "" },
];

describe("failureText", () => {
  it("joins reason and message, naming a condition without a reason as asked", () => {
    const c = { type: "Failed" as const, status: "True" as const };
    assert.equal(
      failureText({ ...c, reason: "HandlerFailed", message: "Finish actions failed" }),
      "HandlerFailed: Finish actions failed",
    );
    assert.equal(failureText({ ...c, reason: "HandlerFailed" }), "HandlerFailed");
    assert.equal(failureText({ ...c, message: "boom" }), "boom");
    assert.equal(failureText({ ...c, message: "boom" }, "Failed"), "Failed: boom");
    assert.equal(failureText(c, "Failed"), "Failed");
    assert.equal(failureText(c), "");
  });
});

describe("endingOf", () => {
  it("a winner promoted by the finish action, with the weights as text", () => {
    const e = endingOf(
      experiment({
        conditions: COMPLETED,
        versionRecommendedForPromotion: "v2",
        currentWeightDistribution: [
          { name: "v1", value: 0 },
          { name: "v2", value: 100 },
        ],
        analysis: {
          winnerAssessment: { provenance: "", timestamp: "", data: { winnerFound: true, winner: "v2" } },
        },
        actions: FINISHED,
      }),
    );
    assert.equal(e.completed, true);
    assert.equal(e.failed, undefined);
    assert.equal(e.winner, "v2");
    assert.equal(e.promoted, "v2");
    assert.equal(e.rolledBack, false);
    assert.equal(e.split, "v1=0 v2=100");
  });

  it("nothing is promoted before the end, nor without a finish action that succeeded", () => {
    const running = endingOf(
      experiment({ stage: "Running", versionRecommendedForPromotion: "v2", actions: FINISHED }),
    );
    assert.equal(running.completed, false);
    assert.equal(running.promoted, undefined);
    const noFinish = endingOf(experiment({ conditions: COMPLETED, versionRecommendedForPromotion: "v2" }));
    assert.equal(noFinish.promoted, undefined);
    assert.equal(noFinish.split, "");
  });

  it("a winner is named only when one was found", () => {
    const e = endingOf(
      experiment({
        conditions: COMPLETED,
        analysis: {
          winnerAssessment: { provenance: "", timestamp: "", data: { winnerFound: false, winner: "v2" } },
        },
      }),
    );
    assert.equal(e.winner, undefined);
  });

  it("a rollback, from the last iteration's history or from the engine's message", () => {
    const fromHistory = endingOf(
      experiment({
        conditions: COMPLETED,
        history: {
          versions: ["v1", "v2"],
          metrics: [],
          recent: [
            { iteration: 2, time: "", values: {}, reason: "rollback: objective m not satisfied by v2" },
          ],
        },
      }),
    );
    assert.equal(fromHistory.rolledBack, true);
    assert.equal(fromHistory.rollbackReason, "objective m not satisfied by v2");
    const fromMessage = endingOf(
      experiment({ conditions: COMPLETED, message: "ExperimentCompleted: Experiment rolled back" }),
    );
    assert.equal(fromMessage.rolledBack, true);
    assert.equal(fromMessage.rollbackReason, undefined);
  });

  it("the Failed condition only when it is True", () => {
    const failed = { type: "Failed", status: "True", reason: "HandlerFailed" };
    assert.deepEqual(endingOf(experiment({ conditions: [...COMPLETED, failed] })).failed, failed);
    const notFailed = { type: "Failed", status: "False" };
    assert.equal(endingOf(experiment({ conditions: [...COMPLETED, notFailed] })).failed, undefined);
  });
});
