// examples/canary-httproute end to end through the built CLI: a progressive canary whose weights are
// the backendRef weights of a Gateway API HTTPRoute, with real version processes, the router, load and
// the engine. Checks the weight sequence, the final status and route object, and then routes real
// requests through the route as the run left it.

import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { runLoad } from "../../../src/loadgen/index.ts";
import { compileRoutes, startRouter } from "../../../src/router/index.ts";
import { startSampleApp } from "../../../src/sampleapp/index.ts";
import { buildOnce, examples, iterationLines, orphansAfter, readJson, runCli, tempDir } from "./helpers.ts";

type Exp = {
  status: { stage: string; completedIterations: number; versionRecommendedForPromotion?: string };
};
type Run = { routing: { objects: Array<Record<string, unknown>> }; counts: Record<string, number> };
type Route = { spec: { rules: Array<{ backendRefs: Array<{ name: string; weight?: number }> }> } };

before(() => buildOnce());

describe("iter8 local run examples/canary-httproute", () => {
  it("shifts the HTTPRoute's backendRef weights within 80 / +20, completes, and leaves the route split", async () => {
    const state = tempDir("httproute");
    const r = await runCli([
      "local",
      "run",
      join(examples, "canary-httproute"),
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
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    let previous = 0;
    for (const { weights } of lines) {
      assert.equal(weights["current"]! + weights["candidate"]!, 100);
      assert.ok(weights["candidate"]! <= 80, `candidate weight ${weights["candidate"]} over 80`);
      assert.ok(
        weights["candidate"]! - previous <= 20,
        `increment ${weights["candidate"]! - previous} over 20`,
      );
      assert.ok(weights["candidate"]! >= previous, "a healthy candidate never loses traffic");
      previous = weights["candidate"]!;
    }
    assert.equal(previous, 80, "the candidate reaches the 80 cap");

    const exp = readJson<Exp>(join(state, "experiments/default.canary-httproute.json"));
    assert.equal(exp.status.stage, "Completed");
    assert.equal(exp.status.completedIterations, 8);
    assert.equal(exp.status.versionRecommendedForPromotion, "candidate");
    assert.match(r.stdout, /Winning version: candidate\n/);

    // The route as the run left it: rules[0]'s weights are the last iteration's; rules[1] untouched.
    const run = readJson<Run>(join(state, "runs/default.canary-httproute.json"));
    const route = run.routing.objects.find((o) => o["kind"] === "HTTPRoute") as Route;
    assert.deepEqual(
      route.spec.rules[0]!.backendRefs.map((b) => b.weight),
      [20, 80],
    );
    assert.equal(route.spec.rules[1]!.backendRefs[0]!.weight, undefined);
    assert.ok((run.counts["sample-app-v1-blue"] ?? 0) > 0 && (run.counts["sample-app-v2-green"] ?? 0) > 0);

    // Real requests through that route: 80 % to the candidate, and the header rule only to it.
    const v1 = await startSampleApp({ version: "blue", seed: 1 });
    const v2 = await startSampleApp({ version: "green", seed: 2 });
    const router = await startRouter({
      listen: { host: "127.0.0.1", port: 0 },
      table: compileRoutes(run.routing.objects, {
        "sample-app-v1-blue": `127.0.0.1:${v1.port}`,
        "sample-app-v2-green": `127.0.0.1:${v2.port}`,
      }),
    });
    try {
      const send = (headers: Record<string, string>) =>
        runLoad({
          url: router.url,
          headers: { Host: "example.com", ...headers },
          qps: 0,
          connections: 4,
          requests: 400,
        });
      await send({ "x-version": "candidate" });
      assert.equal(router.metrics.snapshot("sample-app-v2-green")?.count, 400);
      assert.equal(
        router.metrics.snapshot("sample-app-v1-blue")?.count ?? 0,
        0,
        "the header rule reaches only v2",
      );
      await send({});
      const toV2 = (router.metrics.snapshot("sample-app-v2-green")?.count ?? 0) - 400;
      const sd = Math.sqrt(400 * 0.8 * 0.2);
      assert.ok(Math.abs(toV2 - 320) <= 5 * sd, `candidate got ${toV2} of 400, expected 320 within 5 sigma`);
    } finally {
      await router.close();
      await v1.close();
      await v2.close();
    }
  });
});
