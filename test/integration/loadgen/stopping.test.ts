// Stop rules: request count, duration, stop(), AbortSignal.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { LoadOptionsError, runLoad, startLoad } from "../../../src/loadgen/index.ts";
import { startServer, type TestServer } from "./servers.ts";

let server: TestServer;
before(async () => {
  server = await startServer((req, res) => {
    // /slow answers after 100 ms, so runs can be cut with requests in flight.
    if (req.url === "/slow") setTimeout(() => res.end("slow"), 100);
    else res.end("ok");
  });
});
after(() => server.close());

test("a request count is exact at max rate and at a fixed rate", async () => {
  for (const qps of [0, 500]) {
    const before = server.requests();
    const r = await runLoad({ url: server.url, qps, requests: 123, connections: 5 });
    assert.equal(r.stopReason, "requests");
    assert.equal(r.sent, 123);
    assert.equal(r.completed, 123);
    assert.equal(server.requests() - before, 123);
  }
});

test("fewer requests than connections", async () => {
  const r = await runLoad({ url: server.url, qps: 0, requests: 2, connections: 8 });
  assert.equal(r.completed, 2);
});

test("max rate stops issuing at the duration and waits for requests in flight", async () => {
  const r = await runLoad({ url: `${server.url}slow`, qps: 0, duration: 350, connections: 2 });
  assert.equal(r.stopReason, "duration");
  assert.equal(r.cancelled, 0);
  assert.equal(r.completed, r.sent);
  // 2 connections × 100 ms per request: sends at 0, 100, 200, 300 ms each.
  assert.ok(r.sent >= 6 && r.sent <= 8, `sent ${r.sent}`);
  assert.ok(r.elapsedMs >= 350 && r.elapsedMs < 600, `elapsed ${r.elapsedMs}`);
});

test("an AbortSignal ends the run promptly with partial results", async () => {
  const ac = new AbortController();
  const started = Date.now();
  setTimeout(() => ac.abort(), 250);
  const r = await runLoad({ url: `${server.url}slow`, qps: 40, duration: "30s", connections: 4 }, ac.signal);
  assert.equal(r.stopReason, "aborted");
  assert.ok(Date.now() - started < 1000);
  assert.ok(r.completed >= 1 && r.completed <= 6, `completed ${r.completed}`);
  assert.ok(r.cancelled >= 1, `cancelled ${r.cancelled}`);
  assert.equal(r.completed + r.cancelled, r.sent);
});

test("an already-aborted signal returns an empty result", async () => {
  const r = await runLoad({ url: server.url, requests: 10 }, AbortSignal.abort());
  assert.equal(r.stopReason, "aborted");
  assert.equal(r.sent, 0);
});

test("startLoad without bounds runs until stopped, with progress", async () => {
  const progress: number[] = [];
  const handle = startLoad(
    { url: server.url, qps: 100, connections: 2, progressIntervalMs: 50 },
    undefined,
    (p) => progress.push(p.completed),
  );
  // Wait for real traffic, then stop.
  while (handle.progress().completed < 20) await new Promise((r) => setTimeout(r, 20));
  const r = await handle.stop();
  assert.equal(r.stopReason, "stopped");
  assert.ok(r.completed >= 20);
  assert.ok(progress.length >= 1);
  assert.deepEqual(await handle.done, r);
  assert.deepEqual(await handle.stop(), r); // idempotent
});

test("runLoad refuses to run forever, and invalid options fail before any request", async () => {
  await assert.rejects(runLoad({ url: server.url }), /needs duration, requests or an AbortSignal/);
  const before = server.requests();
  await assert.rejects(runLoad({ url: server.url, requests: 5, connections: -1 }), LoadOptionsError);
  assert.throws(() => startLoad({ url: server.url, qps: -5 }), /qps:/);
  assert.equal(server.requests(), before);
});

test("requests due within the duration but queued behind a slow server are sent late, not lost", async () => {
  // 1 connection, 100 ms per response, 40 qps for 500 ms: 20 due, ~5 fit in the duration.
  const r = await runLoad({ url: `${server.url}slow`, qps: 40, duration: 500, connections: 1 });
  assert.equal(r.sent, 20);
  assert.equal(r.completed, 20);
  assert.equal(r.dropped, 0);
  // The last one was due at 475 ms and went out after ~1.9 s of queueing.
  assert.ok(r.latencyMs.max > 1400, `max latency ${r.latencyMs.max}`);
});

test("queued requests still unsent a timeout after the duration are dropped", async () => {
  const r = await runLoad({ url: `${server.url}slow`, qps: 40, duration: 500, connections: 1, timeout: 300 });
  assert.ok(r.dropped > 0 && r.dropped < 20, `dropped ${r.dropped}`);
  assert.equal(r.sent + r.dropped, 20);
  assert.ok(r.elapsedMs < 1200, `elapsed ${r.elapsedMs}`);
});
