// common/bash and run: a version variable holding shell syntax is inserted as literal text wherever
// it lands in the script (bare, inside "…", inside '…'); `raw` inserts it as shell syntax on purpose.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Experiment, TaskSpec } from "../../../src/api/types.ts";
import { InProcessTaskRunner } from "../../../src/tasks/runner.ts";
import { experimentFixture, version } from "../../support/experiments.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "iter8-inject-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function experiment(task: TaskSpec, promote: string): Experiment {
  return experimentFixture({
    actions: { finish: [task] },
    versions: [version("current", { promote: "baseline" }), version("candidate", { promote })],
    status: { versionRecommendedForPromotion: "candidate" },
  });
}

const runner = () =>
  new InProcessTaskRunner({
    platform: { getObject: async () => undefined, getSecret: async () => undefined },
  });

describe("shell-quoted interpolation", () => {
  const hostile: ((marker: string) => string)[] = [
    (m) => `x; touch ${m}`,
    (m) => `$(touch ${m})`,
    (m) => `\`touch ${m}\``,
    (m) => `a'; touch ${m}; echo '`,
    (m) => `a"; touch ${m}; echo "`,
    (m) => `a\\"; touch ${m}; echo \\"`,
  ];
  const placements: [string, (x: string) => TaskSpec][] = [
    ["common/bash, bare", (x) => ({ task: "common/bash", with: { script: `echo ${x}` } })],
    ["common/bash, in double quotes", (x) => ({ task: "common/bash", with: { script: `echo "v=${x}."` } })],
    ["common/bash, in single quotes", (x) => ({ task: "common/bash", with: { script: `echo 'v=${x}.'` } })],
    ["run, bare", (x) => ({ run: `echo ${x.replace("{{", "@<").replace("}}", ">@")}` })],
    ["run, in double quotes", (x) => ({ run: `echo "${x.replace("{{", "@<").replace("}}", ">@")}"` })],
  ];
  let n = 0;
  for (const [where, task] of placements) {
    it(`${where}: the value is printed, never run`, async () => {
      for (const make of hostile) {
        const marker = join(dir, `pwned-${n++}`);
        const v = make(marker);
        const result = await runner().run("finish", experiment(task("{{ .promote }}"), v));
        assert.equal(result.ok, true, JSON.stringify(result.tasks));
        assert.equal(existsSync(marker), false, `${v} ran a command`);
        assert.ok(
          result.tasks[0]!.output.includes(v),
          `${JSON.stringify(result.tasks[0]!.output)} shows ${v}`,
        );
      }
    });
  }

  it("raw opts out: the value is shell syntax", async () => {
    const marker = join(dir, "raw-ran");
    const result = await runner().run(
      "finish",
      experiment({ task: "common/bash", with: { script: "{{ raw .promote }}" } }, `touch ${marker}`),
    );
    assert.equal(result.ok, true, JSON.stringify(result.tasks));
    assert.equal(existsSync(marker), true);
  });
});
