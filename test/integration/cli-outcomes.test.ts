// The command line's conventions as real processes: one exit-code table for every command (0 ok,
// 1 the checked thing failed, 2 bad input or usage), input errors that name their file, `describe -f`
// of an object without a namespace, `get experiments --watch` (TRAFFIC column, header and "no
// experiments yet" on an empty state directory), `get metrics`, and `iter8 assert` on a file.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const seed004 = fixture("report/seed004-experiment.yaml");
const emptyState = () => mkdtempSync(join(tmpdir(), "iter8-cli-outcomes-"));

function iter8(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; program?: string } = {}) {
  const r = spawnSync(`${root}bin/${opts.program ?? "iter8"}`, args, {
    cwd: root,
    input: opts.input,
    encoding: "utf8",
    timeout: 30_000,
    // Never the user's state directory or kubeconfig.
    env: { ...process.env, ITER8_STATE_DIR: emptyState(), KUBECONFIG: "/nonexistent", ...opts.env },
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `iter8 args` until `done(stdout, stderr)` holds, then SIGTERM; returns what it printed. */
async function watch(args: string[], done: (out: string, err: string) => boolean) {
  const child = spawn(`${root}bin/iter8`, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
  // "close": after the pipes have ended too, so nothing printed at exit is lost.
  const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
  const deadline = Date.now() + 20_000;
  while (!done(out, err) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  child.kill("SIGTERM");
  return { code: await exited, out, err };
}

before(() => {
  const started = Date.now();
  const build = spawnSync("npm", ["run", "build"], { cwd: root, encoding: "utf8", timeout: 180_000 });
  const emitted = statSync(`${root}dist/cli/commands/assert.js`, { throwIfNoEntry: false });
  if (build.status !== 0 && !(emitted && emitted.mtimeMs >= started - 1000))
    assert.fail(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
});

describe("one exit-code convention for every command", () => {
  const notYaml = fixture("invalid/not-yaml.yaml");
  const cases: Array<[string, string[], number, string?]> = [
    ["validate: valid", ["validate", "-f", fixture("seeds/001-experiment.yaml")], 0],
    ["validate: invalid object", ["validate", "-f", fixture("invalid/missing-strategy.yaml")], 1],
    ["validate: not YAML", ["validate", "-f", notYaml], 2],
    ["describe: a file", ["describe", "-f", seed004], 0],
    ["describe: not YAML", ["describe", "-f", notYaml], 2],
    ["describe: unknown NAME", ["describe", "nope"], 2],
    ["describe: unknown output format", ["describe", "-f", seed004, "-o", "xml"], 2],
    ["iter8ctl describe: not YAML", ["describe", "-f", notYaml], 2, "iter8ctl"],
    ["get: empty state directory", ["get", "experiments"], 0],
    ["get: unknown resource", ["get", "pods"], 2],
    ["get metrics", ["get", "metrics"], 0],
    ["assert: holds", ["assert", "-f", seed004, "-c", "completed"], 0],
    ["assert: does not hold", ["assert", "-f", seed004, "-c", "winnerFound"], 1],
    ["assert: unknown condition", ["assert", "-f", seed004, "-c", "bogus"], 2],
    ["assert: no condition", ["assert", "-f", seed004], 2],
    ["assert: bad timeout", ["assert", "-f", seed004, "-c", "completed", "--timeout", "soon"], 2],
    ["local run: no such directory", ["local", "run", "/nonexistent/tutorial"], 2],
    ["local run: bad --interval", ["local", "run", "examples/canary-progressive-helm", "--interval", "x"], 2],
    ["local run: bad --assert", ["local", "run", "examples/canary-progressive-helm", "--assert", "x"], 2],
    [
      "local run: bad --log-format",
      ["local", "run", "examples/canary-progressive-helm", "--log-format", "xml"],
      2,
    ],
    ["load: no URL", ["load"], 2],
    ["router: bad --workers", ["router", "--upstream", "127.0.0.1:1", "--workers", "0"], 2],
    ["sample-app: bad --port", ["sample-app", "--port", "x"], 2],
    ["kube get: unknown resource", ["kube", "get", "pods"], 2],
    ["an unknown command", ["nope"], 2],
    ["an unknown option", ["describe", "--nope"], 2],
    ["--help", ["--help"], 0],
  ];
  for (const [what, args, code, program] of cases) {
    it(`${what}: exit ${code}`, () => {
      const r = iter8(args, program ? { program } : {});
      assert.equal(r.code, code, `${r.stdout}\n${r.stderr}`);
    });
  }
});

describe("input errors name their file", () => {
  for (const args of [
    ["validate", "-f"],
    ["describe", "-f"],
    ["assert", "-c", "completed", "-f"],
  ]) {
    it(`iter8 ${args[0]}`, () => {
      const r = iter8([...args, fixture("invalid/not-yaml.yaml")]);
      assert.match(r.stderr, /^iter8: \S*invalid\/not-yaml\.yaml is not valid YAML at line 5, column 1: /);
    });
  }
  it("a document that is not an iter8 object names the file too", () => {
    const r = iter8(["describe", "-f", fixture("invalid/unknown-kind.yaml")]);
    assert.match(r.stderr, /invalid\/unknown-kind\.yaml/);
  });
});

describe("describe -f of an experiment without a namespace", () => {
  it("shows namespace default, as Kubernetes would", () => {
    const r = iter8(["describe", "-f", fixture("seeds/001-experiment.yaml")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\nExperiment namespace: default\n/);
  });
});

describe("get experiments --watch", () => {
  it("on an empty state directory: the header (with TRAFFIC) and no experiments yet", async () => {
    const state = emptyState();
    const r = await watch(["get", "experiments", "--watch", "--state-dir", state], (_o, e) =>
      e.includes("no experiments yet"),
    );
    assert.match(r.out, /^NAME\s+TYPE\s+TARGET\s+STAGE\s+COMPLETED ITERATIONS\s+TRAFFIC\s+MESSAGE\n$/);
    assert.match(r.err, /no experiments yet in /);
    assert.equal(r.code, 0);
  });

  it("shows each experiment's traffic split, and experiments stored later", async () => {
    const state = emptyState();
    mkdirSync(join(state, "experiments"));
    const exp = JSON.parse(iter8(["describe", "-f", seed004, "-o", "json"]).stdout);
    const r = await watch(["get", "experiments", "-w", "--state-dir", state], (o, e) => {
      if (e.includes("no experiments yet") && !o.includes("mirroring"))
        writeFileSync(join(state, "experiments", "default.mirroring.json"), JSON.stringify(exp));
      return o.includes("mirroring");
    });
    const lines = r.out.trimEnd().split("\n");
    assert.match(lines[0]!, /TRAFFIC\s+MESSAGE$/);
    assert.match(
      lines[1]!,
      /^mirroring\s+Conformance\s+default\/sample-app\s+Completed\s+10\s+current=100\s+ExperimentCompleted/,
    );
  });

  it("an experiment present from the start lines up under the header", async () => {
    const state = emptyState();
    mkdirSync(join(state, "experiments"));
    const exp = JSON.parse(iter8(["describe", "-f", seed004, "-o", "json"]).stdout);
    writeFileSync(join(state, "experiments", "default.mirroring.json"), JSON.stringify(exp));
    const r = await watch(["get", "experiments", "-w", "--state-dir", state], (o) => o.includes("mirroring"));
    const lines = r.out.trimEnd().split("\n");
    assert.equal(lines[1]!.indexOf("current=100"), lines[0]!.indexOf("TRAFFIC"));
    assert.equal(r.err, "");
  });
});

describe("get metrics", () => {
  it("lists the metrics iter8 local run installs, with namespaces", () => {
    const r = iter8(["get", "metrics"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^NAMESPACE\s+NAME\s+TYPE\s+DESCRIPTION\n/);
    assert.match(r.stdout, /\niter8-knative\s+request-count\s+Counter\s+/);
    assert.match(r.stdout, /\niter8-knative\s+mean-latency\s+Gauge\s+/);
  });
  it("for the prometheus backend, one namespace, one name", () => {
    const r = iter8(["get", "metrics", "error-rate", "--metrics", "prometheus", "-n", "iter8-knative"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split("\n").length, 2, r.stdout);
    assert.match(
      r.stdout,
      /^NAME\s+TYPE\s+DESCRIPTION\nerror-rate\s+Gauge\s+Fraction of requests with error responses\n$/,
    );
  });
});

describe("iter8 assert on a file", () => {
  it("prints one line per condition and exits 1 when one does not hold", () => {
    const r = iter8([
      "assert",
      "-f",
      seed004,
      "-c",
      "completed",
      "-c",
      "nofailure",
      "-c",
      "slos",
      "-c",
      "winner=current",
    ]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stdout,
      [
        "ok   completed: ExperimentCompleted: Experiment completed successfully",
        "ok   nofailure: no failure recorded",
        "ok   slos: all versions satisfy all 3 objectives",
        "FAIL winner=current: no winner found",
        "",
      ].join("\n"),
    );
  });
  it("reads standard input", () => {
    const r = iter8(["assert", "-f", "-", "-c", "slos"], { input: readFileSync(seed004, "utf8") });
    assert.equal(r.code, 0, r.stderr);
  });
});
