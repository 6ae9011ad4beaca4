// The engine with criteria.strength: each outcome path on in-memory ports and a manual clock.
// Readings carry what the built-in provider gives (errors and requests, mean and sd), so the
// evidence is computed exactly as in a run.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Experiment, Metric } from "../../../src/api/types.ts";
import { Engine } from "../../../src/engine/engine.ts";
import type { MetricReading } from "../../../src/engine/ports.ts";
import { withDistribution } from "../../../src/metrics/builtin-provider.ts";
import { metricFixture } from "../../support/experiments.ts";
import { drive, keyOf, traceExperiment } from "./builders.ts";
import {
  FakeActuator,
  FakeClock,
  FakeTaskRunner,
  MemoryStore,
  type MetricScript,
  ScriptedMetrics,
} from "./fakes.ts";

const builtin = (name: string): Metric => metricFixture(`iter8-knative/${name}`, { provider: "iter8" });

/** Cumulative requests and errors of a version at an iteration (1-based). */
type Traffic = (version: string, iteration: number) => { n: number; errors: number; mean?: number };

function script(traffic: Traffic): MetricScript {
  return (metric, v, _round, q) => {
    const it = (q.experiment.status?.completedIterations ?? 0) + 1;
    const { n, errors, mean = 20 } = traffic(v, it);
    if (n === 0) return { error: "no requests" };
    if (metric.endsWith("/error-rate"))
      return withDistribution({ value: errors / n, sampleSize: n }, { n, events: errors });
    if (metric.endsWith("/mean-latency"))
      return withDistribution({ value: mean, sampleSize: n }, { n, mean, sd: 5 });
    return { value: n } as MetricReading;
  };
}

function experiment(strength: Record<string, unknown>, rollback = false): Experiment {
  const exp = traceExperiment();
  exp.spec.criteria!.strength = strength;
  if (rollback) exp.spec.criteria!.objectives![1]!.rollback_on_failure = true;
  return exp;
}

async function run(
  exp: Experiment,
  traffic: Traffic,
): Promise<{ final: Experiment; w: { actuator: FakeActuator; tasks: FakeTaskRunner } }> {
  const store = new MemoryStore();
  store.addMetric(builtin("mean-latency"));
  store.addMetric(builtin("error-rate"));
  store.add(exp);
  const actuator = new FakeActuator({ "sample-app-v1": 100, "sample-app-v2": 0 });
  const tasks = new FakeTaskRunner();
  const clock = new FakeClock();
  const engine = new Engine({ store, actuator, metrics: new ScriptedMetrics(script(traffic)), tasks, clock });
  await drive(engine, clock, [keyOf(exp)]);
  const final = await store.get(keyOf(exp));
  assert.ok(final);
  return { final, w: { actuator, tasks } };
}

const evidenceOf = (e: Experiment, v: string) => e.status?.analysis?.evidence?.data?.[v] ?? [];

describe("decisions with criteria.strength", () => {
  it("early pass: a candidate that satisfies every objective is promoted after one iteration", async () => {
    const { final, w } = await run(experiment({ confidence: 0.95 }), () => ({ n: 2000, errors: 0 }));
    assert.equal(final.status?.completedIterations, 1);
    assert.equal(final.status?.versionRecommendedForPromotion, "sample-app-v2");
    assert.deepEqual(
      evidenceOf(final, "sample-app-v2").map((e) => e.outcome),
      ["satisfied", "satisfied"],
    );
    assert.equal(evidenceOf(final, "sample-app-v2")[1]!.method, "beta-binomial mixture confidence sequence");
    assert.equal(w.tasks.calls.at(-1)?.action, "finish");
  });

  it("early violation: a confident violation by the candidate rolls back at once", async () => {
    const { final } = await run(experiment({ confidence: 0.95 }, true), (v) =>
      v === "sample-app-v2" ? { n: 1000, errors: 60 } : { n: 1000, errors: 0 },
    );
    assert.equal(final.status?.completedIterations, 0);
    assert.equal(final.status?.versionRecommendedForPromotion, "sample-app-v1");
    assert.equal(evidenceOf(final, "sample-app-v2")[1]!.outcome, "violated");
    // The finish action ran as a rollback.
    const actions = (final.status as { actions?: Array<{ kind: string }> }).actions ?? [];
    assert.deepEqual(
      actions.map((a) => a.kind),
      ["rollback"],
    );
  });

  it("the baseline's own violation does not roll back the experiment", async () => {
    const { final } = await run(experiment({ confidence: 0.95 }, true), (v) =>
      v === "sample-app-v1" ? { n: 1000, errors: 60 } : { n: 2000, errors: 0 },
    );
    assert.equal(final.status?.versionRecommendedForPromotion, "sample-app-v2");
    const actions = (final.status as { actions?: Array<{ kind: string }> }).actions ?? [];
    assert.deepEqual(
      actions.map((a) => a.kind),
      ["finish"],
    );
  });

  it("inconclusive at the end keeps the baseline and says what would decide", async () => {
    const { final, w } = await run(experiment({ confidence: 0.95 }), (_v, it) => ({
      n: 100 * it,
      errors: 1,
    }));
    assert.equal(final.status?.completedIterations, 3);
    assert.equal(final.status?.versionRecommendedForPromotion, "sample-app-v1");
    const e = evidenceOf(final, "sample-app-v2")[1]!;
    assert.equal(e.outcome, "inconclusive");
    assert.match(
      e.reason ?? "",
      /300 requests, 1 error; `error-rate <= 0.01` at 95 % needs no error in >= \d+/,
    );
    assert.match(
      final.status?.analysis?.evidence?.message ?? "",
      /inconclusive at 95 %: keeping sample-app-v1/,
    );
    // It kept ramping while inconclusive: 10, 20, 30 % (the default increment is 10).
    assert.deepEqual(
      w.actuator.applied.map((x) => x[1]!.value),
      [10, 20, 30],
    );
  });

  it("extension: an inconclusive last iteration adds iterations until the verdict is certain", async () => {
    const { final } = await run(experiment({ confidence: 0.95, maxExtraIterations: 5 }), (_v, it) => ({
      n: 200 * it,
      errors: 0,
    }));
    // Error-free requests pass `error-rate <= 0.01` from about 450 on: 600 after iteration 3.
    assert.equal(final.status?.versionRecommendedForPromotion, "sample-app-v2");
    assert.equal(final.status?.completedIterations, 3);
    const { final: longer } = await run(
      experiment({ confidence: 0.95, maxExtraIterations: 5 }),
      (_v, it) => ({
        n: 100 * it,
        errors: 0,
      }),
    );
    assert.equal(longer.status?.extraIterations, 2);
    assert.equal(longer.status?.completedIterations, 5);
    assert.equal(longer.status?.versionRecommendedForPromotion, "sample-app-v2");
  });

  it("without strength the verdict is Iter8 v2's, and the evidence warns when it is not supported", async () => {
    const exp = traceExperiment();
    const { final } = await run(exp, (_v, it) => ({ n: 30 * it, errors: 0 }));
    assert.equal(final.status?.versionRecommendedForPromotion, "sample-app-v2");
    assert.equal(final.status?.completedIterations, 3);
    assert.equal(evidenceOf(final, "sample-app-v2")[1]!.method, "Clopper-Pearson");
    assert.match(
      final.status?.analysis?.evidence?.message ?? "",
      /promotion of sample-app-v2 is not supported at 95 %/,
    );
  });
});
