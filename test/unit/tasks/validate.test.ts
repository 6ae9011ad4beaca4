import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KNOWN_TASKS } from "../../../src/api/index.ts";
import type { Experiment, TaskSpec } from "../../../src/api/types.ts";
import { TASK_NAMES } from "../../../src/tasks/names.ts";
import { InProcessTaskRunner } from "../../../src/tasks/runner.ts";
import type { TaskPlatform } from "../../../src/tasks/types.ts";
import { experimentFixture } from "../../support/experiments.ts";

const platform: TaskPlatform = {
  getObject: async () => undefined,
  getSecret: async () => undefined,
};

const withActions = (actions: Record<string, TaskSpec[]>): Experiment =>
  experimentFixture({ actions, versions: [] });

describe("task validation", () => {
  const runner = new InProcessTaskRunner({ platform });

  it("the API layer knows exactly the registry's task names", () => {
    assert.deepEqual([...KNOWN_TASKS].sort(), [...TASK_NAMES].sort());
  });

  it("accepts the seed tasks", () => {
    assert.deepEqual(
      runner.validate(
        withActions({
          start: [{ task: "knative/init-experiment" }],
          finish: [
            {
              task: "common/exec",
              with: { cmd: "helm", args: ["upgrade", "--values=x/{{ .promote }}-values.yaml"] },
            },
            { run: "echo @< .name >@", if: "CandidateWon()" },
            { task: "notification/slack", with: { channel: "C0138103183", secret: "default/slack-token" } },
          ],
        }),
      ),
      [],
    );
  });

  const cases: Array<[string, TaskSpec, RegExp]> = [
    ["unknown task", { task: "common/nope" }, /actions\.finish\[0\]\.task: unknown task "common\/nope"/],
    ["both task and run", { task: "common/bash", run: "x" }, /exactly one of task and run/],
    ["neither task nor run", { with: {} }, /exactly one of task and run/],
    ["bad condition", { run: "x", if: "WinnerFound(" }, /actions\.finish\[0\]\.if: expected/],
    ["exec without cmd", { task: "common/exec" }, /with\.cmd is required/],
    [
      "exec args not a list",
      { task: "common/exec", with: { cmd: "x", args: "a b" } },
      /with\.args must be a list/,
    ],
    [
      "http with a bad URL",
      { task: "notification/http", with: { url: "nope" } },
      /with\.url is not a valid URL/,
    ],
    [
      "http with bad method",
      { task: "notification/http", with: { url: "http://x", method: "PUT" } },
      /with\.method must be GET or POST/,
    ],
    [
      "slack without channel",
      { task: "notification/slack", with: { secret: "s" } },
      /with\.channel is required/,
    ],
    [
      "readiness bad name",
      { task: "common/readiness", with: { objRefs: [{ kind: "ksvc", name: "Bad_Name" }] } },
      /objRefs\[0\]\.name must be a DNS label/,
    ],
    [
      "readiness bad waitFor",
      { task: "common/readiness", with: { objRefs: [{ kind: "ksvc", name: "a", waitFor: "ready" }] } },
      /waitFor must be/,
    ],
    [
      "collect without versions",
      { task: "metrics/collect", with: {} },
      /with\.versions needs at least one version/,
    ],
    [
      "collect bad time",
      { task: "metrics/collect", with: { time: "ten", versions: [{ name: "v", url: "http://x" }] } },
      /with\.time/,
    ],
  ];
  for (const [label, spec, err] of cases) {
    it(`rejects: ${label}`, () => {
      const problems = runner.validate(withActions({ finish: [spec] }));
      assert.equal(problems.length, 1, problems.join("\n"));
      assert.match(problems[0]!, err);
    });
  }

  it("an action with an invalid task runs nothing", async () => {
    const exp = withActions({ finish: [{ run: "touch /nonexistent-dir/x" }, { task: "common/nope" }] });
    const result = await runner.run("finish", exp);
    assert.equal(result.ok, false);
    assert.deepEqual(result.tasks, []);
    assert.match(result.error!, /unknown task "common\/nope"/);
  });
});
