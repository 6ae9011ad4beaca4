import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LATENCY_BUCKETS_MS, MetricsStore } from "../../../src/router/metrics.ts";

function parseProm(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const sp = line.lastIndexOf(" ");
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

describe("MetricsStore", () => {
  it("counts requests, 5xx errors and latency per version", () => {
    const m = new MetricsStore();
    for (let i = 1; i <= 100; i++) m.record("v1", i <= 3 ? 503 : 200, i / 10);
    m.record("v2", 0, 5); // no response at all: an error
    const s = m.snapshot("v1")!;
    assert.equal(s.count, 100);
    assert.equal(s.errors, 3);
    assert.equal(s.errorRate, 0.03);
    assert.ok(Math.abs(s.meanMs - 5.05) < 1e-9);
    assert.ok(Math.abs(s.percentilesMs.p95 - 9.5) < 0.01, `p95 ${s.percentilesMs.p95}`);
    assert.equal(s.byClass["2xx"], 97);
    assert.equal(m.snapshot("v2")!.errors, 1);
    assert.equal(m.snapshot("nope"), undefined);
  });

  it("exports Knative's histogram with cumulative buckets, sum and count per code class", () => {
    const m = new MetricsStore();
    m.register("idle");
    m.record("sample-app-v1", 200, 0.7);
    m.record("sample-app-v1", 200, 3);
    m.record("sample-app-v1", 404, 1);
    const p = parseProm(m.toPrometheus());
    const l = (cls: string) => `revision_name="sample-app-v1",response_code_class="${cls}"`;
    assert.equal(p.get(`revision_app_request_latencies_count{${l("2xx")}}`), 2);
    assert.equal(p.get(`revision_app_request_latencies_sum{${l("2xx")}}`), 3.7);
    assert.equal(p.get(`revision_app_request_latencies_bucket{${l("2xx")},le="0.6"}`), 0);
    assert.equal(p.get(`revision_app_request_latencies_bucket{${l("2xx")},le="0.8"}`), 1);
    assert.equal(p.get(`revision_app_request_latencies_bucket{${l("2xx")},le="3"}`), 2, "le is inclusive");
    assert.equal(p.get(`revision_app_request_latencies_bucket{${l("2xx")},le="+Inf"}`), 2);
    assert.equal(p.get(`revision_app_request_latencies_count{${l("4xx")}}`), 1);
    assert.equal(p.get(`revision_app_request_count{${l("4xx")}}`), 1);
    // A registered version is exported with zeros so Prometheus sees its counters start at 0.
    assert.equal(
      p.get(`revision_app_request_latencies_count{revision_name="idle",response_code_class="2xx"}`),
      0,
    );
    // Buckets are strictly increasing.
    for (let i = 1; i < LATENCY_BUCKETS_MS.length; i++)
      assert.ok(LATENCY_BUCKETS_MS[i]! > LATENCY_BUCKETS_MS[i - 1]!);
  });

  it("escapes label values", () => {
    const m = new MetricsStore();
    m.record('we"ird\\', 200, 1);
    assert.match(m.toPrometheus(), /revision_name="we\\"ird\\\\"/);
  });

  it("sums the states of several stores (router workers)", () => {
    const a = new MetricsStore();
    const b = new MetricsStore();
    for (let i = 0; i < 10; i++) a.record("v", 200, 1);
    for (let i = 0; i < 5; i++) b.record("v", 500, 100);
    b.record("w", 200, 2);
    const sum = new MetricsStore();
    sum.replaceWithSum([a.state(), b.state()]);
    const s = sum.snapshot("v")!;
    assert.equal(s.count, 15);
    assert.equal(s.errors, 5);
    assert.ok(Math.abs(s.meanMs - (10 + 500) / 15) < 1e-9);
    assert.ok(s.percentilesMs.p99 >= 99 && s.percentilesMs.p99 <= 101);
    assert.equal(sum.snapshot("w")!.count, 1);
    // Summing again replaces rather than accumulates.
    sum.replaceWithSum([a.state()]);
    assert.equal(sum.snapshot("v")!.count, 10);
  });
});
