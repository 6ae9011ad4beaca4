// What must go wrong safely: a candidate with injected latency is not promoted (the baseline is),
// `rollback_on_failure` ends the experiment early, a run killed by SIGKILL resumes from its status
// without repeating or skipping an iteration, and bad lab files or manifests are rejected before
// anything starts, with the file and field named. No process is left behind in any case.

import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import {
  buildOnce,
  copyExample,
  examples,
  iterationLines,
  orphansAfter,
  processesWithMarker,
  readJson,
  runCli,
  startCli,
  tempDir,
} from "./helpers.ts";

type Exp = {
  status: {
    stage: string;
    completedIterations: number;
    message: string;
    versionRecommendedForPromotion?: string;
    conditions: Array<{ type: string; status: string }>;
  };
};
type Run = {
  routing: { promotions: Array<{ revision: string; values: string[]; traffic: Record<string, number> }> };
  history: Array<{ iteration: number; weights: Record<string, number> }>;
};

const canary = join(examples, "canary-progressive-helm");

/** The example's lab file plus injected latency for the candidate revision. */
function slowCandidateLab(): string {
  const lab = `${readFileSync(join(canary, "lab.yaml"), "utf8")}
revisions:
  sample-app-v2:
    args: [--latency, 150ms]
`;
  const file = join(tempDir("lab"), "slow-candidate.yaml");
  writeFileSync(file, lab);
  return file;
}

before(() => buildOnce());

describe("failure handling (concurrently: each run mostly waits for its interval)", {
  concurrency: true,
}, () => {
  describe("a candidate that fails its objectives", () => {
    it("is not promoted: the baseline is, and the candidate gains no traffic for long", async () => {
      const state = tempDir("slow");
      const r = await runCli([
        "local",
        "run",
        canary,
        "--interval",
        "0.5",
        "--state-dir",
        state,
        "--lab",
        slowCandidateLab(),
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(await orphansAfter(r.marker), []);
      const exp = readJson<Exp>(join(state, "experiments/default.canary-progressive.json"));
      assert.equal(exp.status.completedIterations, 10);
      assert.equal(exp.status.versionRecommendedForPromotion, "current");
      // (Under heavy load the baseline may miss its own p95 objective too: then there is no winner, and
      // the baseline is still what gets promoted.)
      assert.match(r.stdout, /Version recommended for promotion: current\n/);
      assert.match(r.stdout, /\| iter8-knative\/mean-latency <=\s+\| \w+\s+\| false {5}\|/);
      const run = readJson<Run>(join(state, "runs/default.canary-progressive.json"));
      assert.equal(run.routing.promotions.length, 1);
      assert.equal(run.routing.promotions[0]!.revision, "sample-app-v1");
      assert.match(run.routing.promotions[0]!.values[0]!, /\/baseline-values\.yaml$/);
      assert.deepEqual(run.routing.promotions[0]!.traffic, { "sample-app-v1": 100 });
      const last = iterationLines(r.stdout).at(-1)!;
      assert.ok(
        last.weights["candidate"]! < 50,
        `an infeasible candidate keeps little traffic (${last.weights["candidate"]})`,
      );
    });

    it("with rollback_on_failure rolls back early and promotes the baseline", async () => {
      const dir = copyExample("canary-progressive-helm");
      const expFile = join(dir, "experiment.yaml");
      writeFileSync(
        expFile,
        readFileSync(expFile, "utf8").replace(
          "    - metric: iter8-knative/mean-latency\n      upperLimit: 50\n",
          "    - metric: iter8-knative/mean-latency\n      upperLimit: 50\n      rollback_on_failure: true\n",
        ),
      );
      assert.match(readFileSync(expFile, "utf8"), /rollback_on_failure: true/);
      const state = tempDir("rollback");
      const r = await runCli([
        "local",
        "run",
        dir,
        "--interval",
        "0.5",
        "--state-dir",
        state,
        "--lab",
        slowCandidateLab(),
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(await orphansAfter(r.marker), []);
      const exp = readJson<Exp>(join(state, "experiments/default.canary-progressive.json"));
      assert.equal(exp.status.stage, "Completed");
      assert.ok(
        exp.status.completedIterations < 10,
        `rolled back after ${exp.status.completedIterations} iterations`,
      );
      assert.equal(exp.status.versionRecommendedForPromotion, "current");
      assert.match(r.stdout, /HandlerLaunched: Rollback handler 'finish' launched/);
      const run = readJson<Run>(join(state, "runs/default.canary-progressive.json"));
      assert.equal(run.routing.promotions[0]?.revision, "sample-app-v1");
    });
  });

  describe("a run killed mid-experiment", () => {
    it("resumes from its status when started again: no iteration repeated or skipped", async () => {
      const state = tempDir("resume");
      const args = ["local", "run", canary, "--interval", "0.5", "--state-dir", state];
      const first = startCli(args);
      await first.waitFor(/\s3\s+current=\d+ candidate=\d+\s+IterationUpdate: Completed Iteration 3\n/);
      assert.ok(processesWithMarker(first.marker).length >= 2, "version processes are running");
      first.kill("SIGKILL");
      assert.equal(await first.exited, "SIGKILL");
      assert.deepEqual(
        await orphansAfter(first.marker),
        [],
        "the watchdogs stop the versions of a killed run",
      );
      const saved = readJson<Exp>(join(state, "experiments/default.canary-progressive.json"));
      assert.equal(saved.status.stage, "Running");
      const done = saved.status.completedIterations;
      assert.ok(done >= 3 && done < 10);

      const second = await runCli(args);
      assert.equal(second.code, 0, second.stdout + second.stderr);
      assert.deepEqual(await orphansAfter(second.marker), []);
      assert.match(
        second.stdout,
        new RegExp(`resuming default/canary-progressive .* stage Running, ${done} iterations completed`),
      );
      const resumed = iterationLines(second.stdout).map((l) => l.iteration);
      assert.deepEqual(
        resumed,
        Array.from({ length: 10 - done }, (_, i) => done + 1 + i),
      );
      const run = readJson<Run>(join(state, "runs/default.canary-progressive.json"));
      assert.deepEqual(
        run.history.map((h) => h.iteration),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      );
      // The weights continue from where the killed run left them (routes were persisted).
      const before = run.history[done - 1]!.weights["candidate"]!;
      const after = run.history[done]!.weights["candidate"]!;
      assert.ok(
        after >= before && after - before <= 20,
        `candidate ${before} -> ${after} across the restart`,
      );
      const exp = readJson<Exp>(join(state, "experiments/default.canary-progressive.json"));
      assert.equal(exp.status.message, "ExperimentCompleted: Experiment Completed");
      assert.equal(run.routing.promotions.length, 1);
    });
  });

  describe("bad input is rejected before anything starts", { concurrency: true }, () => {
    const cases: Array<{ name: string; change: (dir: string) => void; expect: RegExp }> = [
      {
        name: "a lab image without a command",
        change: (d) =>
          writeFileSync(
            join(d, "lab.yaml"),
            readFileSync(join(d, "lab.yaml"), "utf8").replace(
              "  gcr.io/knative-samples/knative-route-demo:green:\n    command: [iter8, sample-app]",
              "  gcr.io/knative-samples/knative-route-demo:green:\n    command: []",
            ),
          ),
        expect:
          /lab\.yaml: images\["gcr\.io\/knative-samples\/knative-route-demo:green"\]\.command: must name a program/,
      },
      {
        name: "an unknown lab field",
        change: (d) =>
          writeFileSync(join(d, "lab.yaml"), `${readFileSync(join(d, "lab.yaml"), "utf8")}\nimagez: {}\n`),
        expect: /lab\.yaml: imagez: unknown field/,
      },
      {
        name: "a traffic entry for a Job that does not exist",
        change: (d) =>
          writeFileSync(
            join(d, "lab.yaml"),
            readFileSync(join(d, "lab.yaml"), "utf8").replace("- job: fortio", "- job: fortiox"),
          ),
        expect: /lab\.yaml: traffic\[0\]\.job: no batch\/v1 Job named fortiox/,
      },
      {
        name: "an image the lab does not map",
        change: (d) =>
          writeFileSync(
            join(d, "sample-app.rendered.yaml"),
            readFileSync(join(d, "sample-app.rendered.yaml"), "utf8").replace(
              "knative-route-demo:green",
              "knative-route-demo:red",
            ),
          ),
        expect:
          /sample-app\.rendered\.yaml: Service default\/sample-app: spec\.template\.spec\.containers\[0\]\.image: gcr\.io\/knative-samples\/knative-route-demo:red is not mapped/,
      },
      {
        name: "a values file the promotion of one version would need but the lab does not map",
        change: (d) =>
          writeFileSync(
            join(d, "lab.yaml"),
            readFileSync(join(d, "lab.yaml"), "utf8").replace(
              /^ {4}https:.*baseline-values\.yaml: helm\/baseline-values\.yaml\n/m,
              "",
            ),
          ),
        expect:
          /lab\.yaml: helm\.values: no local file for https:\/\/\S+\/baseline-values\.yaml \(what spec\.strategy\.actions\.finish\[0\] passes when version current is promoted\)/,
      },
      {
        name: "an invalid experiment field",
        change: (d) =>
          writeFileSync(
            join(d, "experiment.yaml"),
            readFileSync(join(d, "experiment.yaml"), "utf8").replace(
              "testingPattern: Canary",
              "testingPattern: Canaryish",
            ),
          ),
        expect: /experiment\.yaml: Experiment canary-progressive: spec\.strategy\.testingPattern/,
      },
      {
        name: "a Helm task without a lab mapping",
        change: (d) => {
          const lab = readFileSync(join(d, "lab.yaml"), "utf8");
          writeFileSync(
            join(d, "lab.yaml"),
            lab.slice(0, lab.indexOf("helm:")) + lab.slice(lab.indexOf("manifests:")),
          );
        },
        expect:
          /experiment\.yaml: Experiment canary-progressive: spec\.strategy\.actions\.finish\[0\]\.with\.cmd: runs helm/,
      },
    ];
    for (const c of cases) {
      it(`${c.name}: exit 2 naming the field, no process started, nothing stored`, async () => {
        const dir = copyExample("canary-progressive-helm");
        c.change(dir);
        const state = tempDir("bad");
        const r = await runCli(["local", "run", dir, "--interval", "1", "--state-dir", state]);
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.match(r.stderr, c.expect);
        assert.doesNotMatch(r.stdout, /started revision/);
        assert.equal(existsSync(join(state, "experiments/default.canary-progressive.json")), false);
        assert.deepEqual(processesWithMarker(r.marker), []);
      });
    }
  });

  describe("a run stopped with SIGTERM", () => {
    it("stops everything it started, exits 143, and a second run on the same state waits its turn", async () => {
      const state = tempDir("term");
      const args = ["local", "run", canary, "--interval", "1", "--state-dir", state];
      const run = startCli(args);
      await run.waitFor(/IterationUpdate: Completed Iteration 2\n/);
      const other = await runCli(args);
      assert.equal(other.code, 2);
      assert.match(other.stderr, /is being run by process \d+; stop it or use another --state-dir/);
      run.kill("SIGTERM");
      assert.equal(await run.exited, 143);
      assert.deepEqual(processesWithMarker(run.marker), [], "nothing left once the run has exited");
      const exp = readJson<Exp>(join(state, "experiments/default.canary-progressive.json"));
      assert.equal(exp.status.stage, "Running");
    });
  });
});
