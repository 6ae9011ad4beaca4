// Outcomes a user cannot miss, each on a real `iter8 local run` of a copy of the canary example:
// a metric whose backend returns no data, an unreachable metrics backend, a failing finish task, a
// run without traffic, a rollback and a killed run. Each shows its reason in the run's output and in
// `iter8 describe` (text and -o json), and `iter8 assert` exits 1 for the condition that fails and 0
// for those that hold. A run of the unchanged example records every iteration in status.history.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  buildOnce,
  copyExample,
  examples,
  orphansAfter,
  root,
  runCli,
  startCli,
  tempDir,
} from "./helpers.ts";

const NAME = "canary-progressive";

before(() => buildOnce());

/** A copy of the canary example with fewer iterations, changed by `change`. */
function variant(change: (dir: string) => void = () => {}): string {
  const dir = copyExample("canary-progressive-helm");
  edit(join(dir, "experiment.yaml"), (s) => s.replace("iterationsPerLoop: 10", "iterationsPerLoop: 3"));
  change(dir);
  return dir;
}

function edit(file: string, f: (text: string) => string): void {
  const before = readFileSync(file, "utf8");
  const after = f(before);
  assert.notEqual(after, before, `edit of ${file} changed nothing`);
  writeFileSync(file, after);
}

/** Adds an objective on a Metric of namespace default served from `url`. */
function withUserMetric(dir: string, url: string): void {
  writeFileSync(
    join(dir, "user-metric.yaml"),
    `apiVersion: iter8.tools/v2alpha2
kind: Metric
metadata:
  name: user-latency
  namespace: default
spec:
  description: latency from the user's own backend
  provider: prometheus
  type: Gauge
  params:
  - name: query
    value: user_latency{revision='$revision'}
  jqExpression: .data.result[0].value[1] | tonumber
  urlTemplate: ${url}
`,
  );
  edit(join(dir, "lab.yaml"), (s) =>
    s.replace("  - experiment.yaml", "  - user-metric.yaml\n  - experiment.yaml"),
  );
  edit(join(dir, "experiment.yaml"), (s) =>
    s.replace(
      "    - metric: iter8-knative/error-rate",
      "    - metric: default/user-latency\n      upperLimit: 50\n    - metric: iter8-knative/error-rate",
    ),
  );
}

async function run(dir: string, extra: string[] = []) {
  const state = tempDir("outcome");
  const r = await runCli(["local", "run", dir, "--interval", "0.5", "--state-dir", state, ...extra]);
  assert.deepEqual(await orphansAfter(r.marker), []);
  return { ...r, state };
}

async function describeText(state: string): Promise<string> {
  const d = await runCli(["describe", NAME, "--state-dir", state]);
  assert.equal(d.code, 0, d.stderr);
  return d.stdout;
}

async function describeJson(state: string): Promise<{
  outcome?: { reasons: string[] };
  history: unknown[];
  status: { history: { recent: unknown[] } };
}> {
  const d = await runCli(["describe", NAME, "--state-dir", state, "-o", "json"]);
  assert.equal(d.code, 0, d.stderr);
  return JSON.parse(d.stdout);
}

/** `iter8 assert` exit code for each condition, checked one at a time. */
async function assertCodes(state: string, conditions: string[]): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  for (const c of conditions) {
    const r = await runCli(["assert", NAME, "--state-dir", state, "-c", c]);
    assert.match(r.stdout, new RegExp(`^(ok  |FAIL) ${c.replace(/[=]/g, "\\=")}: `), r.stdout + r.stderr);
    out[c] = r.code;
  }
  return out;
}

/** The reason appears in the run's output, in describe's text and in describe -o json. */
async function reasonEverywhere(r: { stdout: string; state: string }, reason: RegExp): Promise<void> {
  assert.match(r.stdout, reason, r.stdout);
  const text = await describeText(r.state);
  assert.match(text.slice(text.indexOf("****** Outcome ******")), reason, text);
  const json = await describeJson(r.state);
  assert.ok(
    json.outcome?.reasons.some((x) => reason.test(x)),
    JSON.stringify(json.outcome),
  );
}

describe("outcomes of real local runs (concurrently: each run mostly waits)", { concurrency: true }, () => {
  let backend: Server;
  let backendUrl = "";
  before(async () => {
    // A Prometheus-like backend that knows no such series: an empty result.
    backend = createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ status: "success", data: { resultType: "vector", result: [] } }));
    });
    await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
    backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}/api/v1/query`;
  });
  after(() => backend.close());

  it("a metric with no data: named per version with the reason; no winner", async () => {
    const r = await run(variant((d) => withUserMetric(d, backendUrl)));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await reasonEverywhere(r, /metric default\/user-latency could not be read for version candidate: .+/);
    assert.match(
      r.stderr,
      /warning: metric default\/user-latency could not be read for version current: .+\(iteration 1\)/,
    );
    assert.equal(
      r.stderr.match(/user-latency could not be read for version current/g)?.length,
      1,
      "warned once",
    );
    assert.match(r.stdout, /no winner: current has no value for default\/user-latency/);
    assert.deepEqual(await assertCodes(r.state, ["completed", "nofailure", "winnerFound", "slos"]), {
      completed: 0,
      nofailure: 0,
      winnerFound: 1,
      slos: 1,
    });
  });

  it("an unreachable metrics backend: the connection error per version", async () => {
    // A port nobody listens on: taken from the system, then released.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const r = await run(
      variant((d) => withUserMetric(d, `http://127.0.0.1:${port}/api/v1/query`)),
      ["--log-format", "json"],
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // --log-format json: every stderr line is a JSON object; the warning is one of them, once.
    const logs = r.stderr
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { level: string; msg: string });
    const warned = logs.filter(
      (l) => l.level === "warn" && /user-latency could not be read for version current/.test(l.msg),
    );
    assert.equal(warned.length, 1, r.stderr);
    await reasonEverywhere(
      r,
      /metric default\/user-latency could not be read for version current: .*unreachable/i,
    );
    assert.deepEqual(await assertCodes(r.state, ["completed", "winnerFound"]), {
      completed: 0,
      winnerFound: 1,
    });
  });

  it("a failing finish task: exit code and the tail of its output; the run exits 1", async () => {
    const dir = variant((d) =>
      edit(join(d, "experiment.yaml"), (s) =>
        s.replace(
          "  criteria:",
          "      - run: |\n          echo promotion-refused-by-policy >&2\n          exit 3\n  criteria:",
        ),
      ),
    );
    // --run-tasks: the failing finish task is a shell script, which a local run would only print.
    const r = await run(dir, ["--run-tasks", "--assert", "completed", "--assert", "nofailure"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    await reasonEverywhere(r, /finish action failed: task run: .*exit code 3/);
    assert.match(r.stdout, /^ {4}promotion-refused-by-policy$/m);
    assert.match(r.stdout, /failed: HandlerFailed: Finish actions failed/);
    assert.match(
      r.stdout,
      /^Experiment failed: HandlerFailed: Finish actions failed \(finish action failed: task run: .*exit code 3\)\)$/m,
    );
    assert.match(r.stdout, /^ok {3}completed: /m);
    assert.match(r.stdout, /^FAIL nofailure: /m);
    assert.deepEqual(await assertCodes(r.state, ["completed", "nofailure"]), { completed: 0, nofailure: 1 });
    const get = await runCli(["get", "experiments", "--state-dir", r.state]);
    assert.match(
      get.stdout,
      /Completed\s+3\s+ExperimentCompleted: Finish actions failed; finish action failed: task run: .*exit code 3/,
    );
  });

  it("a run without traffic: each version named as getting no requests", async () => {
    // The load is there (pre-flight refuses a run with none) but starts long after the run ends.
    const dir = variant((d) => {
      edit(join(d, "lab.yaml"), (s) => s.replace("    qps: 40\n", "    qps: 40\n    delay: 600s\n"));
    });
    const r = await run(dir);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await reasonEverywhere(r, /no traffic: version candidate received no requests/);
    assert.match(r.stderr, /warning: version current received no requests in iteration 1/);
    assert.match(r.stdout, /^Experiment completed: no winner, promoted current$/m);
    assert.deepEqual(await assertCodes(r.state, ["completed", "winnerFound", "promoted=current"]), {
      completed: 0,
      winnerFound: 1,
      "promoted=current": 0,
    });
  });

  it("a rollback: the objective, the version and the routing left in place", async () => {
    // On errors, not latency: a loaded machine can make the baseline's first request slow, and a
    // latency objective would then roll back on the baseline; it never answers 500.
    const dir = variant((d) => {
      edit(join(d, "experiment.yaml"), (s) =>
        s.replace(
          '    - metric: iter8-knative/error-rate\n      upperLimit: "0.01"\n',
          '    - metric: iter8-knative/error-rate\n      upperLimit: "0.01"\n      rollback_on_failure: true\n',
        ),
      );
      writeFileSync(
        join(d, "lab.yaml"),
        `${readFileSync(join(d, "lab.yaml"), "utf8")}\nrevisions:\n  sample-app-v2:\n    args: [--error-rate, "1"]\n`,
      );
    });
    const r = await run(dir);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await reasonEverywhere(r, /rolled back: objective iter8-knative\/error-rate not satisfied by candidate/);
    assert.match(
      r.stdout,
      /finish action ran \(version to promote: current\); traffic before it: current=\d+ candidate=\d+/,
    );
    assert.match(r.stdout, /^Experiment completed: rolled back, promoted current$/m);
    assert.deepEqual(await assertCodes(r.state, ["completed", "promoted=current", "winner=candidate"]), {
      completed: 0,
      "promoted=current": 0,
      "winner=candidate": 1,
    });
  });

  it("a killed run: interrupted, with how to resume, in describe, get and assert", async () => {
    // All ten iterations: at 3 s each the run is still going when a loaded machine gets to `get`.
    const dir = copyExample("canary-progressive-helm");
    const state = tempDir("killed");
    const cli = startCli(["local", "run", dir, "--interval", "3", "--state-dir", state]);
    await cli.waitFor(/IterationUpdate: Completed Iteration 1/);
    // While it runs: not interrupted.
    const live = await runCli(["get", "experiments", "--state-dir", state]);
    assert.match(live.stdout, /canary-progressive\s+Canary\s+default\/sample-app\s+Running/);
    cli.kill("SIGKILL");
    await cli.exited;
    assert.deepEqual(await orphansAfter(cli.marker), []);
    const text = await describeText(state);
    assert.ok(text.includes(`interrupted: resume with \`iter8 local run ${dir}\``), text);
    const get = await runCli(["get", "experiments", "--state-dir", state]);
    // A slow machine may complete another iteration before the kill lands: the count is whatever
    // the run recorded, and --fresh below must report the same one.
    const row =
      /canary-progressive\s+Canary\s+default\/sample-app\s+Interrupted\s+(\d+)\s+interrupted: resume/.exec(
        get.stdout,
      );
    assert.ok(row, get.stdout);
    const completed = Number(row[1]);
    assert.ok(completed >= 1, get.stdout);
    // --timeout does not wait for a run that is gone.
    const started = Date.now();
    const a = await runCli(["assert", NAME, "--state-dir", state, "-c", "completed", "--timeout", "20s"]);
    assert.equal(a.code, 1, a.stdout + a.stderr);
    assert.match(a.stdout, /^FAIL completed: interrupted: resume with/);
    assert.ok(Date.now() - started < 15_000, "assert returned without waiting out its timeout");
    // --fresh says what it throws away.
    const fresh = await runCli(["local", "run", dir, "--interval", "0.5", "--state-dir", state, "--fresh"]);
    assert.equal(fresh.code, 0, fresh.stdout + fresh.stderr);
    assert.match(
      fresh.stdout,
      new RegExp(
        `^--fresh: discarding the unfinished run of default/canary-progressive in \\S+ \\(stage Running, ${completed} iterations completed\\)$`,
        "m",
      ),
    );
    assert.deepEqual(await orphansAfter(fresh.marker), []);
  });

  it("assert --timeout waits for a run in another process to complete", async () => {
    const state = tempDir("wait");
    const cli = startCli(["local", "run", variant(), "--interval", "0.5", "--state-dir", state]);
    // Started before the experiment exists: it waits for it to appear, then to complete.
    const a = await runCli([
      "assert",
      NAME,
      "--state-dir",
      state,
      "-c",
      "completed",
      "-c",
      "winner=candidate",
      "--timeout",
      "60s",
    ]);
    const code = await cli.exited;
    assert.equal(code, 0, cli.stdout() + cli.stderr());
    assert.equal(a.code, 0, a.stdout + a.stderr);
    assert.match(
      a.stdout,
      /^ok {3}completed: ExperimentCompleted: Experiment Completed\nok {3}winner=candidate: /,
    );
    assert.deepEqual(await orphansAfter(cli.marker), []);
  });

  it("the history of a seed run lists every iteration's weights and values", async () => {
    const state = tempDir("history");
    const r = await runCli([
      "local",
      "run",
      join(examples, "canary-progressive-helm"),
      "--interval",
      "0.5",
      "--state-dir",
      state,
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^Experiment completed: winner candidate, promoted candidate$/m);
    const exp = await describeJson(state);
    assert.equal(exp.status.history.recent.length, 10);
    const recent = exp.history as Array<{
      iteration: number;
      weights: Array<{ name: string; value: number }>;
      observed: Array<{ name: string; value: number }>;
      values: Record<string, Record<string, { value?: number; error?: string }>>;
    }>;
    assert.deepEqual(
      recent.map((h) => h.iteration),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    for (const h of recent) {
      assert.deepEqual(
        h.observed.map((w) => w.name),
        ["current", "candidate"],
      );
      assert.equal(
        h.observed.reduce((a, w) => a + w.value, 0),
        100,
      );
      assert.deepEqual(h.weights, h.observed, `iteration ${h.iteration}: weights applied are read back`);
      // Every metric for every version: its value, or why there is none (the candidate has no
      // traffic before its first weight change).
      for (const metric of [
        "iter8-knative/mean-latency",
        "iter8-knative/95th-percentile-tail-latency",
        "iter8-knative/error-rate",
        "iter8-knative/request-count",
      ])
        for (const v of ["current", "candidate"]) {
          const cell = h.values[metric]?.[v];
          assert.ok(
            typeof cell?.value === "number" || typeof cell?.error === "string",
            `iteration ${h.iteration} ${metric} ${v}: ${JSON.stringify(cell)}`,
          );
          // A version that has had requests has every value (how soon the candidate's first
          // requests come depends on the machine's speed at 0.5 s iterations).
          const requests = h.values["iter8-knative/request-count"]?.[v]?.value ?? 0;
          if (requests > 0)
            assert.equal(typeof cell?.value, "number", `iteration ${h.iteration} ${metric} ${v}`);
        }
    }
    // By the end both versions have had requests, so the check above held for both.
    for (const v of ["current", "candidate"])
      assert.ok((recent.at(-1)!.values["iter8-knative/request-count"]?.[v]?.value ?? 0) > 0, v);
    // The candidate's weight grows by at most 20 per iteration, up to 75 (the experiment's limits).
    const candidate = recent.map((h) => h.observed[1]!.value);
    assert.ok(
      candidate.every((w, i) => w <= 75 && (i === 0 || w - candidate[i - 1]! <= 20)),
      String(candidate),
    );
  });

  const hasScript = spawnSync("script", ["--version"]).status === 0;
  it("on a terminal: a live line between iterations, erased before each row", {
    skip: hasScript ? false : "util-linux script (a pseudo-terminal) is not installed",
  }, async () => {
    const state = tempDir("tty");
    const log = join(tempDir("tty-log"), "typescript");
    // script(1) gives the run a pseudo-terminal and records what it wrote to it.
    const r = spawnSync(
      "script",
      ["-qec", `${join(root, "bin/iter8")} local run ${variant()} --interval 2 --state-dir ${state}`, log],
      { encoding: "utf8", timeout: 90_000, env: { ...process.env, ITER8_PROGRAM_NAME: "iter8" } },
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const tty = readFileSync(log, "latin1");
    assert.match(
      tty,
      /\r\x1b\[Kiteration 2 of 3 \| next in \d s \| requests sample-app-v1=\d+ sample-app-v2=\d+ \| weights current=\d+ candidate=\d+/,
    );
    // Before a row, the live line is erased; the closing line is not followed by it.
    assert.match(tty, /\r\x1b\[Kcanary-progressive\s+Canary/);
    assert.match(tty, /\r\nExperiment completed: [^\r\n]+\r\n(\n?Script done .*\n)?$/);
    // Once the experiment is completed, no status line is drawn again.
    const completedRow = tty.indexOf("ExperimentCompleted: Experiment Completed");
    assert.ok(
      completedRow > 0 && !tty.slice(completedRow).includes("iteration 3 of 3"),
      tty.slice(completedRow, completedRow + 400),
    );
  });
});
