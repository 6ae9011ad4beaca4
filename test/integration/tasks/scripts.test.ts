// common/exec, common/bash and run with real child processes: interpolation, no injection through
// an interpolated value, `if:` conditions, timeouts that kill the whole process group, and output
// kept per task.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Experiment, TaskSpec } from "../../../src/api/types.ts";
import { InProcessTaskRunner } from "../../../src/tasks/runner.ts";
import type { TaskPlatform } from "../../../src/tasks/types.ts";
import { experimentFixture, version, winnerAssessment } from "../../support/experiments.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "iter8-tasks-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const platform: TaskPlatform = {
  getObject: async () => undefined,
  getSecret: async (key) =>
    key.namespace === "default" && key.name === "creds"
      ? { token: "t0k&n", username: "u", password: "p" }
      : undefined,
};

function experiment(
  finish: TaskSpec[],
  opts: { recommended?: string | undefined; winner?: string | undefined; promote?: string | undefined } = {},
): Experiment {
  const exp = experimentFixture({
    name: "canary-progressive",
    target: "default/sample-app",
    actions: { finish },
    versions: [
      version("current", { promote: "baseline" }),
      version("candidate", { promote: opts.promote ?? "candidate" }),
    ],
    status: {},
  });
  if (opts.recommended) exp.status!.versionRecommendedForPromotion = opts.recommended;
  if (opts.winner !== undefined) {
    // winner "" is an assessment without a winner.
    const winner = winnerAssessment(opts.winner || undefined, { timestamp: new Date(0).toISOString() });
    exp.status!.analysis = { winnerAssessment: winner };
  }
  return exp;
}

const runner = (maxTaskTimeoutMs?: number) =>
  new InProcessTaskRunner({ platform, ...(maxTaskTimeoutMs ? { maxTaskTimeoutMs } : {}) });

describe("common/exec", () => {
  it("runs argv with the recommended version's variables interpolated (seed 001 helm args)", async () => {
    const result = await runner().run(
      "finish",
      experiment(
        [
          {
            task: "common/exec",
            with: {
              cmd: "/usr/bin/printf",
              args: ["%s|", "upgrade", "--values=https://x/{{ .promote }}-values.yaml", 42],
            },
          },
        ],
        { recommended: "candidate" },
      ),
    );
    assert.equal(result.ok, true, JSON.stringify(result.tasks));
    assert.match(result.tasks[0]!.output, /upgrade\|--values=https:\/\/x\/candidate-values\.yaml\|42\|$/);
  });

  it("an interpolated value is one argument: shell syntax in it is never run", async () => {
    const marker = join(dir, "pwned");
    const evil = `x; touch ${marker}; echo $(touch ${marker}) \`touch ${marker}\` && echo <b>&amp;`;
    const result = await runner().run(
      "finish",
      experiment(
        [{ task: "common/exec", with: { cmd: "/usr/bin/printf", args: ["[%s]", "{{ .promote }}"] } }],
        {
          recommended: "candidate",
          promote: evil,
        },
      ),
    );
    assert.equal(result.ok, true);
    assert.ok(result.tasks[0]!.output.endsWith(`[${evil}]`), result.tasks[0]!.output);
    assert.equal(existsSync(marker), false);
  });

  it("fails without a recommended version unless interpolation is disabled", async () => {
    const spec = (disable: boolean): TaskSpec => ({
      task: "common/exec",
      with: { cmd: "/bin/echo", args: ["{{ .promote }}"], disableInterpolation: disable },
    });
    const failed = await runner().run("finish", experiment([spec(false)]));
    assert.equal(failed.ok, false);
    assert.match(failed.tasks[0]!.error!, /no version is recommended for promotion yet/);
    const ok = await runner().run("finish", experiment([spec(true)]));
    assert.equal(ok.ok, true);
    assert.match(ok.tasks[0]!.output, /\{\{ \.promote \}\}\n$/);
  });

  it("a non-zero exit fails the task and the action; later tasks do not run", async () => {
    const result = await runner().run(
      "finish",
      experiment(
        [
          { task: "common/bash", with: { script: "echo about to fail; exit 3" } },
          { task: "common/bash", with: { script: `touch ${join(dir, "never")}` } },
        ],
        { recommended: "current" },
      ),
    );
    assert.equal(result.ok, false);
    assert.equal(result.tasks.length, 1);
    assert.equal(result.tasks[0]!.error, "/bin/bash failed (exit code 3)");
    assert.equal(result.tasks[0]!.output, "about to fail\n");
    assert.equal(existsSync(join(dir, "never")), false);
  });

  it("a missing command is a task error", async () => {
    const result = await runner().run(
      "finish",
      experiment([{ task: "common/exec", with: { cmd: "/nonexistent/helm", disableInterpolation: true } }]),
    );
    assert.equal(result.ok, false);
    assert.match(result.tasks[0]!.error!, /cannot run \/nonexistent\/helm: spawn \/nonexistent\/helm ENOENT/);
  });
});

describe("common/bash and run", () => {
  it("common/bash interpolates {{ }} including .this, without HTML escaping", async () => {
    const result = await runner().run(
      "finish",
      experiment(
        [
          {
            task: "common/bash",
            with: { script: 'echo "{{ .this.metadata.name }} {{ .name }} {{ .promote }} a&b<c>"' },
          },
        ],
        {
          recommended: "candidate",
        },
      ),
    );
    assert.equal(result.tasks[0]!.output, "canary-progressive candidate candidate a&b<c>\n");
  });

  it("run interpolates @< >@, reads with.secret, sets SCRATCH_DIR and leaves {{ }} alone", async () => {
    const result = await runner().run(
      "finish",
      experiment(
        [
          {
            run: 'echo "@< .name >@ @< .Secret "token" >@ @< .Spec.Target >@ {{ x }}"; test -d "$SCRATCH_DIR" && echo scratch-ok',
            with: { secret: "creds" },
          },
        ],
        { recommended: "candidate" },
      ),
    );
    assert.equal(result.ok, true, JSON.stringify(result.tasks));
    assert.equal(result.tasks[0]!.task, "run");
    assert.equal(result.tasks[0]!.output, "candidate t0k&n default/sample-app {{ x }}\nscratch-ok\n");
  });

  it("scripts see the experiment and action in their environment, as in the original action Job", async () => {
    const result = await runner().run(
      "finish",
      experiment([{ run: 'echo "$EXPERIMENT_NAMESPACE/$EXPERIMENT_NAME $ACTION"' }]),
    );
    assert.equal(result.tasks[0]!.output, "default/canary-progressive finish\n");
  });

  it("run fails when its secret does not exist", async () => {
    const result = await runner().run(
      "finish",
      experiment([{ run: "true", with: { secret: "other/missing" } }]),
    );
    assert.equal(result.ok, false);
    assert.equal(result.tasks[0]!.error, "secret other/missing not found");
  });

  const conditions: Array<[string, string | undefined, boolean]> = [
    ["CandidateWon()", "candidate", true],
    ["CandidateWon()", "current", false],
    ["not CandidateWon()", "current", true],
    ["WinnerFound()", "", false],
    ["not WinnerFound()", "", true],
    ["WinnerFound() and not CandidateWon()", "current", true],
  ];
  for (const [cond, winner, runs] of conditions) {
    it(`if: ${cond} with winner "${winner}" ${runs ? "runs" : "skips"} the task`, async () => {
      const result = await runner().run(
        "finish",
        experiment([{ run: "echo ran", if: cond }], { winner, recommended: "current" }),
      );
      assert.equal(result.ok, true);
      assert.equal(result.tasks[0]!.skipped, !runs);
      assert.equal(result.tasks[0]!.output, runs ? "ran\n" : `skipped: condition "${cond}" is false\n`);
    });
  }
});

describe("timeouts", () => {
  it("a task past its timeout fails and its whole process group is killed", async () => {
    const pidFile = join(dir, "bg.pid");
    const started = Date.now();
    const result = await runner(700).run(
      "finish",
      experiment([{ run: `sleep 60 & echo $! > ${pidFile}; echo started; wait` }], {
        recommended: "current",
      }),
    );
    assert.equal(result.ok, false);
    assert.match(result.tasks[0]!.error!, /timed out after 0\.7s/);
    assert.equal(result.tasks[0]!.output, "started\n");
    assert.ok(Date.now() - started < 10_000);
    const pid = Number(await readFile(pidFile, "utf8"));
    // The background sleep was in the task's process group: it is gone once the task has failed.
    await waitUntilGone(pid);
  });

  it("an action cancelled from outside stops its running task", async () => {
    const controller = new AbortController();
    const run = runner().run(
      "finish",
      experiment([{ run: "echo going; sleep 60" }], { recommended: "current" }),
      { signal: controller.signal },
    );
    setImmediate(() => controller.abort());
    const result = await run;
    assert.equal(result.ok, false);
    assert.match(result.tasks[0]!.error!, /cancelled/);
  });
});

/**
 * Polls the kernel's process table until `pid` has exited, bounded. A zombie (state Z, killed but not
 * yet reaped by PID 1, which in containers may reap late) counts as exited.
 */
async function waitUntilGone(pid: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    let state: string | undefined;
    try {
      state = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]?.[0];
    } catch {
      return;
    }
    if (state === "Z") return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`process ${pid} is still running`);
}
