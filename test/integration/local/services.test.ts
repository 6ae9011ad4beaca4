// The services form on real processes: `iter8 local init` for every pattern writes a directory
// that `iter8 local run` completes with the expected winner; the same directories with one version
// slower and the other failing more pick the other winner; tasks that run commands are printed,
// not run, unless the lab lists them or --run-tasks is given.

import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { buildOnce, orphansAfter, readJson, runCli, tempDir } from "./helpers.ts";

type Exp = {
  status: {
    stage: string;
    completedIterations: number;
    versionRecommendedForPromotion?: string;
    currentWeightDistribution?: Array<{ name: string; value: number }>;
    analysis?: { winnerAssessment?: { data?: { winnerFound?: boolean; winner?: string } } };
  };
};
type Run = { counts: Record<string, number> };

const PATTERNS = ["canary", "ab", "abn", "conformance", "bluegreen", "fixedsplit"] as const;

/** Winners of the init templates as written (v2 is faster; v3 of abn is in between). */
const WINNERS: Record<string, string> = {
  canary: "v2",
  ab: "v2",
  abn: "v2",
  conformance: "v1",
  bluegreen: "v2",
  fixedsplit: "v2",
};
/** With v1 slower (40 ms) and v2 failing 30 % of its requests. */
const WINNERS_V2_FAILING: Record<string, string> = {
  ...WINNERS,
  canary: "v1",
  ab: "v1",
  abn: "v3",
  bluegreen: "v1",
  fixedsplit: "v1",
};

async function initDir(pattern: string): Promise<string> {
  const dir = join(tempDir(`init-${pattern}`), "lab");
  const r = await runCli(["local", "init", dir, "--pattern", pattern]);
  assert.equal(r.code, 0, r.stderr);
  return dir;
}

function makeV2FailMore(dir: string): void {
  const lab = readFileSync(join(dir, "lab.yaml"), "utf8")
    .replace(/VERSION: "v1", LATENCY_MS: "\d+"/, 'VERSION: "v1", LATENCY_MS: "40"')
    .replace(/VERSION: "v2", LATENCY_MS: "\d+"/, 'VERSION: "v2", LATENCY_MS: "2", ERROR_RATE: "0.3"');
  writeFileSync(join(dir, "lab.yaml"), lab);
}

/** BlueGreen rolls back as soon as the candidate fails an objective (rollback_on_failure). */
async function runToEnd(dir: string, pattern: string, winner: string, rollback = false) {
  const state = tempDir(`state-${pattern}`);
  const r = await runCli(["local", "run", dir, "--interval", "1", "--state-dir", state]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(await orphansAfter(r.marker), []);
  const exp = readJson<Exp>(join(state, `experiments/default.local-${pattern}.json`));
  assert.equal(exp.status.stage, "Completed");
  if (rollback) {
    assert.ok(exp.status.completedIterations < 5, `rolled back after ${exp.status.completedIterations}`);
    assert.match(r.stdout, /ExperimentCompleted: Experiment rolled back\n/);
  } else {
    // criteria.strength decides: early once the winner is certain, up to 10 iterations more while not.
    const done = exp.status.completedIterations;
    assert.ok(done >= 1 && done <= 15, `${done} iterations`);
  }
  assert.equal(exp.status.versionRecommendedForPromotion, winner, r.stdout);
  const run = readJson<Run>(join(state, `runs/default.local-${pattern}.json`));
  for (const [v, n] of Object.entries(run.counts)) assert.ok(n > 0, `version ${v} got requests`);
  return { exp, stdout: r.stdout };
}

// One run at a time: each decides on the samples its load reaches in 1 s iterations, which runs
// beside each other on two cores can fall short of.
describe("iter8 local init and run, every pattern", { concurrency: 1 }, () => {
  before(buildOnce);
  for (const pattern of PATTERNS) {
    it(`${pattern}: the starting point completes, ${WINNERS[pattern]} recommended`, async () => {
      const dir = await initDir(pattern);
      const { exp } = await runToEnd(dir, pattern, WINNERS[pattern]!);
      const weights = Object.fromEntries(
        (exp.status.currentWeightDistribution ?? []).map((w) => [w.name, w.value]),
      );
      if (pattern === "fixedsplit") assert.deepEqual(weights, { v1: 50, v2: 50 });
      if (pattern === "abn") assert.deepEqual(weights, { v1: 40, v2: 30, v3: 30 });
    });
  }
  for (const pattern of PATTERNS.filter((p) => p !== "conformance")) {
    it(`${pattern}: v1 slower, v2 failing more -> ${WINNERS_V2_FAILING[pattern]} recommended`, async () => {
      const dir = await initDir(pattern);
      makeV2FailMore(dir);
      await runToEnd(dir, pattern, WINNERS_V2_FAILING[pattern]!, pattern === "bluegreen");
    });
  }
});

/** The version the finish task interpolates: the one recommended for promotion. */
function recommended(state: string): string {
  const v = readJson<Exp>(join(state, "experiments/default.local-canary.json")).status
    .versionRecommendedForPromotion;
  assert.ok(v === "v1" || v === "v2", String(v));
  return v;
}

describe("command tasks on this machine", { concurrency: true }, () => {
  before(buildOnce);
  /** A canary lab with a finish task running `kubectl`, and a fake kubectl that leaves a file. */
  async function labWithKubectl(): Promise<{ dir: string; bin: string; touched: string }> {
    const dir = await initDir("canary");
    const bin = tempDir("bin");
    const touched = join(bin, "kubectl-ran");
    writeFileSync(join(bin, "kubectl"), `#!/bin/sh\necho "$@" > ${touched}\n`, { mode: 0o755 });
    const exp = readFileSync(join(dir, "experiment.yaml"), "utf8").replace(
      "    deploymentPattern: Progressive\n",
      `    deploymentPattern: Progressive
    actions:
      finish:
      - task: common/exec
        with:
          cmd: kubectl
          args: [apply, -f, "{{ .name }}.yaml"]
`,
    );
    writeFileSync(join(dir, "experiment.yaml"), exp.replace("iterationsPerLoop: 5", "iterationsPerLoop: 2"));
    return { dir, bin, touched };
  }

  it("a finish task with an unmapped kubectl is printed with its argv, not run", async () => {
    const { dir, bin, touched } = await labWithKubectl();
    const state = tempDir("kubectl");
    const r = await runCli(["local", "run", dir, "--interval", "1", "--state-dir", state], {
      PATH: `${bin}:${process.env["PATH"]}`,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /tasks printed, not run .*finish\[0\] common\/exec \(kubectl\)/);
    assert.match(
      r.stdout,
      new RegExp(
        `dry run: finish\\[0\\] common/exec not run on this machine: kubectl apply -f ${recommended(state)}\\.yaml\n`,
      ),
    );
    assert.equal(existsSync(touched), false, "kubectl did not run");
  });

  it("runs it with --run-tasks", async () => {
    const { dir, bin, touched } = await labWithKubectl();
    const state = tempDir("kubectl-run");
    const r = await runCli(["local", "run", dir, "--interval", "1", "--state-dir", state, "--run-tasks"], {
      PATH: `${bin}:${process.env["PATH"]}`,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /dry run/);
    assert.equal(readFileSync(touched, "utf8"), `apply -f ${recommended(state)}.yaml\n`);
  });
});
