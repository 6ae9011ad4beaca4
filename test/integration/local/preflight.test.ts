// Pre-flight: every rejection happens before any process starts (exit 2, the file and field named,
// nothing stored); `--dry-run` runs the checks alone. Faults: a truncated state file is named, a
// version that never listens on $PORT is named with that hint, a version that dies is restarted,
// and a run killed and resumed keeps its request counts.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { experimentFixture } from "../../support/experiments.ts";
import {
  buildOnce,
  copyExample,
  orphansAfter,
  processesWithMarker,
  readJson,
  runCli,
  startCli,
  tempDir,
} from "./helpers.ts";

async function initDir(pattern: string): Promise<string> {
  const dir = join(tempDir(`pf-${pattern}`), "lab");
  const r = await runCli(["local", "init", dir, "--pattern", pattern]);
  assert.equal(r.code, 0, r.stderr);
  return dir;
}

function edit(dir: string, file: string, from: string | RegExp, to: string): void {
  const text = readFileSync(join(dir, file), "utf8");
  const next = text.replace(from, to);
  assert.notEqual(next, text, `${file}: ${from} not found`);
  writeFileSync(join(dir, file), next);
}

let held: Server;
let heldPort = 0;

describe("pre-flight: rejected before anything starts", { concurrency: true }, () => {
  before(async () => {
    buildOnce();
    held = createServer();
    await new Promise<void>((r) => held.listen(0, "127.0.0.1", () => r()));
    heldPort = (held.address() as { port: number }).port;
  });
  after(() => held.close());

  const cases: Array<{
    name: string;
    make: () => Promise<string>;
    args?: () => string[];
    env?: NodeJS.ProcessEnv;
    expect: RegExp[];
  }> = [
    {
      name: "a metric that does not resolve",
      make: async () => {
        const d = await initDir("canary");
        edit(d, "experiment.yaml", "iter8-system/error-rate", "iter8-system/error-ratio");
        return d;
      },
      expect: [
        /experiment\.yaml: Experiment local-canary: spec\.criteria\.objectives\[1\]\.metric: .*error-ratio/,
      ],
    },
    {
      name: "a weightObjRef.fieldPath that is not in its object",
      make: async () => {
        const d = copyExample("canary-progressive-helm");
        edit(
          d,
          "experiment.yaml",
          "  versionInfo:\n",
          `  versionInfo:\n    # weightObjRef written out instead of by knative/init-experiment\n`,
        );
        edit(
          d,
          "experiment.yaml",
          "      - task: knative/init-experiment\n",
          "      - task: common/readiness\n",
        );
        edit(
          d,
          "experiment.yaml",
          "    - name: candidate\n",
          "    - name: candidate\n      weightObjRef: { apiVersion: serving.knative.dev/v1, kind: Service, name: sample-app, namespace: default, fieldPath: '.spec.trafic[1].percent' }\n",
        );
        edit(
          d,
          "experiment.yaml",
          "      name: current\n",
          "      name: current\n      weightObjRef: { apiVersion: serving.knative.dev/v1, kind: Service, name: sample-app, namespace: default, fieldPath: '.spec.traffic[0].percent' }\n",
        );
        return d;
      },
      expect: [
        /spec\.versionInfo\.candidates\[0\]\.weightObjRef\.fieldPath: \.spec\.trafic\[1\]\.percent does not exist in Service sample-app/,
      ],
    },
    {
      name: "a task command not on PATH",
      make: async () => {
        const d = await initDir("canary");
        edit(
          d,
          "experiment.yaml",
          "    deploymentPattern: Progressive\n",
          "    deploymentPattern: Progressive\n    actions:\n      finish:\n      - task: common/exec\n        with: { cmd: no-such-deployer, args: [go] }\n",
        );
        edit(d, "lab.yaml", "readyTimeout: 20s", "readyTimeout: 20s\nrunTasks: [no-such-deployer]");
        return d;
      },
      expect: [/spec\.strategy\.actions\.finish\[0\]\.with\.cmd: no-such-deployer is not on PATH/],
    },
    {
      name: "prometheus not on PATH",
      make: () => initDir("canary"),
      args: () => ["--metrics", "prometheus"],
      env: { ITER8_PROMETHEUS_BIN: "no-such-prometheus" },
      expect: [/--metrics prometheus: no-such-prometheus is not on PATH/],
    },
    {
      name: "knative/init-experiment with an A/B experiment",
      make: async () => {
        const d = copyExample("canary-progressive-helm");
        edit(d, "experiment.yaml", "testingPattern: Canary", "testingPattern: A/B");
        edit(
          d,
          "experiment.yaml",
          "  criteria:\n",
          "  criteria:\n    rewards:\n    - metric: iter8-knative/mean-latency\n      preferredDirection: Low\n",
        );
        return d;
      },
      expect: [
        /spec\.strategy\.actions\.start\[0\]\.task: knative\/init-experiment supports the Canary and Conformance testing patterns, not A\/B/,
      ],
    },
    {
      name: "a version no route sends traffic to",
      make: async () => {
        const d = copyExample("canary-progressive-helm");
        edit(d, "experiment.yaml", "value: sample-app-v2", "value: sample-app-v9");
        return d;
      },
      expect: [/spec\.versionInfo\.candidates\[0\]: no route sends traffic to sample-app-v9/],
    },
    {
      name: "a version a fixed split gives no traffic",
      make: async () => {
        const d = await initDir("fixedsplit");
        edit(d, "lab.yaml", "weight: 50 }", "weight: 100 }");
        edit(d, "lab.yaml", "weight: 50 }", "weight: 0 }");
        return d;
      },
      expect: [
        /lab\.yaml: versions\.v2\.weight: 0 in a FixedSplit experiment: nothing would send it traffic/,
      ],
    },
    {
      name: "a gateway port in use",
      make: () => initDir("canary"),
      args: () => ["--gateway-port", String(heldPort)],
      expect: [/--gateway-port: port \d+ on 127\.0\.0\.1 is in use/],
    },
    {
      name: "a version command not on PATH (no shell noise)",
      make: async () => {
        const d = await initDir("canary");
        edit(d, "lab.yaml", "v1: { command: [node, server.mjs]", "v1: { command: [pyhton3, server.py]");
        return d;
      },
      expect: [/lab\.yaml: versions\.v1\.command\[0\]: pyhton3 is not on PATH \(version v1\)/],
    },
    {
      name: "every problem at once",
      make: async () => {
        const d = await initDir("canary");
        edit(d, "lab.yaml", "v1: { command: [node, server.mjs]", "v1: { command: [pyhton3, server.py]");
        edit(d, "experiment.yaml", "iter8-system/error-rate", "iter8-system/error-ratio");
        return d;
      },
      args: () => ["--gateway-port", String(heldPort)],
      expect: [/pyhton3 is not on PATH/, /error-ratio/, /--gateway-port: port \d+ .* in use/],
    },
  ];
  for (const c of cases) {
    it(`${c.name}: exit 2 naming the field, nothing started or stored`, async () => {
      const dir = await c.make();
      const state = tempDir("pf-state");
      for (const dry of [true, false]) {
        const r = await runCli(
          ["local", "run", dir, "--state-dir", state, ...(dry ? ["--dry-run"] : []), ...(c.args?.() ?? [])],
          c.env,
        );
        assert.equal(r.code, 2, r.stdout + r.stderr);
        for (const re of c.expect) assert.match(r.stderr, re);
        assert.doesNotMatch(r.stderr, /not found\n|sh: /, "no shell noise");
        assert.doesNotMatch(r.stdout, /started (version|revision)|router \(gateway\)/);
        assert.deepEqual(processesWithMarker(r.marker), []);
        assert.equal(existsSync(join(state, "experiments")), false, "nothing stored");
      }
    });
  }

  it("--dry-run of a good directory exits 0 without starting anything", async () => {
    const dir = await initDir("abn");
    const state = tempDir("pf-dry");
    const r = await runCli(["local", "run", dir, "--dry-run", "--state-dir", state]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ready to run: experiment local-abn, versions v1, v2, v3/);
    assert.doesNotMatch(r.stdout, /started/);
    assert.equal(existsSync(join(state, "experiments")), false);
  });
});

describe("local faults", { concurrency: true }, () => {
  before(buildOnce);

  it("a truncated state file is an error naming the file", async () => {
    const dir = await initDir("canary");
    const state = tempDir("trunc");
    mkdirSync(join(state, "experiments"), { recursive: true });
    const file = join(state, "experiments/default.local-canary.json");
    writeFileSync(file, '{"apiVersion": "iter8.tools/v2alpha2", "kind": "Exp');
    const r = await runCli(["local", "run", dir, "--state-dir", state]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`${file}: cannot be read .*; remove it or use --fresh`));
    assert.deepEqual(processesWithMarker(r.marker), []);
  });

  it("a wrong-typed run record is an error naming the file and field", async () => {
    const dir = await initDir("canary");
    const state = tempDir("badrun");
    mkdirSync(join(state, "experiments"), { recursive: true });
    mkdirSync(join(state, "runs"), { recursive: true });
    const exp = readFileSync(join(dir, "experiment.yaml"), "utf8");
    assert.ok(exp.includes("local-canary"));
    // An unfinished experiment and a record whose history is not a list.
    writeFileSync(
      join(state, "experiments/default.local-canary.json"),
      JSON.stringify(
        experimentFixture({
          name: "local-canary",
          metadata: { resourceVersion: "3" },
          target: "default/local-canary",
          versions: ["v1", "v2"],
          status: { stage: "Running", completedIterations: 1 },
        }),
      ),
    );
    const runFile = join(state, "runs/default.local-canary.json");
    writeFileSync(
      runFile,
      JSON.stringify({
        tutorial: dir,
        pid: 1,
        startedAt: "x",
        metrics: "builtin",
        routing: { objects: [], promotions: [] },
        history: "no",
      }),
    );
    const r = await runCli(["local", "run", dir, "--state-dir", state]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`${runFile}: history: must be array`));
    assert.deepEqual(processesWithMarker(r.marker), []);
  });

  it("a version that never listens on $PORT is named with that hint (--ready-timeout)", async () => {
    const dir = await initDir("canary");
    writeFileSync(join(dir, "idle.mjs"), "setInterval(() => {}, 1000);\n");
    edit(dir, "lab.yaml", "v2: { command: [node, server.mjs]", "v2: { command: [node, ./idle.mjs]");
    const r = await runCli(["local", "run", dir, "--state-dir", tempDir("idle"), "--ready-timeout", "1s"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /version v2: no HTTP answer on 127\.0\.0\.1:\d+ after 1000 ms: does it listen on \$PORT/,
    );
    assert.deepEqual(await orphansAfter(r.marker), []);
  });

  it("a version that dies is reported and restarted, and the run completes", async () => {
    const dir = await initDir("canary");
    // Dies once, 1 s after it started; the restarted process keeps serving.
    writeFileSync(
      join(dir, "flaky.mjs"),
      `import { existsSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
if (!existsSync("died-once")) setTimeout(() => { writeFileSync("died-once", ""); process.exit(3); }, 1000);
createServer((req, res) => res.end("v2\\n")).listen(Number(process.env.PORT), "127.0.0.1");
`,
    );
    edit(dir, "experiment.yaml", "iterationsPerLoop: 5", "iterationsPerLoop: 8");
    // All 8 iterations, so the restart happens while the run goes on (no early stop on v2's errors).
    edit(
      dir,
      "experiment.yaml",
      "      maxExtraIterations: 10\n",
      "      maxExtraIterations: 10\n      earlyStop: false\n",
    );
    edit(dir, "lab.yaml", "v2: { command: [node, server.mjs]", "v2: { command: [node, flaky.mjs]");
    const r = await runCli(["local", "run", dir, "--interval", "1", "--state-dir", tempDir("flaky")]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /version v2: its process exited with status 3; restarting in 0\.5 s \(restart 1 of at most 5\)\n/,
    );
    assert.match(r.stdout, /version v2: restarted on 127\.0\.0\.1:\d+\n/);
    assert.ok(existsSync(join(dir, "died-once")), "the version ran in the lab's directory");
    assert.deepEqual(await orphansAfter(r.marker), []);
  });

  it("a run killed and resumed keeps cumulative request counts", async () => {
    const dir = await initDir("canary");
    edit(dir, "experiment.yaml", "iterationsPerLoop: 5", "iterationsPerLoop: 8");
    // All 8 iterations, so the restart happens while the run goes on (no early stop on v2's errors).
    edit(
      dir,
      "experiment.yaml",
      "      maxExtraIterations: 10\n",
      "      maxExtraIterations: 10\n      earlyStop: false\n",
    );
    const state = tempDir("resume-counts");
    const args = ["local", "run", dir, "--interval", "1", "--state-dir", state];
    const first = startCli(args);
    await first.waitFor(/IterationUpdate: Completed Iteration 3\n/);
    first.kill("SIGKILL");
    assert.equal(await first.exited, "SIGKILL");
    assert.deepEqual(await orphansAfter(first.marker), []);
    type Stats = { state: { versions: Array<{ version: string; count: number }> } };
    type Saved = { routerMetrics: Stats; routerMetricsAtStart: Stats };
    const saved = readJson<Saved>(join(state, "runs/default.local-canary.json"));
    const counts = (s: Stats) => Object.fromEntries(s.state.versions.map((v) => [v.version, v.count]));
    const before = counts(saved.routerMetrics);
    const atStart = counts(saved.routerMetricsAtStart);
    assert.ok((before["v1"] ?? 0) > 20, `v1 served ${before["v1"]} before the kill`);

    const second = await runCli(args);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /router statistics restored from .*: v1=\d+ v2=\d+\n/);
    assert.doesNotMatch(second.stdout, /waiting \d+ s for traffic/);
    const run = readJson<{ counts: Record<string, number> }>(join(state, "runs/default.local-canary.json"));
    for (const v of ["v1", "v2"])
      assert.ok(
        run.counts[v]! > before[v]!,
        `${v}: ${before[v]} before the kill, ${run.counts[v]} at the end`,
      );
    type Exp = {
      status: {
        analysis: {
          aggregatedMetrics: { data: Record<string, { data: Record<string, { value?: number }> }> };
        };
      };
    };
    const exp = readJson<Exp>(join(state, "experiments/default.local-canary.json"));
    const count =
      exp.status.analysis.aggregatedMetrics.data["iter8-system/request-count"]!.data["v1"]!.value!;
    const sinceStart = before["v1"]! - (atStart["v1"] ?? 0);
    assert.ok(
      count > sinceStart,
      `the request-count metric continues (${count} > ${sinceStart} counted before the kill)`,
    );
  });
});
