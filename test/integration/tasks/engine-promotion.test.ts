// The engine with the real task runner: the finish action's `common/exec` promotes the version the
// experiment recommends (seed 001's `{{ .promote }}`), as real child processes, and `if:` conditions
// see the final analysis. The other ports are the in-memory doubles of the engine's unit tests.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Experiment } from "../../../src/api/types.ts";
import { Engine } from "../../../src/engine/engine.ts";
import type { EngineStatus } from "../../../src/engine/status.ts";
import { InProcessTaskRunner } from "../../../src/tasks/runner.ts";
import { drive, KNATIVE_METRICS, keyOf, traceExperiment } from "../../unit/engine/builders.ts";
import {
  FakeActuator,
  FakeClock,
  MemoryStore,
  type MetricScript,
  ScriptedMetrics,
} from "../../unit/engine/fakes.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "iter8-promote-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function promotingExperiment(out: string): Experiment {
  const exp = traceExperiment("canary-progressive");
  exp.spec.strategy.weights = { maxCandidateWeight: 75, maxCandidateWeightIncrement: 20 };
  exp.spec.strategy.actions = {
    finish: [
      { task: "common/exec", with: { cmd: "/usr/bin/touch", args: [`${out}/{{ .promote }}-values.yaml`] } },
      { run: `touch ${out}/candidate-won`, if: "CandidateWon()" },
      { run: `touch ${out}/no-winner`, if: "not WinnerFound()" },
    ],
  };
  return exp;
}

async function run(exp: Experiment, script: MetricScript) {
  const store = new MemoryStore();
  for (const m of KNATIVE_METRICS) store.addMetric(m);
  store.add(exp);
  const clock = new FakeClock();
  const engine = new Engine({
    store,
    actuator: new FakeActuator({ "sample-app-v1": 100, "sample-app-v2": 0 }),
    metrics: new ScriptedMetrics(script),
    tasks: new InProcessTaskRunner({
      platform: { getObject: async () => undefined, getSecret: async () => undefined },
      clock,
    }),
    clock,
  });
  await drive(engine, clock, [keyOf(exp)]);
  return (await store.get(keyOf(exp)))! as Experiment & { status: EngineStatus };
}

describe("promotion through the finish action", () => {
  it("a winning candidate is promoted with its own variables", async () => {
    const out = join(dir, "win");
    await mkdir(out);
    const e = await run(promotingExperiment(out), () => ({ value: 0 }));
    assert.equal(e.status.message, "ExperimentCompleted: Experiment Completed");
    assert.deepEqual((await readdir(out)).sort(), ["candidate-values.yaml", "candidate-won"]);
    const finish = e.status.actions!.find((a) => a.id === "finish")!;
    assert.deepEqual(
      finish.tasks!.map((t) => [t.task, t.skipped, t.ok]),
      [
        ["common/exec", false, true],
        ["run", false, true],
        ["run", true, true],
      ],
    );
    assert.match(finish.tasks![0]!.output, /\$ \/usr\/bin\/touch .*\/win\/candidate-values\.yaml/);
  });

  it("a rollback promotes the baseline", async () => {
    const out = join(dir, "rollback");
    await mkdir(out);
    const exp = promotingExperiment(out);
    exp.spec.strategy.deploymentPattern = "BlueGreen";
    // The candidate's error rate is too high from the second iteration on.
    const script: MetricScript = (metric, v, _r, q) => {
      const n = (q.experiment.status?.completedIterations ?? 0) + 1;
      return { value: metric.endsWith("/error-rate") && v === "sample-app-v2" && n >= 2 ? 0.5 : 0 };
    };
    const e = await run(exp, script);
    assert.equal(e.status.completedIterations, 1);
    assert.deepEqual(await readdir(out), ["baseline-values.yaml"]);
    assert.equal(existsSync(join(out, "candidate-won")), false);
  });
});
