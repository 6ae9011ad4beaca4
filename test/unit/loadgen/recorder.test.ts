import assert from "node:assert/strict";
import { test } from "node:test";
import { mergeFortioResults, toFortioResult } from "../../../src/loadgen/fortio.ts";
import { normalizeLoadOptions } from "../../../src/loadgen/options.ts";
import { Recorder } from "../../../src/loadgen/recorder.ts";

const OPTS = normalizeLoadOptions({ url: "http://127.0.0.1:1/", qps: 100, requests: 5 });

// Times are injected: intended every 10 ms, sent 0.5 ms late, answered 2 ms after sending.
function fixedRateRecorder(): Recorder {
  const r = new Recorder(true);
  for (let i = 0; i < 5; i++) {
    const intended = i * 10;
    r.onSend(intended, intended + 0.5, 100);
    if (i === 3) r.onError("ECONNRESET", intended, intended + 0.5, intended + 1.5);
    else r.onResponse(i === 4 ? 503 : 200, intended, intended + 0.5, intended + 2.5);
  }
  r.bytesReceived = 1234;
  return r;
}

test("counts status codes, errors and latency from the intended send time", () => {
  const res = fixedRateRecorder().result(OPTS, new Date(0), 50, "requests", 0, 0);
  assert.equal(res.sent, 5);
  assert.equal(res.completed, 5);
  assert.deepEqual(res.statusCodes, { "200": 4 - 1, "503": 1 });
  assert.equal(res.non2xx, 1);
  assert.deepEqual(res.errors, { ECONNRESET: 1 });
  assert.equal(res.errorCount, 1);
  assert.equal(res.latencyMs.count, 5);
  assert.equal(res.latencyMs.mean, (2.5 * 4 + 1.5) / 5);
  assert.ok(Math.abs(res.latencyMs.max - 2.5) < 0.01);
  assert.ok(Math.abs(res.serviceTimeMs!.max - 2) < 0.01);
  assert.equal(res.actualQps, 100);
  assert.equal(res.bytesSent, 500);
  assert.equal(res.bytesReceived, 1234);
});

test("pacing: send rate, error and lateness from send times", () => {
  const res = fixedRateRecorder().result(OPTS, new Date(0), 50, "requests", 0, 0);
  const p = res.pacing!;
  assert.equal(p.targetQps, 100);
  assert.equal(p.sendRate, 100); // 4 intervals over 40 ms
  assert.equal(p.errorPct, 0);
  assert.ok(Math.abs(p.latenessMs.p50 - 0.5) < 0.001);
  assert.equal(p.interSendJitterMs, 0);
});

test("a max-rate recorder has no pacing or service time", () => {
  const r = new Recorder(false);
  r.onSend(0, 0, 10);
  r.onResponse(200, 0, 0, 1);
  const res = r.result(
    normalizeLoadOptions({ url: "http://h/", qps: 0, requests: 1 }),
    new Date(0),
    1,
    "requests",
    0,
    0,
  );
  assert.equal(res.pacing, null);
  assert.equal(res.serviceTimeMs, null);
});

test("an empty run reports zeros, not NaN", () => {
  const res = new Recorder(true).result(OPTS, new Date(0), 0, "aborted", 0, 0);
  assert.equal(res.latencyMs.count, 0);
  assert.equal(res.latencyMs.p99, 0);
  assert.equal(res.actualQps, 0);
  assert.doesNotThrow(() => JSON.parse(JSON.stringify(res)));
});

test("Fortio shape: seconds, bucket counts sum to Count, -1 for errors", () => {
  const res = fixedRateRecorder().result(OPTS, new Date(0), 50, "requests", 0, 0);
  const f = toFortioResult(res);
  assert.equal(f.DurationHistogram.Count, 5);
  assert.equal(
    f.DurationHistogram.Data.reduce((n, b) => n + b.Count, 0),
    5,
  );
  assert.ok(Math.abs(f.DurationHistogram.Sum - (2.5 * 4 + 1.5) / 1000) < 1e-9);
  assert.deepEqual(f.RetCodes, { "200": 3, "503": 1, "-1": 1 });
  for (const b of f.DurationHistogram.Data) {
    assert.ok(b.Start < b.End);
    assert.ok(b.Start >= 0.0014 && b.End <= 0.0026, `bucket ${b.Start}..${b.End}`);
  }
  assert.equal(f.DurationHistogram.Data.at(-1)!.Percent, 100);
});

test("merging Fortio results adds counts, sums and codes and keeps every bucket", () => {
  const a = toFortioResult(fixedRateRecorder().result(OPTS, new Date(0), 50, "requests", 0, 0));
  const r = new Recorder(true);
  r.onSend(0, 0, 1);
  r.onResponse(200, 0, 0, 100);
  const b = toFortioResult(r.result(OPTS, new Date(0), 100, "requests", 0, 0));
  const m = mergeFortioResults(a, b);
  assert.equal(m.DurationHistogram.Count, 6);
  assert.ok(Math.abs(m.DurationHistogram.Sum - (a.DurationHistogram.Sum + 0.1)) < 1e-12);
  assert.ok(Math.abs(m.DurationHistogram.Max - 0.1) < 0.0002);
  assert.equal(m.DurationHistogram.Min, a.DurationHistogram.Min);
  assert.equal(m.DurationHistogram.Data.length, a.DurationHistogram.Data.length + 1);
  assert.equal(m.DurationHistogram.Data.at(-1)!.Percent, 100);
  assert.deepEqual(m.RetCodes, { "200": 4, "503": 1, "-1": 1 });
  assert.deepEqual(a.RetCodes, { "200": 3, "503": 1, "-1": 1 }); // inputs untouched
  const empty = toFortioResult(new Recorder(true).result(OPTS, new Date(0), 0, "aborted", 0, 0));
  assert.deepEqual(mergeFortioResults(empty, b).DurationHistogram.Min, b.DurationHistogram.Min);
});
