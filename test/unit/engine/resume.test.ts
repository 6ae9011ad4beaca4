// Resuming: the engine is thrown away at an arbitrary point (just before or just after any status
// write, or while an action runs) and a new engine on the same store carries on. No iteration may be
// repeated or skipped, and the outcome must equal an uninterrupted run.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Experiment } from "../../../src/api/types.ts";
import { Engine } from "../../../src/engine/engine.ts";
import type { EngineStatus } from "../../../src/engine/status.ts";
import { drive, KNATIVE_METRICS, keyOf, traceExperiment } from "./builders.ts";
import {
  CrashError,
  FakeActuator,
  FakeClock,
  FakeTaskRunner,
  MemoryStore,
  type MetricScript,
  ScriptedMetrics,
} from "./fakes.ts";

/** Deterministic per iteration: the candidate is unreadable in iteration 1, then wins. */
const script: MetricScript = (metric, v, _round, q) => {
  const n = (q.experiment.status?.completedIterations ?? 0) + 1;
  if (metric.endsWith("/request-count")) return { value: 100 * n };
  if (metric.endsWith("/mean-latency") && v === "sample-app-v2" && n === 1) return { error: "NaN" };
  return { value: metric.endsWith("/error-rate") ? 0 : 20 };
};

interface Crash {
  /** Index of the status write at which the engine dies. */
  write: number;
  when: "before" | "after";
}

function experiment(): Experiment {
  const exp = traceExperiment();
  exp.spec.duration = { intervalSeconds: 10, iterationsPerLoop: 3, maxLoops: 2 };
  exp.spec.strategy.actions!["start"] = [{ task: "common/readiness" }];
  exp.spec.strategy.actions!["loop"] = [{ task: "metrics/collect" }];
  return exp;
}

async function runWithCrashes(crashes: Crash[]) {
  const store = new MemoryStore();
  for (const m of KNATIVE_METRICS) store.addMetric(m);
  const exp = experiment();
  store.add(exp);
  const actuator = new FakeActuator({ "sample-app-v1": 100, "sample-app-v2": 0 });
  const metrics = new ScriptedMetrics(script);
  const tasks = new FakeTaskRunner();
  const clock = new FakeClock();
  const make = () => new Engine({ store, actuator, metrics, tasks, clock });

  // Each write index crashes at most once (the restarted engine writes it again).
  const pending = [...crashes];
  let attempt = 0;
  store.beforeStatusWrite = () => {
    const i = pending.findIndex((c) => c.when === "before" && c.write === attempt);
    attempt++;
    if (i >= 0) {
      pending.splice(i, 1);
      attempt--;
      throw new CrashError(`crash before write ${attempt}`);
    }
  };
  store.afterStatusWrite = (_e, n) => {
    const i = pending.findIndex((c) => c.when === "after" && c.write === n);
    if (i >= 0) {
      pending.splice(i, 1);
      throw new CrashError(`crash after write ${n}`);
    }
  };

  let engine = make();
  let restarts = 0;
  for (;;) {
    try {
      await drive(engine, clock, [keyOf(exp)]);
      break;
    } catch (err) {
      if (!(err instanceof CrashError)) throw err;
      engine.close();
      engine = make();
      restarts++;
      assert.ok(restarts < 50, "too many restarts");
    }
  }
  const final = (await store.get(keyOf(exp)))! as Experiment & { status: EngineStatus };
  return { store, actuator, tasks, final, restarts };
}

function iterationMessages(store: MemoryStore): number[] {
  const out: number[] = [];
  let last = 0;
  for (const e of store.statusWrites) {
    const n = e.status?.completedIterations ?? 0;
    if (n !== last) out.push(n);
    last = n;
  }
  return out;
}

function distinctConsecutive<T>(xs: T[]): T[] {
  return xs.filter((x, i) => i === 0 || JSON.stringify(x) !== JSON.stringify(xs[i - 1]));
}

describe("resume after a crash", () => {
  it("the uninterrupted run (reference)", async () => {
    const { store, final, tasks } = await runWithCrashes([]);
    assert.equal(final.status.completedIterations, 6);
    assert.deepEqual(iterationMessages(store), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(tasks.actions(), ["start", "loop", "loop", "finish"]);
  });

  it("crashing before or after any status write never repeats or skips an iteration", async () => {
    const reference = await runWithCrashes([]);
    const writes = reference.store.statusWrites.length;
    const refApplied = reference.actuator.applied.map((w) => w.map((x) => x.value));
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            write: fc.integer({ min: 0, max: writes - 1 }),
            when: fc.constantFrom<"before" | "after">("before", "after"),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        async (crashes) => {
          const run = await runWithCrashes(crashes);
          // completedIterations goes up by exactly one at a time, to the total.
          assert.deepEqual(iterationMessages(run.store), [1, 2, 3, 4, 5, 6]);
          // Each iteration and loop is recorded exactly once, in order, as in the reference run.
          const progress = (st: MemoryStore) => st.messages().filter((m) => m.startsWith("IterationUpdate"));
          assert.deepEqual(progress(run.store), progress(reference.store));
          // The weights moved through the same steps (a redone iteration re-applies the same step).
          assert.deepEqual(
            distinctConsecutive(run.actuator.applied.map((w) => w.map((x) => x.value))),
            refApplied,
          );
          // Same outcome as the uninterrupted run.
          assert.equal(run.final.status.message, reference.final.status.message);
          assert.equal(run.final.status.completedIterations, 6);
          assert.deepEqual(
            run.final.status.currentWeightDistribution,
            reference.final.status.currentWeightDistribution,
          );
          assert.equal(
            run.final.status.versionRecommendedForPromotion,
            reference.final.status.versionRecommendedForPromotion,
          );
          assert.deepEqual(
            run.final.status.actions?.map((a) => [a.id, a.state]),
            reference.final.status.actions?.map((a) => [a.id, a.state]),
          );
          // Actions ran in order; an action is re-run only if a crash interrupted it.
          assert.deepEqual(distinctConsecutive(run.tasks.actions()), ["start", "loop", "finish"]);
        },
      ),
      { numRuns: 150, seed: 20211122 },
    );
  });

  it("an engine that stops while an action runs: the next engine relaunches it once", async () => {
    const store = new MemoryStore();
    for (const m of KNATIVE_METRICS) store.addMetric(m);
    const exp = experiment();
    store.add(exp);
    const actuator = new FakeActuator({ "sample-app-v1": 100, "sample-app-v2": 0 });
    const tasks = new FakeTaskRunner();
    const clock = new FakeClock();
    const make = () => new Engine({ store, actuator, metrics: new ScriptedMetrics(script), tasks, clock });
    tasks.hold = true;
    const first = make();
    const key = keyOf(exp);
    let r = await first.reconcile(key);
    while (!r.pending) r = await first.reconcile(key);
    assert.equal(tasks.heldCount, 1);
    first.close(); // the start action is cancelled with the engine
    tasks.hold = false;
    await drive(make(), clock, [key]);
    const final = (await store.get(key))! as Experiment & { status: EngineStatus };
    assert.equal(final.status.message, "ExperimentCompleted: Experiment Completed");
    assert.deepEqual(tasks.actions(), ["start", "start", "loop", "loop", "finish"]);
    assert.equal(final.status.actions?.find((a) => a.id === "start")?.attempts, 2);
  });

  it("an action interrupted more than maxActionAttempts times fails the experiment", async () => {
    const store = new MemoryStore();
    for (const m of KNATIVE_METRICS) store.addMetric(m);
    const exp = experiment();
    store.add(exp);
    const tasks = new FakeTaskRunner();
    tasks.hold = true;
    const clock = new FakeClock();
    const deps = {
      store,
      actuator: new FakeActuator({ "sample-app-v1": 100, "sample-app-v2": 0 }),
      metrics: new ScriptedMetrics(script),
      tasks,
      clock,
      maxActionAttempts: 2,
    };
    const key = keyOf(exp);
    for (let i = 0; i < 2; i++) {
      const engine = new Engine(deps);
      let r = await engine.reconcile(key);
      while (!r.pending) r = await engine.reconcile(key);
      engine.close();
    }
    await drive(new Engine(deps), clock, [key]);
    const final = (await store.get(key))! as Experiment & { status: EngineStatus };
    assert.equal(final.status.message, "ExperimentCompleted: Start actions failed");
    assert.match(final.status.actions![0]!.error!, /interrupted 2 times/);
  });
});
