// The router's per-version counts against iter8's own load generator (src/loadgen) at a fixed rate.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runLoad } from "../../../src/loadgen/index.ts";
import { compileRoutes, type Router, startRouter } from "../../../src/router/index.ts";
import { docs, SEED000_ROUTING, SEED000_SERVICES } from "../../unit/router/fixtures.ts";
import { startUpstream, type Upstream, withinSigma } from "./helpers.ts";

describe("router per-version counts vs the load generator", () => {
  let v1: Upstream;
  let v2: Upstream;
  let router: Router;
  before(async () => {
    v1 = await startUpstream("blue");
    v2 = await startUpstream("green");
    const objects = docs(
      SEED000_SERVICES,
      SEED000_ROUTING.replace("weight: 100", "weight: 60").replace("weight: 0", "weight: 40"),
    );
    router = await startRouter({
      listen: { host: "127.0.0.1", port: 0 },
      table: compileRoutes(objects, { "sample-app-v1-blue": v1.address, "sample-app-v2-green": v2.address }),
    });
  });
  after(async () => {
    await router.close();
    await v1.close();
    await v2.close();
  });

  it("counts exactly what the load generator completed, split 60/40 within 5 sigma", async () => {
    const wakanda = await runLoad({
      url: router.url,
      headers: { host: "example.com", country: "wakanda" },
      qps: 800,
      requests: 800,
      connections: 8,
    });
    const gondor = await runLoad({
      url: router.url,
      headers: { host: "example.com", country: "gondor" },
      qps: 0,
      requests: 300,
      connections: 4,
    });
    assert.equal(wakanda.completed, 800);
    assert.equal(wakanda.statusCodes["200"], 800);
    assert.equal(gondor.statusCodes["200"], 300);
    const c1 = router.metrics.snapshot("sample-app-v1-blue")!.count;
    const c2 = router.metrics.snapshot("sample-app-v2-green")!.count;
    assert.equal(c1 + c2, wakanda.completed + gondor.completed);
    assert.equal(c1, v1.seen.length);
    assert.equal(c2, v2.seen.length);
    assert.ok(withinSigma(c2, 800, 0.4), `v2 got ${c2} of the 800 wakanda requests`);
  });
});
