// Pacing against a real loopback server: the number of requests is exact for the duration and the
// achieved send rate is within 3 % of the target (tolerant of a loaded machine) (the benchmark measures the finer figure).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { runLoad } from "../../../src/loadgen/index.ts";
import { startServer, type TestServer } from "./servers.ts";

let server: TestServer;
before(async () => {
  server = await startServer((_req, res) => res.end("ok"));
});
after(() => server.close());

for (const [qps, durationMs] of [
  [20, 1500],
  [200, 1000],
  [1000, 1000],
] as const) {
  test(`fixed rate ${qps} qps for ${durationMs} ms`, async () => {
    const before = server.requests();
    const r = await runLoad({ url: server.url, qps, duration: durationMs, connections: 4 });
    const expected = Math.round((qps * durationMs) / 1000);
    assert.equal(r.stopReason, "duration");
    assert.equal(r.sent, expected);
    assert.equal(r.completed, expected);
    assert.equal(server.requests() - before, expected);
    assert.deepEqual(r.statusCodes, { "200": expected });
    assert.ok(r.pacing !== null);
    assert.ok(r.pacing.errorPct < 3, `send rate ${r.pacing.sendRate} for ${qps}`);
    // The run lasts its duration, not until the last send.
    assert.ok(r.elapsedMs >= durationMs && r.elapsedMs < durationMs + 500, `elapsed ${r.elapsedMs}`);
    assert.ok(Math.abs(r.actualQps / qps - 1) < 0.05, `actual ${r.actualQps}`);
  });
}

test("max rate keeps every connection busy and beats a fixed low rate by far", async () => {
  const r = await runLoad({ url: server.url, qps: 0, duration: 500, connections: 8 });
  assert.equal(r.pacing, null);
  assert.equal(r.errorCount, 0);
  assert.ok(r.completed > 500, `only ${r.completed} requests in 500 ms at max rate`);
});
