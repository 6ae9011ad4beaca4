// The run record's history, read from status.history: one entry per completed iteration with the
// weights it left and the version recommended after it; a rollback's iteration is not one.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Experiment, ExperimentStatus } from "../../../src/api/types.ts";
import { appendIteration } from "../../../src/engine/history.ts";
import { runHistory } from "../../../src/platforms/local/run-state.ts";

const VERSIONS = [{ name: "v1" }, { name: "v2" }];

function experiment(status: ExperimentStatus | undefined): Experiment {
  return {
    apiVersion: "iter8.tools/v2alpha2",
    kind: "Experiment",
    metadata: { name: "e", namespace: "default" },
    spec: {
      target: "t",
      strategy: { testingPattern: "Canary" },
      versionInfo: { baseline: { name: "v1" }, candidates: [{ name: "v2" }] },
    },
    ...(status ? { status } : {}),
  };
}

/** What the engine does after an iteration: weights and winner in status, then the history record. */
function iterate(st: ExperimentStatus, n: number, v2: number, winner?: string): void {
  st.currentWeightDistribution = [
    { name: "v1", value: 100 - v2 },
    { name: "v2", value: v2 },
  ];
  st.analysis = {
    winnerAssessment: {
      provenance: "",
      timestamp: "",
      data: winner ? { winnerFound: true, winner } : { winnerFound: false },
    },
  };
  st.completedIterations = n;
  appendIteration(st, n, `2026-01-01T00:00:0${n}Z`, VERSIONS, []);
}

describe("runHistory", () => {
  it("is empty before the first iteration", () => {
    assert.deepEqual(runHistory(experiment(undefined)), []);
    assert.deepEqual(runHistory(experiment({ stage: "Running" })), []);
  });

  it("lists each completed iteration's weights and the winner, else the baseline, as recommended", () => {
    const st: ExperimentStatus = { stage: "Running" };
    iterate(st, 1, 10);
    iterate(st, 2, 20, "v2");
    assert.deepEqual(runHistory(experiment(st)), [
      { iteration: 1, time: "2026-01-01T00:00:01Z", weights: { v1: 90, v2: 10 }, recommended: "v1" },
      { iteration: 2, time: "2026-01-01T00:00:02Z", weights: { v1: 80, v2: 20 }, recommended: "v2" },
    ]);
  });

  it("leaves out the iteration a rollback recorded without completing it", () => {
    const st: ExperimentStatus = { stage: "Running" };
    iterate(st, 1, 10);
    appendIteration(st, 2, "2026-01-01T00:00:02Z", VERSIONS, [], { objective: "m", version: "v2" });
    assert.deepEqual(
      runHistory(experiment(st)).map((h) => h.iteration),
      [1],
    );
  });
});
