// The reasons describe, get and the local run print, from the status alone, and the liveness of a
// local run judged from its heartbeat file.

import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Experiment } from "../../../src/api/types.ts";
import { runnerFilePath, runnerLiveness, startHeartbeat } from "../../../src/platforms/local/store.ts";
import { checkCondition, parseConditions } from "../../../src/report/assert.ts";
import { outcomeAnnotation, outcomeOf, outcomeSection } from "../../../src/report/outcome.ts";
import { experimentFixture } from "../../support/experiments.ts";

const piece = <T>(data: T, message?: string) => ({
  provenance: "t",
  timestamp: "t",
  data,
  ...(message ? { message } : {}),
});

function experiment(status: NonNullable<Experiment["status"]> & { actions?: unknown[] }): Experiment {
  return experimentFixture({
    target: "t",
    criteria: { objectives: [{ metric: "ns/latency", upperLimit: 50 }] },
    versions: ["v1", "v2"],
    status,
  });
}

const completed = { type: "Completed" as const, status: "True" as const };

describe("outcomeOf", () => {
  it("a failed finish task: the condition, the exit code and the output's tail", () => {
    const e = experiment({
      stage: "Completed",
      message: "ExperimentCompleted: Finish actions failed",
      conditions: [
        completed,
        { type: "Failed", status: "True", reason: "HandlerFailed", message: "Finish actions failed" },
      ],
      actions: [
        {
          id: "finish",
          action: "finish",
          kind: "finish",
          state: "Failed",
          attempts: 1,
          startedAt: "",
          tasks: [
            {
              task: "run",
              skipped: false,
              ok: false,
              output: "1\n2\n3\n4\n5\nrefused\n\n",
              error: "exit code 3",
              durationMs: 1,
            },
          ],
        },
      ],
    });
    assert.deepEqual(outcomeOf(e).reasons, [
      "failed: HandlerFailed: Finish actions failed",
      "finish action failed: task run: exit code 3",
      "  output (last 5 lines):",
      "    2",
      "    3",
      "    4",
      "    5",
      "    refused",
    ]);
    // get: the status message already says the condition; MESSAGE adds the task's reason.
    assert.deepEqual(outcomeAnnotation()(e), {
      message: "ExperimentCompleted: Finish actions failed; finish action failed: task run: exit code 3",
    });
  });

  it("no winner and no finish action: the routing left in place; read errors from the analysis message", () => {
    const e = experiment({
      stage: "Completed",
      completedIterations: 3,
      conditions: [completed],
      currentWeightDistribution: [
        { name: "v1", value: 95 },
        { name: "v2", value: 5 },
      ],
      analysis: {
        aggregatedMetrics: piece(
          { "ns/latency": { data: { v1: {}, v2: { value: 70 } } } },
          "Error: Error from metrics backend for metric: ns/latency and version: v1: empty result, Error from metrics backend for metric: ns/other and version: v2: jq: null; Warning: ; Info: ",
        ),
        versionAssessments: piece({ v1: [false], v2: [false] }),
        winnerAssessment: piece({ winnerFound: false }),
      },
    });
    assert.deepEqual(outcomeOf(e).reasons, [
      "no winner: v1 has no value for ns/latency; v2 does not satisfy ns/latency",
      "no finish action: traffic left at v1=95 v2=5",
      "metric ns/latency could not be read for version v1: empty result",
      "metric ns/other could not be read for version v2: jq: null",
    ]);
    assert.match(outcomeSection(e), /^\*{6} Outcome \*{6}\nno winner: /);
    assert.equal(checkCondition(e, { kind: "winnerFound" }).holds, false);
    assert.equal(checkCondition(e, { kind: "completed" }).holds, true);
    assert.deepEqual(checkCondition(e, { kind: "slos" }), {
      condition: "slos",
      holds: false,
      reason: "v1 does not satisfy ns/latency; v2 does not satisfy ns/latency",
    });
  });

  it("a successful end adds nothing (the iter8ctl text stays as it was)", () => {
    const e = experiment({
      stage: "Completed",
      conditions: [completed, { type: "Failed", status: "False" }],
      analysis: {
        versionAssessments: piece({ v1: [true], v2: [true] }),
        winnerAssessment: piece({ winnerFound: true, winner: "v2" }),
      },
    });
    assert.equal(outcomeSection(e), "");
  });

  it("an unfinished local experiment whose run is gone: interrupted, with the command to resume", () => {
    const e = experiment({ stage: "Running", completedIterations: 2 });
    const report = outcomeOf(e, { alive: false, dir: "examples/x" });
    assert.equal(report.interrupted, true);
    assert.deepEqual(report.reasons, ["interrupted: resume with `iter8 local run examples/x`"]);
    assert.deepEqual(outcomeAnnotation(() => ({ alive: false, dir: "examples/x" }))(e), {
      stage: "Interrupted",
      message: "interrupted: resume with `iter8 local run examples/x`",
    });
    assert.equal(outcomeOf(e, { alive: true }).interrupted, false);
    assert.equal(checkCondition(e, { kind: "nofailure" }, { alive: false }).holds, false);
  });
});

describe("parseConditions", () => {
  it("accepts the six conditions and names a bad one", () => {
    assert.deepEqual(parseConditions(["completed", "winner=v2", "promoted=v1", "slos"]), [
      { kind: "completed" },
      { kind: "winner", version: "v2" },
      { kind: "promoted", version: "v1" },
      { kind: "slos" },
    ]);
    assert.throws(() => parseConditions(["winner="]), /-c "winner=": unknown condition/);
    assert.throws(() => parseConditions([]), /give at least one condition/);
  });
});

describe("runnerLiveness", () => {
  const key = { namespace: "default", name: "e" };
  it("alive while the heartbeat runs, not after it stops", () => {
    const state = mkdtempSync(join(tmpdir(), "iter8-liveness-"));
    const stop = startHeartbeat(state, key, "examples/x", 60_000);
    assert.deepEqual(
      { alive: runnerLiveness(state, key).alive, dir: runnerLiveness(state, key).dir },
      { alive: true, dir: "examples/x" },
    );
    stop();
    assert.equal(runnerLiveness(state, key).alive, false);
  });
  it("a beat from a dead process or a stale beat is not alive", () => {
    const state = mkdtempSync(join(tmpdir(), "iter8-liveness-"));
    const stop = startHeartbeat(state, key, "d", 1000);
    stop();
    const beat = (pid: number, beatAt: string, host = hostname()) =>
      writeFileSync(
        runnerFilePath(state, key),
        JSON.stringify({ pid, host, beatAt, intervalMs: 1000, dir: "d" }),
      );
    const now = Date.parse("2021-06-01T00:00:10Z");
    beat(process.pid, "2021-06-01T00:00:09Z");
    assert.equal(runnerLiveness(state, key, now).alive, true);
    beat(process.pid, "2021-06-01T00:00:00Z");
    assert.equal(runnerLiveness(state, key, now).alive, false, "stale");
    beat(2 ** 22 + 12345, "2021-06-01T00:00:09Z");
    assert.equal(runnerLiveness(state, key, now).alive, false, "no such pid");
    beat(2 ** 22 + 12345, "2021-06-01T00:00:09Z", "another-host");
    assert.equal(runnerLiveness(state, key, now).alive, true, "another host: the beat alone decides");
  });
});
