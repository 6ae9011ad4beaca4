// `iter8 local run ... --metrics prometheus` (issue 5 item 4): a real Prometheus scrapes the router,
// the iter8-knative PromQL metrics answer the objectives, and the verdict is the built-in backend's.
// Meanwhile `iter8 get experiments --watch` in "another terminal" follows the run from the state dir.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { buildOnce, examples, iterationLines, orphansAfter, readJson, startCli, tempDir } from "./helpers.ts";

const hasPrometheus =
  spawnSync(process.env["ITER8_PROMETHEUS_BIN"] ?? "prometheus", ["--version"], { encoding: "utf8" })
    .status === 0;

before(() => buildOnce());

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
      /canary-progressive\s+Canary\s+default\/sample-app\s+Completed\s+10\s+ExperimentCompleted/,
    );
    watch.kill("SIGTERM");
    assert.equal(await watch.exited, 0);
    const watched = watch.stdout();
    assert.match(watched, /^NAME\s+TYPE\s+TARGET\s+STAGE\s+COMPLETED ITERATIONS\s+MESSAGE\n/);
    for (const n of [5, 9])
      assert.match(watched, new RegExp(`Running\\s+${n}\\s+IterationUpdate: Completed Iteration ${n}\\n`));

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
