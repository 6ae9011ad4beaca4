// A server that stalls all responses for 200 ms once. At a fixed rate the requests due during the
// stall queue up; latency measured from their intended send time must show the stall for all of
// them (p99 high), while the service time (from the actual send) hides it, as a closed-loop
// client would.

import assert from "node:assert/strict";
import type http from "node:http";
import { test } from "node:test";
import { runLoad } from "../../../src/loadgen/index.ts";
import { startServer } from "./servers.ts";

test("latency at a fixed rate includes queueing behind a 200 ms stall", async () => {
  let seen = 0;
  let stallUntil = 0;
  const held: Array<http.ServerResponse> = [];
  const server = await startServer((_req, res) => {
    seen++;
    if (seen === 50) {
      stallUntil = Date.now() + 200;
      setTimeout(() => {
        for (const r of held.splice(0)) r.end("late");
      }, 200);
    }
    if (Date.now() < stallUntil) held.push(res);
    else res.end("ok");
  });
  try {
    const started = performance.now();
    const r = await runLoad({ url: server.url, qps: 100, duration: 2000, connections: 1 });
    const wallMs = performance.now() - started;
    assert.equal(r.completed, 200);
    assert.equal(r.dropped, 0);
    // ~20 requests were due during the stall: their latencies run from ~200 ms down to ~10 ms.
    const over100 = r.histogram.buckets.filter(([start]) => start >= 100).reduce((n, b) => n + b[2], 0);
    assert.ok(over100 >= 8, `${over100} requests over 100 ms`);
    // The upper bound holds only if the machine itself did not stall the sender (a 2 s run that took
    // far longer queued more requests behind that stall, and the load generator rightly counts them).
    if (wallMs < 3000)
      assert.ok(over100 <= 30, `${over100} requests over 100 ms in ${Math.round(wallMs)} ms`);
    assert.ok(r.latencyMs.p99 >= 150, `latency p99 ${r.latencyMs.p99}`);
    assert.ok(r.latencyMs.max >= 190, `latency max ${r.latencyMs.max}`);
    // Only the one request in flight at the stall waited on the server itself.
    assert.ok(r.serviceTimeMs!.max >= 190);
    if (wallMs < 3000) assert.ok(r.serviceTimeMs!.p99 < 100, `service time p99 ${r.serviceTimeMs!.p99}`);
  } finally {
    await server.close();
  }
});
