// Promotion exactly once: a local run (a real process) killed right after its promotion task ran,
// while the next finish task runs, resumes without promoting again. The interrupted task runs again
// only when it is declared idempotent; otherwise the action ends Failed, saying it was not re-run.

import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { buildOnce, copyExample, orphansAfter, readJson, runCli, startCli, tempDir } from "./helpers.ts";

type Exp = {
  status: {
    message: string;
    conditions: Array<{ type: string; status: string; message?: string }>;
    actions: Array<{ id: string; state: string; error?: string; tasks?: Array<{ skipped: boolean }> }>;
  };
};
type Run = { routing: { promotions: Array<{ revision: string }> } };

/** The helm example with a second finish task that, on its first run only, waits to be killed. */
function exampleWithSlowSecondTask(idempotent: boolean): { dir: string; mark: string } {
  const dir = copyExample("canary-progressive-helm");
  const mark = join(dir, "second-task-started");
  const file = join(dir, "experiment.yaml");
  const exp = parse(readFileSync(file, "utf8"));
  exp.spec.strategy.actions.finish.push({
    run: `if [ -e '${mark}' ]; then echo second run; else touch '${mark}'; sleep 60; fi`,
    ...(idempotent ? { idempotent: true } : {}),
  });
  writeFileSync(file, stringify(exp));
  return { dir, mark };
}

async function waitForFile(path: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > until) throw new Error(`${path} did not appear in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(() => buildOnce());

describe("a run killed right after its promotion", { concurrency: true }, () => {
  for (const idempotent of [true, false]) {
    it(`resumes without promoting again (next task ${idempotent ? "idempotent: re-run" : "not idempotent: not re-run"})`, async () => {
      const { dir, mark } = exampleWithSlowSecondTask(idempotent);
      const state = tempDir("exactly-once");
      // --run-tasks: the second finish task is a shell script, which a local run only prints otherwise.
      const args = ["local", "run", dir, "--interval", "0.5", "--state-dir", state, "--run-tasks"];
      const first = startCli(args);
      await waitForFile(mark, 120_000);
      first.kill("SIGKILL");
      assert.equal(await first.exited, "SIGKILL");
      await orphansAfter(first.marker);
      const runFile = join(state, "runs/default.canary-progressive.json");
      assert.equal(readJson<Run>(runFile).routing.promotions.length, 1, "promoted once before the kill");

      const second = await runCli(args);
      assert.deepEqual(await orphansAfter(second.marker), []);
      const exp = readJson<Exp>(join(state, "experiments/default.canary-progressive.json"));
      const finish = exp.status.actions.find((a) => a.id === "finish")!;
      assert.equal(readJson<Run>(runFile).routing.promotions.length, 1, "no second promotion");
      if (idempotent) {
        assert.equal(second.code, 0, second.stdout + second.stderr);
        assert.equal(finish.state, "Succeeded");
        assert.equal(finish.tasks?.[0]?.skipped, true, "the promotion task was not run again");
        assert.equal(exp.status.message, "ExperimentCompleted: Experiment Completed");
      } else {
        assert.notEqual(second.code, 0);
        assert.equal(finish.state, "Failed");
        assert.match(finish.error ?? "", /^run \(task 2 of finish\) was interrupted; not re-run/);
        assert.equal(exp.status.conditions.find((c) => c.type === "Failed")?.status, "True");
      }
    });
  }
});
