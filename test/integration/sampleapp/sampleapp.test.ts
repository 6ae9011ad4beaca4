// The sample app over real HTTP: version page, JSON, health, injected errors and latency.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { runLoad } from "../../../src/loadgen/index.ts";
import { startSampleApp } from "../../../src/sampleapp/index.ts";

test("serves an HTML page and JSON naming its version, and /healthz", async () => {
  const app = await startSampleApp({ version: "blue" });
  try {
    const html = await fetch(`${app.url}/`);
    assert.equal(html.status, 200);
    assert.equal(html.headers.get("x-version"), "blue");
    assert.match(html.headers.get("content-type")!, /text\/html/);
    assert.match(await html.text(), /This is the blue version/);
    const json = await fetch(`${app.url}/any/path`, { headers: { accept: "application/json" } });
    assert.deepEqual(await json.json(), { version: "blue" });
    const health = await fetch(`${app.url}/healthz`);
    assert.equal(await health.text(), "ok\n");
    assert.deepEqual(app.stats(), { requests: 2, errors: 0 });
  } finally {
    await app.close();
  }
});

test("error rate with a seed: within binomial tolerance and reproducible", async () => {
  const statuses: number[][] = [];
  for (let run = 0; run < 2; run++) {
    const app = await startSampleApp({ version: "green", errorRate: 0.05, seed: 2021 });
    try {
      const seq: number[] = [];
      // Sequential requests so the order of draws is the order of requests.
      for (let i = 0; i < 200; i++) seq.push((await fetch(`${app.url}/`)).status);
      const r = await runLoad({ url: `${app.url}/`, qps: 0, requests: 2000, connections: 8 });
      const n = 2200;
      const errors = seq.filter((s) => s === 500).length + (r.statusCodes["500"] ?? 0);
      // Binomial(2200, 0.05): mean 110, sd 10.2; ±4 sd.
      assert.ok(Math.abs(errors - 0.05 * n) <= 4 * Math.sqrt(n * 0.05 * 0.95), `${errors} errors of ${n}`);
      assert.equal(app.stats().errors, errors);
      statuses.push(seq);
    } finally {
      await app.close();
    }
  }
  assert.deepEqual(statuses[0], statuses[1]);
  assert.ok(statuses[0]!.includes(500));
});

test("injected latency follows the lognormal model (mean and p95)", async () => {
  const app = await startSampleApp({ latency: { meanMs: 20, p95Ms: 40 }, seed: 9 });
  try {
    const r = await runLoad({ url: `${app.url}/`, qps: 0, requests: 600, connections: 50 });
    assert.equal(r.statusCodes["200"], 600);
    // Measured latency adds loopback and scheduling overhead (~1 ms) to the injected one.
    assert.ok(r.latencyMs.mean > 18 && r.latencyMs.mean < 25, `mean ${r.latencyMs.mean}`);
    assert.ok(r.latencyMs.p95 > 33 && r.latencyMs.p95 < 50, `p95 ${r.latencyMs.p95}`);
    assert.ok(r.latencyMs.p50 < r.latencyMs.mean, "right-skewed: median below mean");
  } finally {
    await app.close();
  }
});

test("invalid options are rejected with the field named", async () => {
  await assert.rejects(startSampleApp({ errorRate: 1.5 }), /error-rate/);
  await assert.rejects(startSampleApp({ port: 70000 }), /port/);
  await assert.rejects(startSampleApp({ latency: { meanMs: 10, p95Ms: 100 } }), /latency-p95/);
  await assert.rejects(startSampleApp({ version: "<b>" }), /version/);
});

test("iter8 sample-app prints its address when ready and takes T_VERSION from the environment", async () => {
  const main = new URL("../../../src/cli/main.ts", import.meta.url).pathname;
  const child = spawn(process.execPath, [main, "sample-app", "--port", "0"], {
    env: { ...process.env, T_VERSION: "green" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    let out = "";
    child.stdout.setEncoding("utf8");
    while (!out.includes("\n")) {
      const [chunk] = (await once(child.stdout, "data")) as [string];
      out += chunk;
    }
    const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n$/.exec(out);
    assert.ok(m, out);
    const res = await fetch(`${m[1]}/`, { headers: { accept: "application/json" } });
    assert.deepEqual(await res.json(), { version: "green" });
  } finally {
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    assert.equal(code, 0);
  }
});

test("iter8 sample-app rejects bad flags with exit code 2", async () => {
  const main = new URL("../../../src/cli/main.ts", import.meta.url).pathname;
  const child = spawn(process.execPath, [main, "sample-app", "--error-rate", "2"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr.on("data", (d) => {
    err += d;
  });
  const [code] = await once(child, "exit");
  assert.equal(code, 2);
  assert.match(err, /error-rate/);
});
