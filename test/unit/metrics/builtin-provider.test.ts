// The built-in provider over the router's real metrics store (src/router/metrics.ts).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BUILTIN_METRICS,
  BuiltinMetricsProvider,
  percentileOf,
  type VersionStatsSource,
  versionLabel,
} from "../../../src/metrics/builtin-provider.ts";
import { MetricsStore } from "../../../src/router/metrics.ts";
import { baseline, candidate, experiment, metric, query } from "./fixtures.ts";

// The router's store is a VersionStatsSource as it is.
const _typeCheck: VersionStatsSource = new MetricsStore();

const builtin = (name: string) => metric(name, { provider: "iter8", type: "Gauge" }, "iter8-system");

async function read(
  p: BuiltinMetricsProvider,
  name: string,
  which: "baseline" | "candidate",
  e = experiment(),
) {
  return p.read(query(e, builtin(name), which === "baseline" ? baseline(e) : candidate(e), 10));
}

describe("built-in metric names", () => {
  it("knows the percentile of each latency name", () => {
    assert.equal(percentileOf("latency-50th-percentile"), 50);
    assert.equal(percentileOf("latency-99th-percentile"), 99);
    assert.equal(percentileOf("latency-99.9th-percentile"), 99.9);
    assert.equal(percentileOf("95th-percentile-tail-latency"), 95);
    assert.equal(percentileOf("mean-latency"), undefined);
    assert.equal(percentileOf("latency-0th-percentile"), undefined);
    assert.equal(percentileOf("latency-101st-percentile"), undefined);
  });
  it("maps a version to its revision variable, else its name", () => {
    const e = experiment();
    assert.equal(versionLabel(baseline(e)), "sample-app-v1");
    assert.equal(versionLabel({ name: "v3" }), "v3");
  });
});

describe("BuiltinMetricsProvider", () => {
  function store(): MetricsStore {
    const s = new MetricsStore();
    // baseline: 100 requests, 1..100 ms, two of them 500s and one 404
    for (let i = 1; i <= 100; i++)
      s.record("sample-app-v1", i === 10 || i === 20 ? 500 : i === 30 ? 404 : 200, i);
    return s;
  }

  it("computes counts, error rate, mean and percentiles with the request count as sample size", async () => {
    const p = new BuiltinMetricsProvider(store());
    assert.deepEqual(await read(p, "request-count", "baseline"), { value: 100, sampleSize: 100 });
    assert.deepEqual(
      await read(p, "error-count", "baseline"),
      { value: 3, sampleSize: 100 },
      "4xx and 5xx count",
    );
    assert.deepEqual(await read(p, "error-rate", "baseline"), { value: 0.03, sampleSize: 100 });
    const mean = await read(p, "mean-latency", "baseline");
    assert.ok(Math.abs((mean.value as number) - 50.5) < 1e-9, JSON.stringify(mean));
    for (const [name, exact] of [
      ["latency-50th-percentile", 50],
      ["latency-90th-percentile", 90],
      ["95th-percentile-tail-latency", 95],
      ["latency-99th-percentile", 99],
    ] as const) {
      const r = await read(p, name, "baseline");
      // HDR histogram with 3 significant digits: within 0.1 % of the exact order statistic.
      assert.ok(Math.abs((r.value as number) - exact) / exact < 0.001, `${name}: ${JSON.stringify(r)}`);
      assert.equal(r.sampleSize, 100);
    }
  });

  it("gives 0 counts but no ratios or latencies for a version without traffic", async () => {
    const p = new BuiltinMetricsProvider(store());
    assert.deepEqual(await read(p, "request-count", "candidate"), { value: 0, sampleSize: 0 });
    assert.deepEqual(await read(p, "error-count", "candidate"), { value: 0, sampleSize: 0 });
    for (const name of ["error-rate", "mean-latency", "latency-95th-percentile"]) {
      const r = await read(p, name, "candidate");
      assert.equal(r.value, undefined);
      assert.match(
        r.error ?? "",
        new RegExp(
          `^metric iter8-system/${name} for version candidate: no requests to sample-app-v2 since the experiment started$`,
        ),
      );
    }
  });

  it("counts only what happened since markStart", async () => {
    const s = store();
    const p = new BuiltinMetricsProvider(s);
    const e = experiment();
    await p.markStart(e);
    assert.deepEqual(await read(p, "request-count", "baseline", e), { value: 0, sampleSize: 0 });
    for (let i = 0; i < 10; i++) s.record("sample-app-v1", i < 5 ? 503 : 200, 200 + i);
    for (let i = 0; i < 4; i++) s.record("sample-app-v2", 200, 7);
    assert.deepEqual(await read(p, "request-count", "baseline", e), { value: 10, sampleSize: 10 });
    assert.deepEqual(await read(p, "error-rate", "baseline", e), { value: 0.5, sampleSize: 10 });
    const mean = await read(p, "mean-latency", "baseline", e);
    assert.ok(Math.abs((mean.value as number) - 204.5) < 1e-9, JSON.stringify(mean));
    const p50 = await read(p, "latency-50th-percentile", "baseline", e);
    assert.ok(Math.abs((p50.value as number) - 204) < 0.5, JSON.stringify(p50));
    // the candidate had no traffic at the start: everything it has counts
    assert.deepEqual(await read(p, "request-count", "candidate", e), { value: 4, sampleSize: 4 });
    // another experiment without a baseline sees everything since the router started
    const other = experiment();
    other.metadata.name = "other";
    assert.deepEqual(await read(p, "request-count", "baseline", other), { value: 110, sampleSize: 110 });
    p.forget(e);
    assert.deepEqual(await read(p, "request-count", "baseline", e), { value: 110, sampleSize: 110 });
  });

  it("serves every listed name", async () => {
    const p = new BuiltinMetricsProvider(store());
    for (const name of BUILTIN_METRICS) {
      const r = await read(p, name, "baseline");
      assert.equal(typeof r.value, "number", `${name}: ${JSON.stringify(r)}`);
    }
  });

  it("rejects a name it does not compute", async () => {
    const r = await read(new BuiltinMetricsProvider(store()), "user-engagement", "baseline");
    assert.match(r.error ?? "", /user-engagement is not a built-in metric \(known: request-count, /);
  });

  it("reports a failing source instead of throwing", async () => {
    const failing: VersionStatsSource = {
      snapshot: () => undefined,
      sync: () => Promise.reject(new Error("worker 2 did not answer")),
    };
    const r = await read(new BuiltinMetricsProvider(failing), "request-count", "baseline");
    assert.match(r.error ?? "", /router statistics unavailable: worker 2 did not answer/);
  });
});
