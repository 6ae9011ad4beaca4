// The report model, verdict sentence and both renderings, from experiments built in memory.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Experiment, ExperimentStatus, IterationRecord } from "../../../src/api/types.ts";
import { renderHtml } from "../../../src/report/html.ts";
import { renderMarkdown } from "../../../src/report/markdown.ts";
import { reportModel } from "../../../src/report/model.ts";
import { verdictOf } from "../../../src/report/verdict.ts";
import { experimentFixture } from "../../support/experiments.ts";

const NOW = new Date("2026-12-01T12:00:00Z");
const ERRORS = "iter8-knative/error-rate";
const LATENCY = "iter8-knative/mean-latency";

function experiment(status: Record<string, unknown> = {}): Experiment {
  return experimentFixture({
    name: "canary",
    namespace: "shop",
    versions: ["v1", "v2"],
    actions: { finish: [{ task: "common/exec" }] },
    criteria: {
      objectives: [
        { metric: LATENCY, upperLimit: 50 },
        { metric: ERRORS, upperLimit: "0.01" },
      ],
    },
    duration: { intervalSeconds: 5, iterationsPerLoop: 3 },
    status: { stage: "Running", completedIterations: 0, ...status } as ExperimentStatus,
  });
}

function record(i: number, v2Weight: number, v2Errors: number, bounds = false): IterationRecord {
  return {
    iteration: i,
    time: `2026-12-01T11:00:0${i}Z`,
    weights: [
      { name: "v1", value: 100 - v2Weight },
      { name: "v2", value: v2Weight },
    ],
    values: {
      [LATENCY]: { v1: { value: 20 + i, sampleSize: 100 * i }, v2: { value: 18 + i, sampleSize: 50 * i } },
      [ERRORS]: {
        v1: { value: 0, sampleSize: 100 * i },
        v2: { value: v2Errors, sampleSize: 50 * i, ...(bounds ? { lower: 0, upper: v2Errors + 0.02 } : {}) },
      },
    },
  };
}

const completed = (extra: Record<string, unknown>) =>
  experiment({
    stage: "Completed",
    completedIterations: 3,
    conditions: [
      {
        type: "Completed",
        status: "True",
        reason: "ExperimentCompleted",
        lastTransitionTime: "2026-12-01T11:00:09Z",
      },
      { type: "Failed", status: "False" },
    ],
    ...extra,
  });

describe("verdictOf", () => {
  const cases: Array<{ name: string; exp: Experiment; expected: RegExp }> = [
    {
      name: "running, winner so far",
      exp: experiment({
        completedIterations: 1,
        analysis: {
          winnerAssessment: { provenance: "", timestamp: "", data: { winnerFound: true, winner: "v2" } },
        },
      }),
      expected: /^Running: 1 of 3 iterations done; v2 is winning so far\.$/,
    },
    {
      name: "winner promoted by finish",
      exp: completed({
        versionRecommendedForPromotion: "v2",
        analysis: {
          winnerAssessment: { provenance: "", timestamp: "", data: { winnerFound: true, winner: "v2" } },
        },
        actions: [
          { id: "finish", action: "finish", kind: "finish", state: "Succeeded", attempts: 1, startedAt: "" },
        ],
      }),
      expected:
        /^v2 won after 3 iterations and is the version to promote \(promoted by the finish action\)\.$/,
    },
    {
      name: "rollback",
      exp: completed({
        versionRecommendedForPromotion: "v1",
        actions: [
          {
            id: "finish",
            action: "finish",
            kind: "rollback",
            state: "Succeeded",
            attempts: 1,
            startedAt: "",
          },
        ],
      }),
      expected: /^Rolled back to v1: .*the rollback action ran\.$/,
    },
    {
      name: "no winner",
      exp: completed({ versionRecommendedForPromotion: "v1" }),
      expected: /^No winner after 3 iterations: v1 is kept \(no finish action ran\)\.$/,
    },
    {
      name: "failed",
      exp: experiment({
        conditions: [
          { type: "Failed", status: "True", reason: "HandlerFailed", message: "Finish actions failed" },
        ],
      }),
      expected: /^Failed \(HandlerFailed: Finish actions failed\); no version was promoted\.$/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.match(verdictOf(c.exp), c.expected));
  }
});

describe("reportModel", () => {
  it("has one point per recorded iteration in every chart", () => {
    const exp = completed({ history: { recent: [record(1, 5, 0), record(2, 25, 0.01), record(3, 45, 0)] } });
    const m = reportModel(exp, "describe text", NOW);
    assert.deepEqual(m.iterations, [1, 2, 3]);
    assert.deepEqual(m.weights.lines, [
      { label: "v1", values: [95, 75, 55] },
      { label: "v2", values: [5, 25, 45] },
    ]);
    assert.deepEqual(m.requests.lines[1], { label: "v2", values: [50, 100, 150] });
    assert.equal(m.objectives.length, 2);
    assert.deepEqual(m.objectives[1]?.limit, { value: 0.01, kind: "upper" });
    assert.deepEqual(m.objectives[1]?.lines[1]?.values, [0, 0.01, 0]);
    assert.equal(m.objectives[1]?.bands.length, 0, "no bounds recorded, no band");
    assert.equal(m.namespace, "shop");
  });

  it("carries confidence bounds as a band where the history has them", () => {
    const exp = completed({ history: { recent: [record(1, 5, 0.01, true), record(2, 25, 0.02, true)] } });
    const band = reportModel(exp, "", NOW).objectives[1]?.bands;
    assert.deepEqual(band, [{ label: "v2", lower: [0, 0], upper: [0.03, 0.04] }]);
  });

  it("without history shows the latest status as one point", () => {
    const exp = completed({
      currentWeightDistribution: [
        { name: "v1", value: 40 },
        { name: "v2", value: 60 },
      ],
      analysis: {
        aggregatedMetrics: {
          provenance: "",
          timestamp: "",
          data: { [LATENCY]: { data: { v1: { value: "21.5", sampleSize: 40 }, v2: { value: 19 } } } },
        },
      },
    });
    const m = reportModel(exp, "", NOW);
    assert.deepEqual(m.iterations, [3]);
    assert.deepEqual(m.weights.lines[1]?.values, [60]);
    assert.deepEqual(m.objectives[0]?.lines[0]?.values, [21.5]);
    assert.deepEqual(m.objectives[1]?.lines[0]?.values, [null]);
  });

  it("an experiment that has not iterated has no points and says so", () => {
    const m = reportModel(experiment(), "", NOW);
    assert.deepEqual(m.iterations, []);
    assert.match(renderMarkdown(m), /No iteration has completed yet\./);
  });
});

describe("renderHtml", () => {
  const hostile = "</script><script>alert(1)</script><!--";
  const exp = completed({
    history: { recent: [record(1, 5, 0)] },
    actions: [
      {
        id: "finish",
        action: "finish",
        kind: "finish",
        state: "Failed",
        attempts: 1,
        startedAt: "2026-12-01T11:00:08Z",
        finishedAt: "2026-12-01T11:00:09Z",
        tasks: [{ task: "common/exec", skipped: false, ok: false, output: hostile, durationMs: 3 }],
      },
    ],
  });
  const page = renderHtml(reportModel(exp, `describe ${hostile}`, NOW));

  it("inlines everything: no URL to load anything from", () => {
    assert.doesNotMatch(page, /<script[^>]+src=|<link[^>]+href=|@import|url\(http/i);
    assert.match(page, /Content-Security-Policy" content="default-src 'none';[^"]*connect-src 'none'/);
  });

  it("escapes text from the experiment in the markup and in the embedded data", () => {
    assert.equal(page.split("<script>alert(1)").length, 1, "the task output cannot open a script element");
    const data = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(page)?.[1] ?? "";
    assert.ok(data.length > 0);
    assert.ok(!data.includes("</"), "the embedded JSON cannot close its script element");
    assert.equal(JSON.parse(data).describe, `describe ${hostile}`);
  });

  it("a dashboard page names its event stream and may connect back to it", () => {
    const live = renderHtml(reportModel(exp, "", NOW), { eventsUrl: "/events/experiments/shop/canary" });
    assert.match(live, /<body data-events="\/events\/experiments\/shop\/canary">/);
    assert.match(live, /connect-src 'self'/);
  });
});

describe("renderMarkdown", () => {
  it("tables per chart, bounds in brackets, pipes escaped", () => {
    const exp = completed({ history: { recent: [record(1, 5, 0.01, true)] } });
    const md = renderMarkdown(reportModel(exp, "a | b", NOW));
    assert.match(md, /^## Experiment `shop\/canary`/);
    assert.match(md, /\| iteration \| v1 \| v2 \|\n\|---\|---\|---\|\n\| 1 \| 95 \| 5 \|/);
    assert.match(md, /\| 1 \| 0 \| 0\.01 \[0, 0\.03\] \|/);
    assert.match(md, /```\na \| b\n```/);
  });
});
