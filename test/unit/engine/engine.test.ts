// The engine against in-memory ports and a manual clock: Iter8 v2's worked trace message by message,
// the seed patterns, failures, target locking, and resuming after a crash at any point.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Experiment, VersionWeight } from "../../../src/api/types.ts";
import { Engine, type EngineOptions } from "../../../src/engine/engine.ts";
import type { EngineStatus } from "../../../src/engine/status.ts";
import { drive, KNATIVE_METRICS, keyOf, metric, traceExperiment, version } from "./builders.ts";
import {
  FakeActuator,
  FakeClock,
  FakeTaskRunner,
  MemoryStore,
  type MetricScript,
  ScriptedMetrics,
} from "./fakes.ts";

interface World {
  store: MemoryStore;
  actuator: FakeActuator;
  metrics: ScriptedMetrics;
  tasks: FakeTaskRunner;
  clock: FakeClock;
  engine: Engine;
  newEngine(extra?: Partial<EngineOptions>): Engine;
}

/** Iteration number (1-based) the query belongs to, from the status it was made with. */
function iterationOf(q: { experiment: Experiment }): number {
  return (q.experiment.status?.completedIterations ?? 0) + 1;
}

/** The worked trace: the candidate has no mean-latency value in iteration 1, then meets both objectives. */
const traceMetrics: MetricScript = (metric, v, _round, q) => {
  const n = iterationOf(q);
  if (metric.endsWith("/request-count")) return { value: 100 * n };
  if (metric.endsWith("/mean-latency")) {
    if (v === "sample-app-v2" && n === 1) return { error: "query returned NaN" };
    return { value: v === "sample-app-v1" ? 20 : 25 };
  }
  if (metric.endsWith("/error-rate")) return { value: 0 };
  return { value: 1 };
};

const allGood: MetricScript = (metric) => ({ value: metric.endsWith("/request-count") ? 100 : 0 });

function world(
  exps: Experiment[],
  opts: { weights?: Record<string, number>; script?: MetricScript; engine?: Partial<EngineOptions> } = {},
): World {
  const store = new MemoryStore();
  for (const m of KNATIVE_METRICS) store.addMetric(m);
  for (const e of exps) store.add(e);
  const actuator = new FakeActuator(opts.weights ?? { "sample-app-v1": 100, "sample-app-v2": 0 });
  const metrics = new ScriptedMetrics(opts.script ?? traceMetrics);
  const tasks = new FakeTaskRunner();
  const clock = new FakeClock();
  const newEngine = (extra: Partial<EngineOptions> = {}) =>
    new Engine({ store, actuator, metrics, tasks, clock, ...opts.engine, ...extra });
  return { store, actuator, metrics, tasks, clock, engine: newEngine(), newEngine };
}

async function final(w: World, name: string): Promise<Experiment> {
  const e = await w.store.get({ namespace: "default", name });
  assert.ok(e);
  return e;
}

function cond(e: Experiment, type: string) {
  return e.status?.conditions?.find((c) => c.type === type);
}

function weightsOf(e: Experiment): number[] {
  return (e.status?.currentWeightDistribution ?? []).map((w) => w.value);
}

function values(ws: VersionWeight[][]): number[][] {
  return ws.map((w) => w.map((x) => x.value));
}

describe("Iter8 v2 worked trace", () => {
  it("writes the messages, weights and recommendations of the trace, in order", async () => {
    const exp = traceExperiment();
    const w = world([exp]);
    const start = w.clock.ms;
    await drive(w.engine, w.clock, [keyOf(exp)]);

    assert.deepEqual(w.store.messages(), [
      "ExperimentInitialized: Experiment status initialized",
      "TargetAcquired",
      "StageAdvanced: Advanced to Initializing",
      "StageAdvanced: Advanced to Running",
      "IterationUpdate: Completed Iteration 1",
      "IterationUpdate: Completed Iteration 2",
      "IterationUpdate: Completed Loop 1",
      "HandlerLaunched: Finish handler 'finish' launched",
      "ExperimentCompleted: Experiment Completed",
    ]);
    const writes = w.store.statusWrites;
    assert.deepEqual(
      writes.map((e) => e.status?.stage),
      [
        "Waiting",
        "Waiting",
        "Initializing",
        "Running",
        "Running",
        "Running",
        "Running",
        "Finishing",
        "Completed",
      ],
    );
    // Observed weights after entering Running and after each iteration.
    assert.deepEqual(weightsOf(writes[3]!), [100, 0]);
    assert.deepEqual(weightsOf(writes[4]!), [95, 5]);
    assert.deepEqual(weightsOf(writes[5]!), [85, 15]);
    assert.deepEqual(weightsOf(writes[6]!), [75, 25]);
    assert.deepEqual(values(w.actuator.applied), [
      [95, 5],
      [85, 15],
      [75, 25],
    ]);
    assert.deepEqual(
      writes.slice(3, 7).map((e) => e.status?.versionRecommendedForPromotion),
      ["sample-app-v1", "sample-app-v1", "sample-app-v2", "sample-app-v2"],
    );
    // Iterations are intervalSeconds apart; the first runs on entering Running.
    assert.deepEqual(
      writes.slice(4, 7).map((e) => Date.parse(e.status!.lastUpdateTime!) - start),
      [0, 10_000, 20_000],
    );
    // status.metrics: the objectives' metrics and their sampleSize metric, normalised keys.
    assert.deepEqual(
      writes[3]!.status!.metrics!.map((m) => m.name),
      ["iter8-knative/mean-latency", "iter8-knative/error-rate", "iter8-knative/request-count"],
    );
    // Iteration 1: the candidate's unreadable value is absent, with the reason in the message.
    const a1 = writes[4]!.status!.analysis!;
    assert.equal(
      a1.aggregatedMetrics!.data["iter8-knative/mean-latency"]!.data["sample-app-v2"]!.value,
      undefined,
    );
    assert.match(
      a1.aggregatedMetrics!.message!,
      /mean-latency and version: sample-app-v2: query returned NaN/,
    );
    assert.deepEqual(a1.winnerAssessment!.data.winner, "sample-app-v1");

    const e = await final(w, "exp");
    assert.equal(e.status?.completedIterations, 3);
    assert.equal(cond(e, "Completed")?.status, "True");
    assert.equal(cond(e, "Failed")?.status, "False");
    assert.equal(cond(e, "TargetAcquired")?.status, "True");
    // The finish action saw the candidate recommended.
    assert.deepEqual(w.tasks.actions(), ["finish"]);
    assert.equal(w.tasks.calls[0]!.experiment.status?.versionRecommendedForPromotion, "sample-app-v2");
    const finish = (e.status as EngineStatus).actions?.find((a) => a.id === "finish");
    assert.equal(finish?.state, "Succeeded");
    assert.equal(finish?.tasks?.[0]?.output, "finish ran\n");
  });

  it("reports every recorded event once, after its status write", async () => {
    const exp = traceExperiment();
    const events: string[] = [];
    const w = world([exp], {
      engine: {
        onEvent: (_k, e, written) => events.push(`${written.status?.stage}|${e.reason}: ${e.message}`),
      },
    });
    await drive(w.engine, w.clock, [keyOf(exp)]);
    assert.deepEqual(events, [
      "Waiting|ExperimentInitialized: Experiment status initialized",
      "Waiting|TargetAcquired: ",
      "Initializing|StageAdvanced: Advanced to Initializing",
      "Running|StageAdvanced: Advanced to Running",
      "Running|IterationUpdate: Completed Iteration 1",
      "Running|IterationUpdate: Completed Iteration 2",
      "Running|IterationUpdate: Completed Iteration 3",
      "Running|IterationUpdate: Completed Loop 1",
      "Finishing|HandlerLaunched: Finish handler 'finish' launched",
      "Completed|StageAdvanced: Advanced to Completed",
      "Completed|ExperimentCompleted: Experiment Completed",
    ]);
  });

  it("with combinedStartWrite, the start-up steps share one write and are still every one an event", async () => {
    const exp = traceExperiment();
    const events: string[] = [];
    const w = world([exp], {
      engine: {
        combinedStartWrite: true,
        onEvent: (_k, e, written) => events.push(`${written.status?.stage}|${e.reason}: ${e.message}`),
      },
    });
    await drive(w.engine, w.clock, [keyOf(exp)]);
    assert.deepEqual(w.store.messages(), [
      "StageAdvanced: Advanced to Running",
      "IterationUpdate: Completed Iteration 1",
      "IterationUpdate: Completed Iteration 2",
      "IterationUpdate: Completed Loop 1",
      "HandlerLaunched: Finish handler 'finish' launched",
      "ExperimentCompleted: Experiment Completed",
    ]);
    const first = w.store.statusWrites[0]!;
    assert.ok(first.status?.initTime);
    assert.equal(cond(first, "TargetAcquired")?.status, "True");
    assert.deepEqual(weightsOf(first), [100, 0]);
    assert.deepEqual(events.slice(0, 4), [
      "Running|ExperimentInitialized: Experiment status initialized",
      "Running|TargetAcquired: ",
      "Running|StageAdvanced: Advanced to Initializing",
      "Running|StageAdvanced: Advanced to Running",
    ]);
    assert.deepEqual(values(w.actuator.applied), [
      [95, 5],
      [85, 15],
      [75, 25],
    ]);
  });

  it("reads every metric for every version in each iteration", async () => {
    const exp = traceExperiment();
    const w = world([exp]);
    await drive(w.engine, w.clock, [keyOf(exp)]);
    // 3 metrics x 2 versions x 3 iterations.
    assert.equal(w.metrics.calls.length, 18);
  });
});

describe("patterns", () => {
  it("seed 001 limits: the candidate rises by at most 20 and never above 75", async () => {
    const exp = traceExperiment("canary-progressive");
    exp.spec.strategy.weights = { maxCandidateWeight: 75, maxCandidateWeightIncrement: 20 };
    exp.spec.duration = { intervalSeconds: 10, iterationsPerLoop: 6 };
    const w = world([exp], { script: allGood });
    await drive(w.engine, w.clock, [keyOf(exp)]);
    const iterations = w.store.statusWrites.filter((e) => e.status?.message?.startsWith("IterationUpdate"));
    assert.deepEqual(iterations.map(weightsOf), [
      [80, 20],
      [60, 40],
      [40, 60],
      [25, 75],
      [25, 75],
      [25, 75],
    ]);
    // Unchanged weights are not patched again.
    assert.equal(w.actuator.applied.length, 4);
    assert.equal(w.tasks.calls[0]!.experiment.status?.versionRecommendedForPromotion, "sample-app-v2");
  });

  it("rollback_on_failure: stops in the failing iteration, runs finish with the baseline, no patch", async () => {
    const exp = traceExperiment();
    exp.spec.criteria!.objectives![1]!.rollback_on_failure = true;
    exp.spec.duration = { intervalSeconds: 10, iterationsPerLoop: 5 };
    const script: MetricScript = (m, v, _r, q) => {
      if (m.endsWith("/error-rate"))
        return { value: v === "sample-app-v2" && iterationOf(q) === 3 ? 0.05 : 0 };
      return { value: 10 };
    };
    const w = world([exp], { script });
    await drive(w.engine, w.clock, [keyOf(exp)]);
    const msgs = w.store.messages();
    assert.deepEqual(msgs.slice(msgs.indexOf("IterationUpdate: Completed Iteration 1")), [
      "IterationUpdate: Completed Iteration 1",
      "IterationUpdate: Completed Iteration 2",
      "HandlerLaunched: Rollback handler 'finish' launched",
      "ExperimentCompleted: Experiment Completed",
    ]);
    // Two iterations patched weights; the rollback iteration did not.
    assert.deepEqual(values(w.actuator.applied), [
      [90, 10],
      [80, 20],
    ]);
    const e = await final(w, "exp");
    assert.equal(e.status?.completedIterations, 2);
    assert.equal(cond(e, "Failed")?.status, "False");
    // The candidate had been winning, but the rollback recommends the baseline.
    assert.equal(w.tasks.calls[0]!.experiment.status?.versionRecommendedForPromotion, "sample-app-v1");
    assert.equal(e.status?.versionRecommendedForPromotion, "sample-app-v1");
  });

  it("BlueGreen rolls back by default; without finish the experiment ends `Experiment rolled back`", async () => {
    const exp = traceExperiment();
    exp.spec.strategy.deploymentPattern = "BlueGreen";
    delete exp.spec.strategy.actions;
    // Iteration 1: the candidate's mean latency is measured above the 50 ms objective.
    const script: MetricScript = (m, v) =>
      m.endsWith("/mean-latency") ? { value: v === "sample-app-v2" ? 80 : 20 } : { value: 0 };
    const w = world([exp], { script });
    await drive(w.engine, w.clock, [keyOf(exp)]);
    const e = await final(w, "exp");
    assert.equal(e.status?.message, "ExperimentCompleted: Experiment rolled back");
    assert.equal(e.status?.completedIterations, 0);
    assert.equal(w.actuator.applied.length, 0);
    assert.deepEqual(w.tasks.calls, []);
  });

  it("BlueGreen does not roll back on missing evidence: an unmeasured candidate is inconclusive", async () => {
    const exp = traceExperiment();
    exp.spec.strategy.deploymentPattern = "BlueGreen";
    delete exp.spec.strategy.actions;
    const w = world([exp], { script: traceMetrics }); // iteration 1: candidate mean-latency unreadable
    await drive(w.engine, w.clock, [keyOf(exp)]);
    const e = await final(w, "exp");
    assert.equal(e.status?.message, "ExperimentCompleted: Experiment completed successfully");
    assert.equal(e.status?.completedIterations, 3);
    assert.equal(e.status?.versionRecommendedForPromotion, "sample-app-v2");
  });

  it("Conformance never patches weights", async () => {
    const exp = traceExperiment("mirroring");
    exp.spec.strategy = { testingPattern: "Conformance" };
    exp.spec.versionInfo = { baseline: version("current", undefined, { revision: "sample-app-v2" }) };
    const w = world([exp], { script: allGood });
    await drive(w.engine, w.clock, [keyOf(exp)]);
    const e = await final(w, "mirroring");
    assert.equal(e.status?.message, "ExperimentCompleted: Experiment completed successfully");
    assert.equal(e.status?.completedIterations, 3);
    assert.equal(w.actuator.applied.length, 0);
    assert.deepEqual(e.status?.currentWeightDistribution, [{ name: "current", value: 100 }]);
    assert.equal(e.status?.versionRecommendedForPromotion, "current");
  });

  it("FixedSplit never patches weights and reports the fixed split", async () => {
    const exp = traceExperiment();
    exp.spec.strategy.deploymentPattern = "FixedSplit";
    const w = world([exp], { script: allGood, weights: { "sample-app-v1": 60, "sample-app-v2": 40 } });
    await drive(w.engine, w.clock, [keyOf(exp)]);
    const e = await final(w, "exp");
    assert.equal(e.status?.message, "ExperimentCompleted: Experiment Completed");
    assert.equal(w.actuator.applied.length, 0);
    assert.deepEqual(weightsOf(e), [60, 40]);
    assert.equal(e.status?.versionRecommendedForPromotion, "sample-app-v2");
  });

  it("runs the loop action after each loop and before finish", async () => {
    const exp = traceExperiment();
    exp.spec.duration = { intervalSeconds: 5, iterationsPerLoop: 2, maxLoops: 2 };
    exp.spec.strategy.actions!["loop"] = [{ task: "common/bash", with: { script: "true" } }];
    const w = world([exp], { script: allGood });
    await drive(w.engine, w.clock, [keyOf(exp)]);
    assert.deepEqual(w.tasks.actions(), ["loop", "loop", "finish"]);
    const msgs = w.store.messages();
    assert.ok(msgs.includes("HandlerLaunched: Loop handler 'loop' launched"));
    const e = (await final(w, "exp")) as Experiment & { status: EngineStatus };
    assert.deepEqual(
      e.status.actions?.map((a) => [a.id, a.state]),
      [
        ["loop-1", "Succeeded"],
        ["loop-2", "Succeeded"],
        ["finish", "Succeeded"],
      ],
    );
    assert.equal(e.status.completedIterations, 4);
  });
});

describe("failures", () => {
  it("a failed start task ends the experiment with `Start actions failed`", async () => {
    const exp = traceExperiment();
    exp.spec.strategy.actions!["start"] = [
      { task: "common/exec", with: { cmd: "false", disableInterpolation: true } },
    ];
    const w = world([exp]);
    w.tasks.behaviours.start = () => ({ ok: false });
    await drive(w.engine, w.clock, [keyOf(exp)]);
    const e = (await final(w, "exp")) as Experiment & { status: EngineStatus };
    assert.deepEqual(w.store.messages().slice(-2), [
      "HandlerLaunched: Start handler 'start' launched",
      "ExperimentCompleted: Start actions failed",
    ]);
    assert.equal(cond(e, "Failed")?.status, "True");
    assert.equal(cond(e, "Failed")?.reason, "HandlerFailed");
    assert.equal(cond(e, "Failed")?.message, "Start actions failed");
    assert.equal(e.status.actions?.[0]?.error, "fake/start: start task failed");
    assert.deepEqual(w.tasks.actions(), ["start"]); // no finish on failure
  });

  const missing: Array<[string, string, string]> = [
    ["namespaced reference", "iter8-knative/nope", "Unable to find metric iter8-knative/nope"],
    ["bare name", "nope", "Unable to find metric default/nope"],
  ];
  for (const [label, ref, message] of missing) {
    it(`a missing metric (${label}) fails with MetricUnavailable`, async () => {
      const exp = traceExperiment();
      exp.spec.criteria!.objectives![0]!.metric = ref;
      const w = world([exp]);
      await drive(w.engine, w.clock, [keyOf(exp)]);
      const e = await final(w, "exp");
      assert.equal(cond(e, "Failed")?.reason, "MetricUnavailable");
      assert.equal(cond(e, "Failed")?.message, message);
      assert.equal(e.status?.message, "ExperimentCompleted: Experiment failed");
      assert.equal(e.status?.stage, "Completed");
    });
  }

  it("a bare metric name resolves in the experiment namespace, then the install namespace", async () => {
    const exp = traceExperiment();
    exp.spec.criteria = { objectives: [{ metric: "latency", upperLimit: 50 }], indicators: ["count"] };
    const w = world([exp], { script: allGood });
    w.store.addMetric(metric("iter8-system", "latency", "count"));
    w.store.addMetric(metric("iter8-system", "count"));
    w.store.addMetric(metric("default", "count"));
    await drive(w.engine, w.clock, [keyOf(exp)]);
    const e = await final(w, "exp");
    assert.deepEqual(
      e.status?.metrics?.map((m) => m.name),
      ["default/count", "iter8-system/latency", "iter8-system/count"],
    );
    // The objective was looked up under its resolved key, so it is satisfied.
    assert.deepEqual(e.status?.analysis?.versionAssessments?.data, {
      "sample-app-v1": [true],
      "sample-app-v2": [true],
    });
  });

  it("a failed weight patch is retried with backoff, recorded, and the iteration counts only once applied", async () => {
    const exp = traceExperiment();
    const w = world([exp]);
    w.actuator.failApplies = 2;
    await drive(w.engine, w.clock, [keyOf(exp)]);
    const writes = w.store.statusWrites;
    const i = writes.findIndex((e) => e.status?.message?.startsWith("WeightRedistributionFailed"));
    assert.match(
      writes[i]!.status!.message!,
      /^WeightRedistributionFailed: Failure redistributing weights \(attempt 1, retrying in 1s\): patch rejected/,
    );
    assert.equal(writes[i]!.status!.completedIterations, 0);
    assert.equal((writes[i]!.status as EngineStatus).retry?.attempts, 1);
    assert.equal(cond(writes[i]!, "Completed")?.reason, "WeightRedistributionFailed");
    assert.match(writes[i + 1]!.status!.message!, /attempt 2, retrying in 2s/);
    assert.equal(writes[i + 2]!.status!.message, "IterationUpdate: Completed Iteration 1");
    assert.equal((writes[i + 2]!.status as EngineStatus).retry, undefined);
    // Backoff: 1 s then 2 s after the failures.
    const t = (k: number) => Date.parse(writes[k]!.status!.lastUpdateTime!);
    assert.equal(t(i + 2) - Date.parse(writes[i]!.status!.startTime!), 3000);
    const e = await final(w, "exp");
    assert.equal(e.status?.message, "ExperimentCompleted: Experiment Completed");
    assert.equal(e.status?.completedIterations, 3);
  });

  it("weights that do not read back as applied are retried too", async () => {
    const exp = traceExperiment();
    const w = world([exp]);
    w.actuator.silentlyIgnore = 1;
    await drive(w.engine, w.clock, [keyOf(exp)]);
    const msgs = w.store.messages();
    assert.ok(
      msgs.some((m) => /read back as \[sample-app-v1=100, sample-app-v2=0\], expected/.test(m)),
      msgs.join("\n"),
    );
    const failedWrite = w.store.statusWrites.find((e) =>
      e.status?.message?.startsWith("WeightRedistributionFailed"),
    )!;
    // currentWeightDistribution stays what was observed.
    assert.deepEqual(weightsOf(failedWrite), [100, 0]);
    assert.equal((await final(w, "exp")).status?.completedIterations, 3);
  });

  it("a weight patch that keeps failing fails the experiment after the last attempt", async () => {
    const exp = traceExperiment();
    const w = world([exp], { engine: { weightRetry: { baseMs: 100, maxMs: 1000, maxAttempts: 3 } } });
    w.actuator.failApplies = 100;
    await drive(w.engine, w.clock, [keyOf(exp)]);
    const e = await final(w, "exp");
    assert.equal(cond(e, "Failed")?.reason, "WeightRedistributionFailed");
    assert.match(cond(e, "Failed")!.message!, /after 3 attempts: patch rejected/);
    assert.equal(e.status?.message, "ExperimentCompleted: Experiment failed");
  });

  it("unreadable weights on entering Running are retried, then the experiment proceeds", async () => {
    const exp = traceExperiment();
    const w = world([exp]);
    w.actuator.failReads = 2;
    await drive(w.engine, w.clock, [keyOf(exp)]);
    const msgs = w.store.messages();
    const i = msgs.indexOf("StageAdvanced: Advanced to Initializing");
    assert.deepEqual(msgs.slice(i + 1, i + 4), [
      "WeightObservationFailed: Failure observing weights (attempt 1, retrying in 1s): target object unreachable",
      "WeightObservationFailed: Failure observing weights (attempt 2, retrying in 2s): target object unreachable",
      "StageAdvanced: Advanced to Running",
    ]);
    assert.equal((await final(w, "exp")).status?.message, "ExperimentCompleted: Experiment Completed");
  });

  it("weights that stay unreadable fail the experiment as InvalidExperiment", async () => {
    const exp = traceExperiment();
    const w = world([exp], { engine: { weightRetry: { baseMs: 10, maxMs: 10, maxAttempts: 2 } } });
    w.actuator.failReads = 100;
    await drive(w.engine, w.clock, [keyOf(exp)]);
    const e = await final(w, "exp");
    assert.equal(cond(e, "Failed")?.reason, "InvalidExperiment");
    assert.equal(
      cond(e, "Failed")?.message,
      "Specification of version weightObjectRef invalid after 2 attempts: target object unreachable",
    );
  });

  it("a transport error reading a Metric fails the step, not the experiment; the driver retries", async () => {
    const exp = traceExperiment();
    const w = world([exp]);
    w.store.failGetMetric = 1;
    const key = keyOf(exp);
    for (let i = 0; i < 3; i++) await w.engine.reconcile(key); // init, acquire, Initializing
    await assert.rejects(
      w.engine.reconcile(key),
      /Unable to load metric iter8-knative\/mean-latency: apiserver unavailable/,
    );
    assert.equal((await final(w, "exp")).status?.stage, "Initializing");
    const stop = new AbortController();
    const pump = autoAdvance(w.clock, stop.signal);
    const done = await w.engine.runExperiment(key);
    stop.abort();
    await pump;
    assert.equal(done?.status?.message, "ExperimentCompleted: Experiment Completed");
  });

  const invalid: Array<[string, (e: Experiment) => void, string]> = [
    ["no versionInfo", (e) => delete e.spec.versionInfo, "No versionInfo in experiment"],
    [
      "two candidates for Canary",
      (e) => e.spec.versionInfo!.candidates!.push(version("v3", 2)),
      "Invalid number of candidates for Canary experiment",
    ],
    [
      "duplicate names",
      (e) => (e.spec.versionInfo!.candidates![0]!.name = "sample-app-v1"),
      "Version names are not unique",
    ],
    [
      "a reward in a Canary",
      (e) =>
        (e.spec.criteria!.rewards = [{ metric: "iter8-knative/mean-latency", preferredDirection: "Low" }]),
      "Invalid number of rewards for Canary experiment",
    ],
    [
      "fieldPath not starting with '.'",
      (e) => (e.spec.versionInfo!.candidates![0]!.weightObjRef!.fieldPath = "spec.traffic[1].percent"),
      "Fieldpaths must start with '.'",
    ],
  ];
  // A start action changes versionInfo only (its effects); what it cannot change is invalid from the
  // outset here, and the check after start still catches it.
  const notAnEffect = new Set(["no versionInfo", "a reward in a Canary"]);
  for (const [label, mutate, message] of invalid) {
    it(`invalid versionInfo after start (${label}) fails with InvalidExperiment`, async () => {
      const exp = traceExperiment();
      exp.spec.strategy.actions!["start"] = [{ task: "knative/init-experiment" }];
      if (notAnEffect.has(label)) mutate(exp);
      const w = world([exp]);
      w.tasks.behaviours.start = (e) => {
        mutate(e);
        return { ok: true, experiment: e };
      };
      await drive(w.engine, w.clock, [keyOf(exp)]);
      const e = await final(w, "exp");
      assert.equal(cond(e, "Failed")?.reason, "InvalidExperiment");
      assert.equal(cond(e, "Failed")?.message, message);
      assert.equal(e.status?.message, "ExperimentCompleted: Experiment failed");
    });
  }

  it("versionInfo filled by the start action is written to the spec and used", async () => {
    const exp = traceExperiment();
    const filled = structuredClone(exp.spec.versionInfo!);
    delete exp.spec.versionInfo;
    exp.spec.strategy.actions!["start"] = [{ task: "knative/init-experiment" }];
    const w = world([exp], { script: allGood });
    w.tasks.behaviours.start = (e) => {
      e.spec.versionInfo = filled;
      return { ok: true, experiment: e };
    };
    await drive(w.engine, w.clock, [keyOf(exp)]);
    const e = await final(w, "exp");
    assert.deepEqual(e.spec.versionInfo, filled);
    assert.equal(e.status?.message, "ExperimentCompleted: Experiment Completed");
    assert.equal(e.status?.completedIterations, 3);
  });

  it("invalid task specs fail the experiment before anything runs", async () => {
    const exp = traceExperiment();
    const w = world([exp]);
    w.tasks.validateProblems = ['spec.strategy.actions.finish[0].task: unknown task "common/nope"'];
    await drive(w.engine, w.clock, [keyOf(exp)]);
    const e = await final(w, "exp");
    assert.equal(cond(e, "Failed")?.reason, "InvalidExperiment");
    assert.match(cond(e, "Failed")!.message!, /unknown task "common\/nope"/);
    assert.equal(cond(e, "TargetAcquired")?.status, "False");
  });

  it("an action that outlives its deadline fails the experiment", async () => {
    const exp = traceExperiment();
    const w = world([exp], { script: allGood, engine: { actionTimeoutMs: 60_000 } });
    w.tasks.hold = true;
    const key = keyOf(exp);
    let r = await w.engine.reconcile(key);
    while (!r.pending) {
      w.clock.advance(r.requeueAfterMs ?? 0);
      r = await w.engine.reconcile(key);
    }
    w.clock.advance(60_000);
    await r.pending;
    await drive(w.engine, w.clock, [key]);
    const e = (await final(w, "exp")) as Experiment & { status: EngineStatus };
    assert.equal(e.status.message, "ExperimentCompleted: Finish actions failed");
    assert.equal(e.status.actions?.[0]?.error, "finish action timed out after 60s");
  });

  it("keeps the tail of long task output in status", async () => {
    const exp = traceExperiment();
    const w = world([exp]);
    const long = `${"x".repeat(20_000)}END`;
    w.tasks.behaviours.finish = () => ({ ok: true, output: long });
    await drive(w.engine, w.clock, [keyOf(exp)]);
    const out = ((await final(w, "exp")).status as EngineStatus).actions![0]!.tasks![0]!.output;
    assert.ok(out.length < 8300, String(out.length));
    assert.match(out, /^\[\.\.\. 11811 earlier characters not kept \.\.\.\]\nx+END$/);
  });

  it("status write conflicts are retried by re-reading", async () => {
    const exp = traceExperiment();
    const w = world([exp]);
    w.store.conflicts = 3;
    await drive(w.engine, w.clock, [keyOf(exp)]);
    assert.equal((await final(w, "exp")).status?.message, "ExperimentCompleted: Experiment Completed");
    assert.equal(w.store.messages()[0], "ExperimentInitialized: Experiment status initialized");
  });
});

describe("admission", () => {
  it("an experiment the store accepted but iter8 cannot run ends Failed in one write, before anything runs", async () => {
    const exp = traceExperiment("inadmissible");
    const w = world([exp], { engine: { admission: () => ["spec.x: not runnable", "spec.y: neither"] } });
    const result = await w.engine.reconcile(keyOf(exp));
    assert.equal(result.done, true);
    assert.equal(w.store.statusWrites.length, 1);
    const e = await final(w, "inadmissible");
    assert.equal(e.status?.stage, "Completed");
    assert.equal(cond(e, "Failed")?.status, "True");
    assert.equal(cond(e, "Failed")?.message, "Invalid experiment: spec.x: not runnable; spec.y: neither");
    assert.equal(w.actuator.applied.length, 0);
  });

  it("a completed experiment is not judged again", async () => {
    const exp = traceExperiment("done");
    const w = world([exp], { script: allGood });
    await drive(w.engine, w.clock, [keyOf(exp)]);
    const writes = w.store.statusWrites.length;
    const later = w.newEngine({ admission: () => ["now invalid"] });
    assert.equal((await later.reconcile(keyOf(exp))).done, true);
    assert.equal(w.store.statusWrites.length, writes);
  });
});

describe("target locking", () => {
  it("a second experiment on the same target waits, then runs after the first completes", async () => {
    const a = traceExperiment("first");
    const b = traceExperiment("second");
    const w = world([a], { script: allGood });
    await w.engine.reconcile(keyOf(a)); // first is initialised first
    w.clock.advance(1000);
    w.store.add(b);
    await drive(w.engine, w.clock, [keyOf(a), keyOf(b)]);
    const writes = w.store.statusWrites;
    const firstDone = writes.findIndex((e) => e.metadata.name === "first" && e.status?.stage === "Completed");
    const secondAcquired = writes.findIndex(
      (e) => e.metadata.name === "second" && e.status?.message === "TargetAcquired",
    );
    assert.ok(
      firstDone >= 0 && secondAcquired > firstDone,
      `second acquired at ${secondAcquired}, first done at ${firstDone}`,
    );
    // While waiting the second kept its initial message and stage.
    const waiting = writes.filter((e, i) => e.metadata.name === "second" && i < secondAcquired);
    assert.deepEqual(
      waiting.map((e) => [e.status?.stage, e.status?.message]),
      [["Waiting", "ExperimentInitialized: Experiment status initialized"]],
    );
    assert.equal((await final(w, "second")).status?.message, "ExperimentCompleted: Experiment Completed");
  });

  for (const combinedStartWrite of [false, true]) {
    it(`two experiments taking one target at once: exactly one gets it (combinedStartWrite ${combinedStartWrite})`, async () => {
      const a = traceExperiment("first");
      const b = traceExperiment("second");
      const w = world([a, b], { script: allGood, engine: { combinedStartWrite } });
      const both = () => Promise.all([w.engine.reconcile(keyOf(a)), w.engine.reconcile(keyOf(b))]);
      await both();
      if (!combinedStartWrite) await both(); // the first pass only initialises
      const holders = [await final(w, "first"), await final(w, "second")].filter(
        (e) => cond(e, "TargetAcquired")?.status === "True",
      );
      assert.equal(holders.length, 1);
    });
  }

  it("reads only the target's index, never every experiment", async () => {
    const a = traceExperiment("first");
    const b = traceExperiment("second");
    const w = world([a, b], { script: allGood });
    await drive(w.engine, w.clock, [keyOf(a), keyOf(b)]);
    assert.equal((await final(w, "second")).status?.message, "ExperimentCompleted: Experiment Completed");
    assert.equal(w.store.listCalls, 0);
    assert.ok(w.store.targetReads > 0);
  });

  it("equal initTime: the queue is ordered by namespace/name", async () => {
    const b = traceExperiment("b-exp");
    const a = traceExperiment("a-exp");
    const w = world([b, a], { script: allGood });
    await w.engine.reconcile(keyOf(b));
    await w.engine.reconcile(keyOf(a)); // same fake time
    await drive(w.engine, w.clock, [keyOf(b), keyOf(a)]);
    const acquired = w.store.statusWrites
      .filter((e) => e.status?.message === "TargetAcquired")
      .map((e) => e.metadata.name);
    assert.deepEqual(acquired, ["a-exp", "b-exp"]);
  });

  it("runExperiment wakes the waiting experiment as soon as the target is released", async () => {
    const a = traceExperiment("first");
    const b = traceExperiment("second");
    const w = world([a], { script: allGood, engine: { waitingPollMs: 3_600_000 } });
    await w.engine.reconcile(keyOf(a));
    w.store.add(b);
    const stop = new AbortController();
    const pump = autoAdvance(w.clock, stop.signal);
    const [ra, rb] = await Promise.all([w.engine.runExperiment(keyOf(a)), w.engine.runExperiment(keyOf(b))]);
    stop.abort();
    await pump;
    assert.equal(ra?.status?.message, "ExperimentCompleted: Experiment Completed");
    assert.equal(rb?.status?.message, "ExperimentCompleted: Experiment Completed");
    // Woken at once, not after the hour-long poll: second started right when first ended.
    const aEnd = Date.parse(ra!.status!.conditions!.find((c) => c.type === "Completed")!.lastTransitionTime!);
    const bStart = Date.parse(rb!.status!.startTime!);
    assert.equal(bStart, aEnd);
  });
});

/** Advances the fake clock to the next timer whenever the process is otherwise idle. */
async function autoAdvance(clock: FakeClock, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    const next = clock.nextTimerIn();
    if (next !== undefined) clock.advance(next);
  }
}

describe("runExperiment", () => {
  it("drives one experiment to completion on the clock and resolves with it", async () => {
    const exp = traceExperiment();
    const w = world([exp]);
    const stop = new AbortController();
    const pump = autoAdvance(w.clock, stop.signal);
    const start = w.clock.ms;
    const done = await w.engine.runExperiment(keyOf(exp));
    stop.abort();
    await pump;
    assert.equal(done?.status?.message, "ExperimentCompleted: Experiment Completed");
    assert.equal(w.clock.ms - start, 20_000);
    assert.deepEqual(values(w.actuator.applied), [
      [95, 5],
      [85, 15],
      [75, 25],
    ]);
  });

  it("an aborted driver rejects and leaves the running action for the next engine", async () => {
    const exp = traceExperiment();
    const w = world([exp], { script: allGood });
    w.tasks.hold = true;
    const stop = new AbortController();
    const pump = autoAdvance(w.clock, stop.signal);
    const run = w.engine.runExperiment(keyOf(exp), { signal: stop.signal });
    while (w.tasks.heldCount === 0) await new Promise((r) => setImmediate(r));
    stop.abort();
    await assert.rejects(run, { name: "AbortError" });
    await pump;
    const mid = (await final(w, "exp")) as Experiment & { status: EngineStatus };
    assert.equal(mid.status.actions?.[0]?.state, "Running");
    // A new engine relaunches the interrupted finish action and completes.
    w.tasks.hold = false;
    await drive(w.newEngine(), w.clock, [keyOf(exp)]);
    const e = (await final(w, "exp")) as Experiment & { status: EngineStatus };
    assert.equal(e.status.message, "ExperimentCompleted: Experiment Completed");
    assert.equal(e.status.actions?.[0]?.attempts, 2);
    assert.deepEqual(w.tasks.actions(), ["finish", "finish"]);
  });
});

describe("status schema of the engine's fields", () => {
  it("accepts the status the engine writes (actions and retry)", async () => {
    const { Ajv } = await import("ajv");
    const { ENGINE_STATUS_PROPERTIES } = await import("../../../src/api/status-schema.ts");
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile({ type: "object", properties: ENGINE_STATUS_PROPERTIES });
    const exp = traceExperiment();
    exp.spec.strategy.actions!["loop"] = [{ task: "common/bash", with: { script: "true" } }];
    const w = world([exp]);
    w.actuator.failApplies = 1;
    await drive(w.engine, w.clock, [keyOf(exp)]);
    const withRetry = w.store.statusWrites.find((e) => (e.status as EngineStatus).retry);
    assert.ok(withRetry);
    for (const e of [withRetry, await final(w, "exp")]) {
      assert.ok(validate(e.status), JSON.stringify(validate.errors));
    }
    assert.equal(validate({ actions: [{ id: "start" }] }), false);
  });
});
