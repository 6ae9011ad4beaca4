// The run's progress output: a status line redrawn in place on a terminal and rate-limited plain
// lines elsewhere, warnings printed once each as sentences, JSON log lines on request, and the
// closing line's one wording.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Experiment } from "../../../src/api/types.ts";
import { appendIteration } from "../../../src/engine/history.ts";
import { endLine, PLAIN_EVERY_MS, RunProgress, TerminalOutput } from "../../../src/report/progress.ts";
import { experimentFixture, versionWeights } from "../../support/experiments.ts";

function stream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, isTTY, write: (s: string) => chunks.push(s), text: () => chunks.join("") };
}

function running(completed: number, extra: Partial<NonNullable<Experiment["status"]>> = {}): Experiment {
  return experimentFixture({
    target: "t",
    duration: { intervalSeconds: 20, iterationsPerLoop: 5, maxLoops: 2 },
    versions: ["v1", "v2"],
    status: {
      stage: "Running",
      completedIterations: completed,
      lastUpdateTime: "2021-06-01T00:00:00.000Z",
      currentWeightDistribution: versionWeights({ v1: 80, v2: 20 }),
      ...extra,
    },
  });
}

describe("TerminalOutput", () => {
  it("on a terminal: redraws the status line in place and keeps it below other output", () => {
    const s = stream(true);
    const t = new TerminalOutput(s);
    t.status("iteration 1 of 10");
    t.write("a row\n");
    t.status("iteration 2 of 10");
    t.clear();
    assert.equal(
      s.text(),
      "\r\x1b[Kiteration 1 of 10\r\x1b[Ka row\niteration 1 of 10\r\x1b[Kiteration 2 of 10\r\x1b[K",
    );
  });

  it("elsewhere: a plain line only when nothing was printed for a while", () => {
    const s = stream(false);
    let now = 0;
    const t = new TerminalOutput(s, { now: () => now });
    t.status("too early");
    now = PLAIN_EVERY_MS;
    t.status("iteration 3 of 10");
    t.status("again at once");
    now += 1000;
    t.write("a row\n");
    now += PLAIN_EVERY_MS - 1;
    t.status("still too early after the row");
    assert.equal(s.text(), "iteration 3 of 10\na row\n");
  });
});

describe("RunProgress", () => {
  it("status line: iteration k of N, time to the next, requests per version, weights", () => {
    const p = new RunProgress({
      err: () => {},
      now: () => Date.parse("2021-06-01T00:00:07.200Z"),
      requests: () => ({ "sample-app-v1": 120, "sample-app-v2": 30 }),
    });
    assert.equal(
      p.statusLine(running(3)),
      "iteration 4 of 10 | next in 13 s | requests sample-app-v1=120 sample-app-v2=30 | weights v1=80 v2=20",
    );
    assert.equal(p.statusLine({ ...running(3), status: { stage: "Completed" } }), "");
  });

  it("prints each warning once, as a sentence with the reason", () => {
    const err: string[] = [];
    const p = new RunProgress({ err: (s) => err.push(s) });
    const exp = running(1, {
      metrics: [],
      analysis: {
        aggregatedMetrics: {
          provenance: "t",
          timestamp: "t",
          data: { "ns/latency": { data: { v1: { value: 3 }, v2: {} } } },
        },
      },
    });
    appendIteration(
      exp.status!,
      1,
      "2021-06-01T00:00:00Z",
      [{ name: "v1" }, { name: "v2" }],
      ["Error from metrics backend for metric: ns/latency and version: v2: connection refused"],
    );
    p.onWrite(exp);
    p.onWrite(exp);
    const log = p.logger();
    log.warn("Failure redistributing weights", {
      experiment: "default/e",
      attempts: 1,
      error: "patch rejected",
    });
    log.warn("Failure redistributing weights", {
      experiment: "default/e",
      attempts: 2,
      error: "patch rejected",
    });
    assert.deepEqual(err, [
      "iter8: warning: metric ns/latency could not be read for version v2: connection refused (iteration 1)\n",
      "iter8: warning: Failure redistributing weights (attempt 1): patch rejected\n",
    ]);
  });

  it("--log-format json: one JSON object per line", () => {
    const err: string[] = [];
    const p = new RunProgress({ err: (s) => err.push(s), logFormat: "json", now: () => 0 });
    p.logger().warn("action failed", { action: "finish", error: "exit code 3" });
    assert.equal(err.length, 1);
    assert.deepEqual(JSON.parse(err[0]!), {
      time: "1970-01-01T00:00:00.000Z",
      level: "warn",
      msg: "action failed (action finish): exit code 3",
      action: "finish",
      error: "exit code 3",
    });
  });
});

describe("endLine: one wording for every ending", () => {
  const completed = (status: NonNullable<Experiment["status"]>): Experiment => ({
    ...running(10),
    status: {
      ...running(10).status,
      stage: "Completed",
      conditions: [{ type: "Completed", status: "True" }],
      ...status,
    },
  });
  it("a winner promoted by the finish action", () => {
    const e = completed({
      versionRecommendedForPromotion: "v2",
      analysis: {
        winnerAssessment: { provenance: "", timestamp: "", data: { winnerFound: true, winner: "v2" } },
      },
    });
    (e.status as { actions?: unknown[] }).actions = [
      { id: "finish", action: "finish", kind: "finish", state: "Succeeded", attempts: 1, startedAt: "" },
    ];
    assert.equal(endLine(e), "Experiment completed: winner v2, promoted v2\n");
  });
  it("no winner and no finish action: where the traffic was left", () => {
    const e = completed({
      analysis: { winnerAssessment: { provenance: "", timestamp: "", data: { winnerFound: false } } },
    });
    assert.equal(endLine(e), "Experiment completed: no winner, traffic left at v1=80 v2=20\n");
  });
  it("a failure", () => {
    const e = completed({
      conditions: [
        { type: "Completed", status: "True" },
        { type: "Failed", status: "True", reason: "HandlerFailed", message: "Finish actions failed" },
      ],
    });
    assert.equal(endLine(e), "Experiment failed: HandlerFailed: Finish actions failed\n");
  });
});
