// A client pipelining 20,000 GETs and never reading must not grow the router's memory: it stops reading
// that client while its answers are not drained (the router runs in its own process, RSS from /proc).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FLOOD_DEFAULTS, measureFlood } from "../../../bench/lib/flood.ts";

describe("router under a pipelining flood from a client that never reads", { timeout: 120_000 }, () => {
  for (const engine of ["fast", "node"] as const) {
    it(`${engine} engine: RSS grows by less than 50 MB, and the router stops reading that client`, async () => {
      const r = await measureFlood({ ...FLOOD_DEFAULTS, engine });
      assert.ok(r.rssGrowthMb < 50, `RSS grew ${r.rssGrowthMb} MB (${r.rssBeforeMb} -> ${r.rssPeakMb})`);
      // 20,000 answers of 16 KiB would be 320 MB: only what the socket buffers hold may be served.
      assert.ok(r.upstreamRequests < 2_000, `${r.upstreamRequests} requests reached the upstream`);
      assert.ok(r.servesAfterwards, "the router answers other clients afterwards");
    });
  }
});
