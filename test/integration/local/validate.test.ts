// `iter8 validate` over several files and directories (a lab directory's experiment and metrics),
// and `iter8 local init` refusing a directory that is not empty.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { buildOnce, examples, runCli, tempDir } from "./helpers.ts";

describe("iter8 validate with several -f and directories", () => {
  before(buildOnce);

  it("checks every Experiment and Metric of the directories, naming each file", async () => {
    const r = await runCli([
      "validate",
      "-f",
      join(examples, "local-mock-metrics"),
      "-f",
      join(examples, "local-ab"),
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /local-mock-metrics\/experiment\.yaml: Experiment default\/local-mock-metrics \(iter8\.tools\/v2alpha2\): valid\n/,
    );
    assert.match(
      r.stdout,
      /local-mock-metrics\/metrics\.yaml: Metric default\/user-engagement \(iter8\.tools\/v2alpha2\): valid\n/,
    );
    assert.match(r.stdout, /local-ab\/experiment\.yaml: Experiment default\/local-ab .*: valid\n/);
    assert.doesNotMatch(r.stdout + r.stderr, /lab\.yaml/);
  });

  it("exits 1 when one file of several is invalid, with the problem under it", async () => {
    const dir = tempDir("validate");
    writeFileSync(
      join(dir, "bad.yaml"),
      "apiVersion: iter8.tools/v2alpha2\nkind: Experiment\nmetadata: { name: bad }\nspec:\n  target: default/x\n  strategy: { testingPattern: Canary }\n  duration: { intervalSeconds: 0 }\n",
    );
    const r = await runCli(["validate", "-f", join(examples, "local-canary"), "-f", dir]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /bad\.yaml: Experiment default\/bad .*: invalid\n {2}spec\.duration\.intervalSeconds: /,
    );
    assert.match(r.stdout, /local-canary\/experiment\.yaml: .*: valid/);
  });

  it("exits 2 for a directory without YAML", async () => {
    const r = await runCli(["validate", "-f", tempDir("empty")]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /a directory without \*\.yaml, \*\.yml or \*\.json files/);
  });
});

describe("iter8 local init", () => {
  before(buildOnce);
  it("refuses a directory that is not empty, and an unknown pattern", async () => {
    const dir = tempDir("init-full");
    writeFileSync(join(dir, "x"), "");
    const r = await runCli(["local", "init", dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not empty; iter8 local init writes into a new or empty directory/);
    const p = await runCli(["local", "init", join(dir, "new"), "--pattern", "canaryish"]);
    assert.equal(p.code, 2);
    assert.match(p.stderr, /--pattern: must be one of canary, ab, abn, conformance, bluegreen, fixedsplit/);
  });
});
