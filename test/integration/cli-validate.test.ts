// `iter8 validate` as a real process: build the CLI, run ./bin/iter8, check output and exit codes.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

function iter8(args: string[], input?: string | Buffer) {
  const r = spawnSync(`${root}bin/iter8`, args, {
    cwd: root,
    input,
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, ITER8_PROGRAM_NAME: "iter8" },
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(() => {
  const started = Date.now();
  const build = spawnSync("npm", ["run", "build"], { cwd: root, encoding: "utf8", timeout: 180_000 });
  // tsc emits even when another part of the tree has type errors (the typecheck step reports those);
  // what this test needs is a fresh build of the CLI and this command.
  const emitted = statSync(`${root}dist/cli/commands/validate.js`, { throwIfNoEntry: false });
  if (build.status !== 0 && !(emitted && emitted.mtimeMs >= started - 1000)) {
    assert.fail(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
  }
});

describe("iter8 validate", () => {
  for (const seed of ["000", "001", "004"]) {
    it(`accepts seed ${seed}'s experiment unchanged`, () => {
      const name = { "000": "request-routing", "001": "canary-progressive", "004": "mirroring" }[seed];
      const version = seed === "004" ? "v2alpha1" : "v2alpha2";
      const r = iter8(["validate", "-f", fixture(`seeds/${seed}-experiment.yaml`)]);
      assert.equal(r.stderr, "");
      assert.equal(r.stdout, `Experiment default/${name} (iter8.tools/${version}): valid\n`);
      assert.equal(r.code, 0);
    });
  }

  it("reads standard input and skips the tutorial's other objects", () => {
    const text = ["000-services", "000-routing-rule", "000-experiment"]
      .map((f) => readFileSync(fixture(`seeds/${f}.yaml`), "utf8"))
      .join("---\n");
    const r = iter8(["validate", "-f", "-"], text);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        "Service default/sample-app-v1 (serving.knative.dev/v1): skipped (not an iter8 object)",
        "Service default/sample-app-v2 (serving.knative.dev/v1): skipped (not an iter8 object)",
        "VirtualService default/routing-for-wakanda (networking.istio.io/v1alpha3): skipped (not an iter8 object)",
        "Experiment default/request-routing (iter8.tools/v2alpha2): valid",
        "",
      ].join("\n"),
    );
  });

  it("lists every problem by field path and exits 1", () => {
    const r = iter8(["validate", "-f", fixture("invalid/experiment-problems.yaml")]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "");
    assert.equal(
      r.stdout,
      [
        "Experiment default/bad (iter8.tools/v2alpha2): invalid",
        '  spec.strategy.deploymentPattern: must be one of Progressive, FixedSplit, BlueGreen (got "Rolling")',
        "  spec.strategy.weights.maxCandidateWeight: must be <= 100",
        '  spec.criteria.objectives[0].upperLimit: must be an integer or a quantity string such as "0.01" or "10m" (got 0.5; quote decimals)',
        '  spec.criteria.objectives[1].upperLimit: "1%" is not a valid quantity (e.g. 50, "0.01", "10m", "1.5e2")',
        "  spec.duration.intervalSeconds: must be >= 1",
        '  spec.versionInfo.candidates[0].name: duplicate version name "v1" (also spec.versionInfo.baseline.name)',
        "  spec.versionInfo.baseline.weightObjRef.fieldPath: must start with '.' (e.g. .spec.traffic[0].percent), got \"spec.traffic[0].percent\"",
        "  spec.criteria.rewards: A/B experiments need exactly one reward (found 0)",
        "Metric iter8-knative/request-count (iter8.tools/v2alpha2): valid",
        "ConfigMap default/unrelated (v1): skipped (not an iter8 object)",
        "",
      ].join("\n"),
    );
  });

  it("names a missing strategy", () => {
    const r = iter8(["validate", "-f", fixture("invalid/missing-strategy.yaml")]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stdout,
      "Experiment team/no-strategy (iter8.tools/v2alpha2): invalid\n  spec.strategy: is required\n",
    );
  });

  const inputErrors: Array<[string, string[], string | Buffer | undefined, RegExp]> = [
    [
      "unparsable YAML",
      ["-f", fixture("invalid/not-yaml.yaml")],
      undefined,
      /^iter8: .*invalid\/not-yaml\.yaml is not valid YAML at line 5, column 1: All mapping items must start at the same column\n$/,
    ],
    [
      "an unknown iter8 kind",
      ["-f", fixture("invalid/unknown-kind.yaml")],
      undefined,
      /^iter8: .*invalid\/unknown-kind\.yaml: document 1: unknown kind Experiments in iter8.tools\/v2alpha2 \(iter8 reads Experiment and Metric\)\n$/,
    ],
    ["empty input", ["-f", "-"], "", /^iter8: input is empty\n$/],
    [
      "a file of comments",
      ["-f", fixture("invalid/empty.yaml")],
      undefined,
      /^iter8: .*invalid\/empty\.yaml has no objects/,
    ],
    [
      "huge input",
      ["-f", "-"],
      Buffer.alloc(4 * 1024 * 1024 + 10, 0x61),
      /^iter8: input is larger than 4 MiB\n$/,
    ],
    [
      "a missing file",
      ["-f", fixture("invalid/nope.yaml")],
      undefined,
      /^iter8: cannot read .*nope.yaml: no such file\n$/,
    ],
    [
      "no iter8 objects",
      ["-f", fixture("seeds/000-services.yaml")],
      undefined,
      /^iter8: no Experiment or Metric objects in .*seeds\/000-services\.yaml\n$/,
    ],
    ["a JSON array", ["-f", "-"], "[1, 2]", /^iter8: document 1: expected a Kubernetes object/],
  ];
  for (const [name, args, input, stderr] of inputErrors) {
    it(`${name}: one-line error, exit 2`, () => {
      const r = iter8(["validate", ...args], input);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, stderr);
      assert.equal(r.stderr.trim().split("\n").length, 1, "one line, no stack trace");
    });
  }

  it("documents the exit codes in --help", () => {
    const r = iter8(["validate", "--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 /);
  });

  it("requires -f", () => {
    const r = iter8(["validate"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /required option '-f, --file <file>'/);
  });
});
