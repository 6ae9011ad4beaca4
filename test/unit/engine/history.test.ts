// status.history: one record per iteration, with the weights asked for and read back, every metric's
// value per version (or why it could not be read), the outcomes and the reason for the weights; and
// a bound that holds for 1,000 iterations on a virtual clock.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { experimentSchema } from "../../../src/api/schema.ts";
import type { Experiment, ExperimentHistory, IterationRecord } from "../../../src/api/types.ts";
import { Engine } from "../../../src/engine/engine.ts";
import {
  appendIteration,
  detailed,
  historyPoints,
  OLDER_MAX,
  RECENT_FULL,
  recordOf,
} from "../../../src/engine/history.ts";
import { drive, KNATIVE_METRICS, keyOf, traceExperiment } from "./builders.ts";
import {
  FakeActuator,
  FakeClock,
  FakeTaskRunner,
  MemoryStore,
  type MetricScript,
  ScriptedMetrics,
} from "./fakes.ts";

function iterationOf(q: { experiment: Experiment }): number {
  return (q.experiment.status?.completedIterations ?? 0) + 1;
}

/** Values that differ per iteration and version, so a record can be checked against its iteration. */
const script: MetricScript = (metric, v, _round, q) => {
  const n = iterationOf(q);
  if (metric.endsWith("/request-count")) return { value: 100 * n };
  if (metric.endsWith("/mean-latency")) {
    if (v === "sample-app-v2" && n === 2) return { error: "connection refused" };
    return { value: (v === "sample-app-v1" ? 20 : 25) + n / 1000, sampleSize: 100 * n };
  }
  if (metric.endsWith("/error-rate")) return { value: 0, sampleSize: 100 * n };
  return { value: 30 + n / 1000, sampleSize: 100 * n };
};

async function run(iterations: number, perLoop = iterations) {
  const exp = traceExperiment();
  exp.spec.duration = { intervalSeconds: 10, iterationsPerLoop: perLoop, maxLoops: iterations / perLoop };
  exp.spec.criteria!.requestCount = "iter8-knative/request-count";
  exp.spec.criteria!.objectives!.push({
    metric: "iter8-knative/95th-percentile-tail-latency",
    upperLimit: 100,
  });
  const store = new MemoryStore();
  for (const m of KNATIVE_METRICS) store.addMetric(m);
  store.add(exp);
  const clock = new FakeClock();
  const engine = new Engine({
    store,
    actuator: new FakeActuator({ "sample-app-v1": 100, "sample-app-v2": 0 }),
    metrics: new ScriptedMetrics(script),
    tasks: new FakeTaskRunner(),
    clock,
  });
  await drive(engine, clock, [keyOf(exp)], { maxSteps: iterations * 3 + 50 });
  const done = await store.get(keyOf(exp));
  assert.ok(done?.status);
  return { done, store };
}

/** The status an iteration leaves for v1 and v2: the observed split and the aggregated metrics. */
function afterIteration(
  split: [number, number],
  metrics: Record<string, Record<string, { value?: number | string; sampleSize?: number }>>,
): NonNullable<Experiment["status"]> {
  const data = Object.fromEntries(Object.entries(metrics).map(([m, byVersion]) => [m, { data: byVersion }]));
  return {
    currentWeightDistribution: [
      { name: "v1", value: split[0] },
      { name: "v2", value: split[1] },
    ],
    analysis: { aggregatedMetrics: { provenance: "t", timestamp: "t", data } },
  } as NonNullable<Experiment["status"]>;
}

describe("per-iteration history", () => {
  it("lists every iteration of a seed-shaped run with weights, values, outcomes and reasons", async () => {
    const { done } = await run(5);
    const points = historyPoints(done.status);
    assert.deepEqual(
      points.map((p) => p.iteration),
      [1, 2, 3, 4, 5],
    );
    const first = points[0]!;
    assert.deepEqual(first.values["iter8-knative/mean-latency"]?.["sample-app-v1"], {
      value: 20.001,
      sampleSize: 100,
    });
    assert.deepEqual(first.observed, [
      { name: "sample-app-v1", value: 90 },
      { name: "sample-app-v2", value: 10 },
    ]);
    assert.deepEqual(first.weights, first.observed);
    assert.deepEqual(first.outcomes?.["sample-app-v2"], ["satisfied", "satisfied", "satisfied"]);
    assert.equal(first.winner, "sample-app-v2");
    assert.match(first.reason ?? "", /weights sample-app-v1=90 sample-app-v2=10 \(winner sample-app-v2\)/);
    // Iteration 2 has no latency for the candidate: the baseline wins and traffic moves back.
    assert.equal(
      points[1]!.reason,
      "weights sample-app-v1=90 sample-app-v2=10 -> sample-app-v1=95 sample-app-v2=5 (winner sample-app-v1)",
    );
    // The unreadable value of iteration 2 says why.
    assert.deepEqual(points[1]!.values["iter8-knative/mean-latency"]?.["sample-app-v2"], {
      error: "connection refused",
    });
    for (const p of points) assert.equal(p.observed?.length, 2, `iteration ${p.iteration}`);
  });

  it(`keeps 1,000 iterations within the bound (${RECENT_FULL} full + ${OLDER_MAX} compact) and well under 1.5 MB`, async () => {
    const { done, store } = await run(1000, 100);
    const h = done.status!.history!;
    assert.equal(h.recent.length, RECENT_FULL);
    assert.ok((h.older?.length ?? 0) <= OLDER_MAX, `older: ${h.older?.length}`);
    assert.deepEqual(
      h.recent.map((r) => recordOf(r, h)?.iteration),
      Array.from({ length: RECENT_FULL }, (_, i) => 1000 - RECENT_FULL + 1 + i),
    );
    const points = historyPoints(done.status);
    // Ordered, starting at iteration 1, evenly spread over the run.
    assert.equal(points[0]!.iteration, 1);
    for (let i = 1; i < points.length; i++) assert.ok(points[i]!.iteration > points[i - 1]!.iteration);
    const gaps = points.slice(1).map((p, i) => p.iteration - points[i]!.iteration);
    assert.ok(Math.max(...gaps) <= (h.stride ?? 1), `gaps up to ${Math.max(...gaps)}, stride ${h.stride}`);
    // Compact points keep the values and weights.
    const mid = points.find((p) => p.iteration > 300)!;
    assert.equal(
      mid.values["iter8-knative/mean-latency"]?.["sample-app-v1"]?.value,
      20 + mid.iteration / 1000,
    );
    assert.equal(mid.observed?.length, 2);
    // The stated bound: the whole status, history included, under 200 KB at every write.
    const largest = Math.max(...store.statusWrites.map((e) => JSON.stringify(e.status).length));
    assert.ok(largest < 200_000, `largest status ${largest} bytes`);
    if (process.env["ITER8_TEST_LOG"]) process.stderr.write(`largest status: ${largest} bytes\n`);
    assert.ok(JSON.stringify(done).length < 1_500_000 / 5);
  });

  it("is kept by the status schema (the CRD does not prune it)", async () => {
    const { Ajv } = await import("ajv");
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    const statusSchema = experimentSchema("v2alpha2").properties!["status"]!;
    const validate = ajv.compile(statusSchema);
    const { done } = await run(30, 30);
    assert.ok(done.status?.history?.older?.length);
    assert.ok(validate(done.status), JSON.stringify(validate.errors));
  });

  it("copies outcomes and confidence bounds from the decision evidence when the analysis has it", () => {
    const base = afterIteration([50, 50], {
      "ns/error-rate": { v1: { value: "0.01" }, v2: { value: 0.2, sampleSize: 40 } },
    });
    const status: Experiment["status"] & { analysis: Record<string, unknown> } = {
      ...base,
      analysis: {
        ...base.analysis,
        // Booleans say otherwise: the evidence wins.
        versionAssessments: { provenance: "t", timestamp: "t", data: { v1: [true], v2: [true] } },
        evidence: {
          provenance: "t",
          timestamp: "t",
          data: {
            v1: [
              {
                objective: 0,
                metric: "ns/error-rate",
                limit: 0.05,
                direction: "upper",
                shape: "ratio",
                lower: 0.001,
                upper: 0.04,
                outcome: "satisfied",
              },
            ],
            v2: [
              {
                objective: 0,
                metric: "ns/error-rate",
                limit: 0.05,
                direction: "upper",
                shape: "ratio",
                lower: 0.1,
                upper: 0.35,
                outcome: "inconclusive",
              },
            ],
          },
        },
      },
    };
    appendIteration(status, 1, "2021-06-01T00:00:00Z", [{ name: "v1" }, { name: "v2" }], []);
    const [point] = historyPoints(status);
    assert.deepEqual(point!.outcomes, { v1: ["satisfied"], v2: ["inconclusive"] });
    assert.deepEqual(point!.values["ns/error-rate"], {
      v1: { value: 0.01, lower: 0.001, upper: 0.04 },
      v2: { value: 0.2, sampleSize: 40, lower: 0.1, upper: 0.35 },
    });
  });

  it("stores a recent iteration as arrays and reads back exactly the record (property)", () => {
    const versions = ["v1", "v2", "v3"];
    const metrics = ["ns/a", "ns/b"];
    const h: ExperimentHistory = { versions, metrics, recent: [] };
    // JSON has no -0, and nor do metric values.
    const num = fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x));
    const cell = fc.record(
      { value: num, sampleSize: fc.nat(), lower: num, upper: num, error: fc.string() },
      { requiredKeys: [] },
    );
    const split = fc
      .tuple(fc.nat(100), fc.nat(100), fc.nat(100))
      .map((ws) => ws.map((value, i) => ({ name: versions[i]!, value })));
    const outcome = fc.constantFrom("satisfied" as const, "violated" as const, "inconclusive" as const);
    const record = fc
      .record(
        {
          iteration: fc.integer({ min: 1, max: 10_000 }),
          time: fc.constant("2026-01-01T00:00:00.000Z"),
          values: fc.record({
            "ns/a": fc.record({ v1: cell, v2: cell, v3: cell }),
            "ns/b": fc.record({ v1: cell, v2: cell, v3: cell }),
          }),
          observed: split,
          weights: split,
          outcomes: fc.record({
            v1: fc.array(outcome, { maxLength: 3 }),
            v2: fc.array(outcome, { maxLength: 3 }),
            v3: fc.array(outcome, { maxLength: 3 }),
          }),
          winner: fc.constantFrom(...versions),
          reason: fc.string(),
          sameWeights: fc.boolean(),
        },
        { requiredKeys: ["iteration", "time", "values", "observed", "sameWeights"] },
      )
      .map(({ sameWeights, ...r }) =>
        sameWeights && r.weights ? { ...r, weights: structuredClone(r.observed) } : r,
      );
    fc.assert(
      fc.property(record, (r: IterationRecord) => {
        const stored = JSON.parse(JSON.stringify(detailed(r, h)));
        // Through JSON both ways: the API server stores text, and fast-check builds null-prototype objects.
        assert.deepEqual(recordOf(stored, h), JSON.parse(JSON.stringify(r)));
      }),
      { numRuns: 300 },
    );
  });

  it("reads full records an earlier release wrote, and compacts them as they age", () => {
    const versions = [{ name: "v1" }, { name: "v2" }];
    const full = (i: number): IterationRecord => ({
      iteration: i,
      time: `2026-01-01T00:00:${String(i).padStart(2, "0")}Z`,
      values: { "ns/m": { v1: { value: i, sampleSize: 10 }, v2: { value: i + 0.5 } } },
      weights: [
        { name: "v1", value: 50 },
        { name: "v2", value: 50 },
      ],
      observed: [
        { name: "v1", value: 50 },
        { name: "v2", value: 50 },
      ],
      reason: `iteration ${i}`,
    });
    const status: NonNullable<Experiment["status"]> = {
      ...afterIteration([40, 60], { "ns/m": { v1: { value: 7 }, v2: { value: 8 } } }),
      history: { versions: ["v1", "v2"], metrics: ["ns/m"], recent: [1, 2, 3].map(full) },
    };
    for (let i = 4; i <= RECENT_FULL + 2; i++)
      appendIteration(status, i, `2026-01-01T00:01:00Z`, versions, []);
    const points = historyPoints(status);
    assert.deepEqual(
      points.map((p) => p.iteration),
      Array.from({ length: RECENT_FULL + 2 }, (_, i) => i + 1),
    );
    // The two oldest full records aged into the compact series, keeping values and weights.
    assert.deepEqual(
      status.history?.older?.map((c) => (typeof c === "string" ? JSON.parse(c).i : undefined)),
      [1, 2],
    );
    assert.deepEqual(points[0]!.values["ns/m"], { v1: { value: 1 }, v2: { value: 1.5 } });
    assert.equal(points[0]!.observed?.[1]?.value, 50);
    // The third is still read as it was written.
    assert.deepEqual(points[2], full(3));
    // The first new record says the weights moved from the last full record's.
    assert.equal(
      points[3]!.reason,
      "weights v1=50 v2=50 -> v1=40 v2=60 (no version satisfies all objectives yet)",
    );
  });

  it("stores each entry as one JSON text, which the API server does not walk", async () => {
    const { done } = await run(RECENT_FULL + 5);
    const h = done.status!.history!;
    for (const entry of [...h.recent, ...(h.older ?? [])]) assert.equal(typeof entry, "string");
    assert.deepEqual(JSON.parse(h.recent.at(-1) as string).i, RECENT_FULL + 5);
    assert.deepEqual(JSON.parse(h.older![0] as string).i, 1);
  });

  it("reads entries earlier releases wrote unencoded, and skips one that cannot be read", async () => {
    const { done } = await run(RECENT_FULL + 3);
    const h = done.status!.history!;
    const expected = historyPoints(done.status);
    const unencoded: ExperimentHistory = {
      ...h,
      recent: h.recent.map((e) => JSON.parse(e as string)),
      older: h.older!.map((e) => JSON.parse(e as string)),
    };
    assert.deepEqual(historyPoints({ ...done.status!, history: unencoded }), expected);
    for (const bad of ["{not json", '"a string"', "null", "[1,2]", '{"x":1}']) {
      const broken = { ...h, recent: [...h.recent.slice(0, -1), bad] };
      const points = historyPoints({ ...done.status!, history: broken });
      assert.deepEqual(points, expected.slice(0, -1), bad);
      // The engine goes on appending to a history with such an entry.
      const status = structuredClone({ ...done.status!, history: broken });
      appendIteration(
        status,
        RECENT_FULL + 4,
        "2026-01-01T01:00:00Z",
        [{ name: "sample-app-v1" }, { name: "sample-app-v2" }],
        [],
      );
      assert.equal(historyPoints(status).at(-1)?.iteration, RECENT_FULL + 4, bad);
    }
  });

  it("keeps the stored form under half the size of the records it stands for", async () => {
    const { done } = await run(10);
    const stored = JSON.stringify(done.status!.history!.recent).length;
    const records = JSON.stringify(historyPoints(done.status)).length;
    assert.ok(stored < records / 2, `stored ${stored} bytes, records ${records} bytes`);
  });
});
