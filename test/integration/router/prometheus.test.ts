// The iter8-knative sample PromQL, run by a real Prometheus scraping the router's /metrics.

import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { compileRoutes, type Router, startRouter } from "../../../src/router/index.ts";
import { docs, SEED000_ROUTING, SEED000_SERVICES } from "../../unit/router/fixtures.ts";
import { closedPort, load, request, startUpstream, type Upstream } from "./helpers.ts";

const hasPrometheus = spawnSync("prometheus", ["--version"]).status === 0;

// The Knative sample metrics' queries, verbatim, with $name and ${elapsedTime} to fill in.
const QUERIES = {
  requestCount:
    "sum(increase(revision_app_request_latencies_count{revision_name='$name'}[${elapsedTime}s])) or on() vector(0)",
  errorCount:
    "sum(increase(revision_app_request_latencies_count{response_code_class!='2xx',revision_name='$name'}[${elapsedTime}s])) or on() vector(0)",
  errorRate:
    "(sum(increase(revision_app_request_latencies_count{response_code_class!='2xx',revision_name='$name'}[${elapsedTime}s])) or on() vector(0)) / (sum(increase(revision_app_request_latencies_count{revision_name='$name'}[${elapsedTime}s])) or on() vector(0))",
  meanLatency:
    "(sum(increase(revision_app_request_latencies_sum{revision_name='$name'}[${elapsedTime}s])) or on() vector(0)) / (sum(increase(revision_app_request_latencies_count{revision_name='$name'}[${elapsedTime}s])) or on() vector(0))",
  p95: "histogram_quantile(0.95, sum(rate(revision_app_request_latencies_bucket{revision_name='$name'}[${elapsedTime}s])) by (le))",
};

describe("router metrics through Prometheus", {
  skip: hasPrometheus ? false : "prometheus binary not installed",
}, () => {
  let v1: Upstream;
  let v2: Upstream;
  let router: Router;
  let prom: ChildProcess;
  let promUrl: string;
  let dir: string;

  before(async () => {
    v1 = await startUpstream("blue");
    let n = 0;
    // v2: about 20 ms per request, every 10th request fails.
    v2 = await startUpstream("green", (_req, res) => {
      n++;
      const fail = n % 10 === 0;
      setTimeout(() => {
        res.writeHead(fail ? 500 : 200);
        res.end(fail ? "boom" : "green");
      }, 20);
    });
    const objects = docs(
      SEED000_SERVICES,
      SEED000_ROUTING.replace("weight: 100", "weight: 50").replace("weight: 0", "weight: 50"),
    );
    router = await startRouter({
      listen: { host: "127.0.0.1", port: 0 },
      admin: { host: "127.0.0.1", port: 0 },
      table: compileRoutes(objects, { "sample-app-v1-blue": v1.address, "sample-app-v2-green": v2.address }),
    });
    dir = mkdtempSync(join(tmpdir(), "iter8-router-prom-"));
    const admin = new URL(router.adminUrl!);
    writeFileSync(
      join(dir, "prometheus.yml"),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: router\n    static_configs:\n      - targets: ["${admin.host}"]\n`,
    );
    const port = await closedPort();
    promUrl = `http://127.0.0.1:${port}`;
    prom = spawn(
      "prometheus",
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: "ignore" },
    );
    await waitFor(
      async () => (await request(`${promUrl}/-/ready`).catch(() => ({ status: 0 }))).status === 200,
      "Prometheus ready",
    );
  });
  after(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom.once("exit", r));
      prom.kill("SIGTERM");
      await exited;
    }
    await router?.close();
    await v1?.close();
    await v2?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function query(
    q: string,
  ): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const r = await request(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = JSON.parse(r.body) as {
      status: string;
      data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    };
    assert.equal(body.status, "success", r.body);
    return body.data.result;
  }

  async function value(template: string, name: string): Promise<number> {
    const q = template.replaceAll("$name", name).replaceAll("${elapsedTime}", "60");
    const result = await query(q);
    assert.ok(result.length > 0, `no result for ${q}`);
    return Number(result[0]!.value[1]);
  }

  it("answers the Knative sample metrics' queries with the router's numbers", async () => {
    // Counters must be seen at 0 before traffic so that increase() counts from the start.
    await waitFor(
      async () => (await query("revision_app_request_latencies_count")).length > 0,
      "a first scrape",
    );
    const n = 400;
    const results = await load(router.url, n, 16, { host: "example.com", country: "wakanda" });
    const served2 = results.filter((r) => r.body === "green" || r.body === "boom").length;
    const failed2 = results.filter((r) => r.status === 500).length;
    assert.ok(served2 > 100 && failed2 > 5, `v2 got ${served2} requests, ${failed2} failures`);
    await waitFor(
      async () =>
        Number(
          (await query("sum(revision_app_request_latencies_count{revision_name='sample-app-v2-green'})"))[0]
            ?.value[1] ?? -1,
        ) === served2,
      "Prometheus to scrape the final counts",
    );
    const snap = router.metrics.snapshot("sample-app-v2-green")!;
    assert.equal(snap.count, served2);

    const count = await value(QUERIES.requestCount, "sample-app-v2-green");
    // increase() extrapolates to the end of the window: never below the truth, a little above at most.
    assert.ok(count >= served2 && count <= served2 * 1.5, `request-count ${count} vs ${served2}`);
    const errorCount = await value(QUERIES.errorCount, "sample-app-v2-green");
    assert.ok(
      errorCount >= failed2 && errorCount <= failed2 * 1.5,
      `error-count ${errorCount} vs ${failed2}`,
    );
    // Ratios of series scraped together are exact.
    const errorRate = await value(QUERIES.errorRate, "sample-app-v2-green");
    assert.ok(Math.abs(errorRate - failed2 / served2) < 1e-6, `error-rate ${errorRate}`);
    const mean = await value(QUERIES.meanLatency, "sample-app-v2-green");
    assert.ok(Math.abs(mean - snap.meanMs) / snap.meanMs < 0.01, `mean-latency ${mean} vs ${snap.meanMs}`);
    assert.ok(mean >= 20, `v2 answers in 20 ms or more (mean ${mean})`);
    const p95 = await value(QUERIES.p95, "sample-app-v2-green");
    // Bucket interpolation: within the 20-25 ms bucket the router's HDR p95 falls in.
    assert.ok(Math.abs(p95 - snap.percentilesMs.p95) <= 5, `p95 ${p95} vs HDR ${snap.percentilesMs.p95}`);

    // The baseline's metrics are there too, with no errors; an unknown revision yields 0, not nothing.
    assert.equal(await value(QUERIES.errorCount, "sample-app-v1-blue"), 0);
    assert.equal(await value(QUERIES.requestCount, "no-such-revision"), 0);
  });
});

async function waitFor(cond: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
