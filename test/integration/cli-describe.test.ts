// `iter8ctl describe -f -` and `iter8 describe -f FILE` as real processes, against the golden text of
// the seed 004 tutorial. Runs the built CLI (`npm run build`; `npm ci` builds it through `prepare`).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
// `describe NAME` reads the local state directory: point it at an empty one, never the user's.
const emptyStateDir = mkdtempSync(join(tmpdir(), "iter8-describe-state-"));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(bin: "iter8" | "iter8ctl", args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(`./bin/${bin}`, args, {
      cwd: root,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, ITER8_STATE_DIR: emptyStateDir },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin ?? "");
  });
}

before(() => {
  assert.ok(existsSync(`${root}dist/cli/main.js`), "the CLI is not built: run `npm run build` first");
});

describe("iter8ctl describe (built CLI)", () => {
  it("prints exactly the seed 004 tutorial's iter8ctl output for the piped experiment", async () => {
    const r = await run(
      "iter8ctl",
      ["describe", "-f", "-"],
      readFileSync(fixture("report/seed004-experiment.yaml"), "utf8"),
    );
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.equal(r.stdout, readFileSync(fixture("report/seed004-describe.txt"), "utf8"));
  });

  it("iter8 describe -f FILE gives the same text", async () => {
    const r = await run("iter8", ["describe", "-f", fixture("report/seed004-experiment.yaml")]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, readFileSync(fixture("report/seed004-describe.txt"), "utf8"));
  });

  it("-o json prints the normalised v2alpha2 object", async () => {
    const r = await run("iter8", ["describe", "-f", fixture("report/seed004-experiment.yaml"), "-o", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const exp = JSON.parse(r.stdout);
    assert.equal(exp.apiVersion, "iter8.tools/v2alpha2");
    assert.equal(exp.spec.strategy.actions.start[0].task, "knative/init-experiment");
    assert.equal(exp.status.versionRecommendedForPromotion, "current");
    assert.deepEqual(
      exp.spec.criteria.objectives.map((o: { metric: string }) => o.metric),
      ["default/mean-latency", "default/95th-percentile-tail-latency", "default/error-rate"],
    );
  });

  it("-o yaml prints the same object as YAML", async () => {
    const r = await run("iter8", ["describe", "-f", fixture("report/seed004-experiment.yaml"), "-o", "yaml"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^apiVersion: iter8\.tools\/v2alpha2\nkind: Experiment\n/);
    assert.match(r.stdout, /versionRecommendedForPromotion: current/);
  });

  it("a v2alpha2 experiment that has not started shows only the overview", async () => {
    const r = await run(
      "iter8ctl",
      ["describe", "-f", "-"],
      readFileSync(fixture("seeds/001-experiment.yaml"), "utf8"),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      r.stdout.startsWith("\n****** Overview ******\nExperiment name: canary-progressive\n"),
      r.stdout,
    );
    assert.ok(
      r.stdout.endsWith("\n****** Progress Summary ******\nNumber of completed iterations: 0\n\n"),
      r.stdout,
    );
  });

  const failures: Array<[string, "iter8" | "iter8ctl", string[], string | undefined, RegExp]> = [
    ["no -f", "iter8ctl", ["describe"], undefined, /^iter8ctl: Missing experiment/],
    [
      "a NAME not in the local state directory",
      "iter8",
      ["describe", "mirroring"],
      undefined,
      /experiment mirroring not found in state directory .* \(it holds no experiments\)/,
    ],
    [
      "input that is not YAML",
      "iter8ctl",
      ["describe", "-f", "-"],
      "a: [\n",
      /^iter8ctl: input is not valid YAML/,
    ],
    ["empty input", "iter8ctl", ["describe", "-f", "-"], "", /^iter8ctl: input is empty/],
    [
      "a file without an Experiment",
      "iter8",
      ["describe", "-f", fixture("seeds/004-service.yaml")],
      undefined,
      /no Experiment/,
    ],
    [
      "a missing file",
      "iter8",
      ["describe", "-f", "/nonexistent/exp.yaml"],
      undefined,
      /cannot read \/nonexistent\/exp\.yaml/,
    ],
    [
      "an unknown output format",
      "iter8",
      ["describe", "-f", "-", "-o", "xml"],
      "x: 1\n",
      /unknown output format "xml"/,
    ],
    [
      "an invalid experiment",
      "iter8",
      ["describe", "-f", "-"],
      "apiVersion: iter8.tools/v2alpha2\nkind: Experiment\nmetadata: {name: x}\nspec: {target: t, strategy: {testingPattern: Bogus}}\n",
      /experiment x in standard input is not valid: spec\.strategy\.testingPattern/,
    ],
  ];
  for (const [what, bin, args, stdin, message] of failures) {
    // Bad input or usage exits 2, as for every command (README, exit codes).
    it(`${what}: one-line error, exit code 2`, async () => {
      const r = await run(bin, args, stdin);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    });
  }
});
