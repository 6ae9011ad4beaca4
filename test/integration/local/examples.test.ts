// The three seed tutorials end to end through the built CLI (`iter8 local run examples/X
// --interval 1`), with real version processes, the router, load generators and the engine: the
// weight sequence, final status, describe output and promotion, and no process left behind.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { runLoad } from "../../../src/loadgen/index.ts";
import { compileRoutes, startRouter } from "../../../src/router/index.ts";
import { startSampleApp } from "../../../src/sampleapp/index.ts";
import {
  buildOnce,
  examples,
  iterationLines,
  orphansAfter,
  readJson,
  runCli,
  startCli,
  tempDir,
} from "./helpers.ts";

type Exp = {
  status: {
    stage: string;
    completedIterations: number;
    message: string;
    versionRecommendedForPromotion?: string;
    conditions: Array<{ type: string; status: string }>;
  };
};
type Run = {
  routing: { objects: Array<Record<string, unknown>>; promotions: Array<Record<string, unknown>> };
  history: Array<{ iteration: number; weights: Record<string, number> }>;
  counts: Record<string, number>;
};

const hasPrometheus =
  spawnSync(process.env["ITER8_PROMETHEUS_BIN"] ?? "prometheus", ["--version"], { encoding: "utf8" })
    .status === 0;

before(() => buildOnce());

describe("the seed examples (concurrently: each run mostly waits for its interval)", {
  concurrency: true,
}, () => {
  describe("iter8 local run examples/canary-progressive-helm (seed 001)", () => {
    it("shifts weights within the 75 / 20 limits, completes, and promotes the candidate with Helm", async () => {
      const state = tempDir("s001");
      const r = await runCli([
        "local",
        "run",
        join(examples, "canary-progressive-helm"),
        "--interval",
        "1",
        "--state-dir",
        state,
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(await orphansAfter(r.marker), []);

      const lines = iterationLines(r.stdout);
      assert.deepEqual(
        lines.map((l) => l.iteration),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      );
      let previous = 0;
      for (const { weights } of lines) {
        assert.equal(weights["current"]! + weights["candidate"]!, 100);
        assert.ok(weights["candidate"]! <= 75, `candidate weight ${weights["candidate"]} over 75`);
        assert.ok(
          weights["candidate"]! - previous <= 20,
          `increment ${weights["candidate"]! - previous} over 20`,
        );
        assert.ok(weights["candidate"]! >= previous, "a healthy candidate never loses traffic");
        previous = weights["candidate"]!;
      }
      assert.equal(previous, 75, "the candidate reaches the 75 cap");

      const exp = readJson<Exp>(join(state, "experiments/default.canary-progressive.json"));
      assert.equal(exp.status.stage, "Completed");
      assert.equal(exp.status.completedIterations, 10);
      assert.equal(exp.status.message, "ExperimentCompleted: Experiment Completed");
      assert.equal(exp.status.versionRecommendedForPromotion, "candidate");
      assert.equal(exp.status.conditions.find((c) => c.type === "Failed")?.status, "False");

      const run = readJson<Run>(join(state, "runs/default.canary-progressive.json"));
      assert.deepEqual(
        run.history.map((h) => h.weights["candidate"]),
        lines.map((l) => l.weights["candidate"]),
      );
      assert.equal(run.routing.promotions.length, 1);
      const p = run.routing.promotions[0]!;
      assert.equal(p["revision"], "sample-app-v2");
      assert.deepEqual(p["traffic"], { "sample-app-v2": 100 });
      assert.match(String((p["values"] as string[])[0]), /\/candidate-values\.yaml$/);
      // The held Knative Service is the promoted one: no traffic block, revision v2.
      const ksvcs = run.routing.objects.filter((o) => o["kind"] === "Service");
      const last = ksvcs[ksvcs.length - 1] as {
        spec: { template: { metadata: { name: string } }; traffic?: unknown };
      };
      assert.equal(last.spec.template.metadata.name, "sample-app-v2");
      assert.equal(last.spec.traffic, undefined);

      assert.match(r.stdout, /Winning version: candidate\n/);
      assert.match(r.stdout, /Version recommended for promotion: candidate\n/);
      assert.match(r.stdout, /\| iter8-knative\/error-rate <=\s+\| true {4}\| true {6}\|/);
      assert.match(r.stdout, /promoted: release sample-app .* revision sample-app-v2 \(sample-app-v2=100%\)/);

      // Another terminal: `iter8 describe NAME` and `iter8 get experiments` read the state directory.
      const d = await runCli(["describe", "canary-progressive"], { ITER8_STATE_DIR: state });
      assert.equal(d.code, 0, d.stderr);
      assert.match(d.stdout, /Experiment stage: Completed\nNumber of completed iterations: 10\n/);
      assert.ok(r.stdout.includes(d.stdout), "describe NAME prints what the run printed at its end");
      const g = await runCli(["get", "experiments", "--state-dir", state]);
      assert.equal(g.code, 0, g.stderr);
      assert.match(g.stdout, /^NAME\s+TYPE\s+TARGET\s+STAGE\s+COMPLETED ITERATIONS\s+MESSAGE\n/);
      assert.match(
        g.stdout,
        /canary-progressive\s+Canary\s+default\/sample-app\s+Completed\s+10\s+ExperimentCompleted: Experiment Completed/,
      );
    });
  });

  describe("iter8 local run examples/traffic-segmentation (seed 000)", () => {
    it("shifts only the wakanda segment; gondor traffic stays on the baseline", async () => {
      const state = tempDir("s000");
      const r = await runCli([
        "local",
        "run",
        join(examples, "traffic-segmentation"),
        "--interval",
        "1",
        "--state-dir",
        state,
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(await orphansAfter(r.marker), []);
      const lines = iterationLines(r.stdout);
      assert.equal(lines.length, 10);
      const candidate = lines.map((l) => l.weights["candidate"]!);
      for (let i = 1; i < candidate.length; i++) assert.ok(candidate[i]! >= candidate[i - 1]!);
      assert.ok(candidate[9]! > 50, `wakanda traffic moved to the candidate (${candidate.join(",")})`);
      const exp = readJson<Exp>(join(state, "experiments/default.request-routing.json"));
      assert.equal(exp.status.message, "ExperimentCompleted: Experiment completed successfully");
      assert.equal(exp.status.versionRecommendedForPromotion, "candidate");

      // The VirtualService as the run left it: only http[0] (wakanda) was patched.
      const run = readJson<Run>(join(state, "runs/default.request-routing.json"));
      const vs = run.routing.objects.find((o) => o["kind"] === "VirtualService") as {
        spec: { http: Array<{ route: Array<{ weight?: number }> }> };
      };
      assert.deepEqual(
        vs.spec.http[0]!.route.map((x) => x.weight),
        [lines[9]!.weights["current"], lines[9]!.weights["candidate"]],
      );
      assert.equal(vs.spec.http[1]!.route.length, 1);

      // Route real requests through that final table and count them at the router, per segment.
      const v1 = await startSampleApp({ version: "blue", seed: 1 });
      const v2 = await startSampleApp({ version: "green", seed: 2 });
      const upstreams = {
        "sample-app-v1-blue": `127.0.0.1:${v1.port}`,
        "sample-app-v2-green": `127.0.0.1:${v2.port}`,
      };
      const router = await startRouter({
        listen: { host: "127.0.0.1", port: 0 },
        table: compileRoutes(run.routing.objects, upstreams),
      });
      try {
        const send = (country: string) =>
          runLoad({
            url: router.url,
            headers: { Host: "example.com", country },
            qps: 0,
            connections: 4,
            requests: 300,
          });
        await send("gondor");
        assert.equal(router.metrics.snapshot("sample-app-v1-blue")?.count, 300);
        assert.equal(
          router.metrics.snapshot("sample-app-v2-green")?.count ?? 0,
          0,
          "gondor never reaches the candidate",
        );
        await send("wakanda");
        const toV2 = router.metrics.snapshot("sample-app-v2-green")?.count ?? 0;
        const p = lines[9]!.weights["candidate"]! / 100;
        const sd = Math.sqrt(300 * p * (1 - p));
        assert.ok(
          Math.abs(toV2 - 300 * p) <= 5 * sd + 1,
          `wakanda to candidate ${toV2} of 300, expected ${300 * p}`,
        );
      } finally {
        await router.close();
        await v1.close();
        await v2.close();
      }
    });
  });

  describe("iter8 local run examples/conformance-mirroring (seed 004)", () => {
    it("mirrors about 40 % of requests to the dark version and assesses its objectives", async () => {
      const state = tempDir("s004");
      const r = await runCli([
        "local",
        "run",
        join(examples, "conformance-mirroring"),
        "--interval",
        "1",
        "--state-dir",
        state,
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(await orphansAfter(r.marker), []);
      assert.equal(iterationLines(r.stdout).length, 10);
      const exp = readJson<Exp>(join(state, "experiments/default.mirroring.json"));
      assert.equal(exp.status.stage, "Completed");
      assert.equal(exp.status.message, "ExperimentCompleted: Experiment completed successfully");
      // The seed's iter8ctl output layout (v2alpha1), with the dark version's objectives satisfied.
      assert.match(r.stdout, /Winning version: not found\nRecommended baseline: current\n/);
      assert.match(r.stdout, /\| mean-latency <= 50\.000\s+\| true {4}\|/);
      assert.match(r.stdout, /\| error-rate <= 0\.010\s+\| true {4}\|/);
      const run = readJson<Run>(join(state, "runs/default.mirroring.json"));
      const live = run.counts["sample-app-v1"]!;
      const dark = run.counts["sample-app-v2"]!;
      assert.ok(live > 100, `live requests ${live}`);
      const sd = Math.sqrt(live * 0.4 * 0.6);
      assert.ok(
        Math.abs(dark - 0.4 * live) <= 5 * sd,
        `mirrored ${dark} of ${live} (${((100 * dark) / live).toFixed(1)} %)`,
      );
    });
  });

  describe("canary-progressive-helm with a real Prometheus", () => {
    it("completes with the built-in backend's verdict, and get --watch follows it live", {
      skip: hasPrometheus ? false : "the prometheus binary is not installed (Debian package prometheus)",
    }, async () => {
      const state = tempDir("prom");
      const run = startCli([
        "local",
        "run",
        join(examples, "canary-progressive-helm"),
        "--interval",
        "1",
        "--metrics",
        "prometheus",
        "--state-dir",
        state,
      ]);
      // Start watching once the experiment exists.
      await run.waitFor(/ExperimentInitialized/);
      const watch = startCli(["get", "experiments", "--watch", "--state-dir", state]);
      const code = await run.exited;
      assert.equal(code, 0, run.stdout() + run.stderr());
      await watch.waitFor(
        /canary-progressive\s+Canary\s+default\/sample-app\s+Completed\s+10\s+current=\d+ candidate=\d+\s+ExperimentCompleted/,
      );
      watch.kill("SIGTERM");
      assert.equal(await watch.exited, 0);
      const watched = watch.stdout();
      // The watch shows the traffic split, as the run's own output does.
      assert.match(watched, /^NAME\s+TYPE\s+TARGET\s+STAGE\s+COMPLETED ITERATIONS\s+TRAFFIC\s+MESSAGE\n/);
      for (const n of [5, 9])
        assert.match(
          watched,
          new RegExp(
            `Running\\s+${n}\\s+current=\\d+ candidate=\\d+\\s+IterationUpdate: Completed Iteration ${n}\\n`,
          ),
        );

      assert.match(run.stdout(), /prometheus on http:\/\/127\.0\.0\.1:\d+, scraping/);
      const exp = readJson<{
        status: {
          versionRecommendedForPromotion: string;
          analysis: {
            aggregatedMetrics: { data: Record<string, { data: Record<string, { value?: number }> }> };
          };
        };
      }>(join(state, "experiments/default.canary-progressive.json"));
      assert.equal(exp.status.versionRecommendedForPromotion, "candidate");
      const count = exp.status.analysis.aggregatedMetrics.data["iter8-knative/request-count"]!.data;
      assert.ok((count["candidate"]?.value ?? 0) > 50, "Prometheus counted the candidate's requests");
      assert.equal(iterationLines(run.stdout()).at(-1)!.weights["candidate"], 75);
      assert.match(run.stdout(), /revision sample-app-v2 \(sample-app-v2=100%\)/);
      assert.deepEqual(await orphansAfter(run.marker), [], "Prometheus and the versions are stopped");
    });
  });
});
