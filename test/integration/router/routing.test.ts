// Routing semantics end to end: real upstream servers, the router on loopback, real HTTP requests.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { compileRoutes, type Router, startRouter } from "../../../src/router/index.ts";
import {
  docs,
  SEED000_ROUTING,
  SEED000_SERVICES,
  SEED004_ROUTING,
  SEED004_SERVICES,
} from "../../unit/router/fixtures.ts";
import { load, request, startUpstream, type Upstream, until, withinSigma } from "./helpers.ts";

function seed000(weights: [number, number]): unknown[] {
  // biome-ignore lint/suspicious/noExplicitAny: deep edits of untyped seed manifests
  const objects = docs(SEED000_SERVICES, SEED000_ROUTING) as Array<Record<string, any>>;
  const vs = objects.find((o) => o["kind"] === "VirtualService")!;
  vs["spec"].http[0].route[0].weight = weights[0];
  vs["spec"].http[0].route[1].weight = weights[1];
  return objects;
}

for (const engine of ["fast", "node"] as const) {
  describe(`router (${engine} engine): seed 000 traffic segmentation`, () => {
    let v1: Upstream;
    let v2: Upstream;
    let router: Router;
    let upstreams: Record<string, string>;
    before(async () => {
      v1 = await startUpstream("blue");
      v2 = await startUpstream("green");
      upstreams = { "sample-app-v1-blue": v1.address, "sample-app-v2-green": v2.address };
      router = await startRouter({
        engine,
        listen: { host: "127.0.0.1", port: 0 },
        table: compileRoutes(seed000([70, 30]), upstreams),
      });
    });
    after(async () => {
      await router.close();
      await v1.close();
      await v2.close();
    });

    it("splits wakanda 70/30 within 5 sigma, sends gondor only to v1, and counts per version exactly", async () => {
      const n = 1500;
      const before1 = v1.seen.length;
      const before2 = v2.seen.length;
      const wakanda = await load(router.url, n, 16, { host: "example.com", country: "wakanda" });
      assert.ok(wakanda.every((r) => r.status === 200));
      const toV1 = wakanda.filter((r) => r.body === "blue").length;
      const toV2 = wakanda.filter((r) => r.body === "green").length;
      assert.equal(toV1 + toV2, n);
      assert.ok(withinSigma(toV2, n, 0.3), `v2 got ${toV2} of ${n}, expected 30 % within 5 sigma`);
      assert.equal(v1.seen.length - before1, toV1);
      assert.equal(v2.seen.length - before2, toV2);

      const gondor = await load(router.url, 300, 8, { host: "example.com", country: "gondor" });
      assert.ok(
        gondor.every((r) => r.status === 200 && r.body === "blue"),
        "gondor must only reach v1",
      );
      assert.equal(v2.seen.length - before2, toV2, "v2 saw no gondor request");

      // Per-version counts of the router equal what the load generator saw.
      assert.equal(router.metrics.snapshot("sample-app-v1-blue")!.count, toV1 + 300);
      assert.equal(router.metrics.snapshot("sample-app-v2-green")!.count, toV2);
      assert.equal(router.metrics.snapshot("sample-app-v1-blue")!.errors, 0);
    });

    it("sends the route's Knative headers and Host, and X-Forwarded-*", async () => {
      const r = await request(router.url, { headers: { host: "example.com", country: "gondor" } });
      assert.equal(r.body, "blue");
      const seen = v1.seen.at(-1)!;
      assert.equal(seen.headers["host"], "sample-app-v1.default");
      assert.equal(seen.headers["knative-serving-revision"], "sample-app-v1-blue");
      assert.equal(seen.headers["knative-serving-namespace"], "default");
      assert.equal(seen.headers["x-forwarded-host"], "example.com");
      assert.equal(seen.headers["x-forwarded-proto"], "http");
      assert.equal(seen.headers["x-forwarded-for"], "127.0.0.1");
      assert.equal(seen.headers["country"], "gondor");
    });

    it("loses no request while the weights change under load, and follows each new table", async () => {
      const tables = [seed000([100, 0]), seed000([0, 100]), seed000([50, 50]), seed000([100, 0])].map((o) =>
        compileRoutes(o, upstreams),
      );
      const total = 3000;
      let changes = 0;
      let stop = false;
      const changer = (async () => {
        // Swap as fast as the event loop allows while the load runs.
        while (!stop && changes < 400) {
          await router.setRoutes(tables[changes % tables.length]!);
          changes++;
          await new Promise((r) => setImmediate(r));
        }
      })();
      const results = await load(router.url, total, 32, { host: "example.com", country: "wakanda" });
      stop = true;
      await changer;
      assert.ok(changes > 10, `only ${changes} table changes happened during the load`);
      assert.equal(results.length, total);
      const bad = results.filter((r) => r.status !== 200 || (r.body !== "blue" && r.body !== "green"));
      assert.equal(bad.length, 0, `failed requests during route changes: ${JSON.stringify(bad.slice(0, 3))}`);

      // After setRoutes resolves, every new request follows the new table.
      await router.setRoutes(tables[1]!);
      const all2 = await load(router.url, 200, 8, { host: "example.com", country: "wakanda" });
      assert.ok(all2.every((r) => r.body === "green"));
      await router.setRoutes(tables[0]!);
      const all1 = await load(router.url, 200, 8, { host: "example.com", country: "wakanda" });
      assert.ok(all1.every((r) => r.body === "blue"));
    });
  });

  describe(`router (${engine} engine): seed 004 mirroring`, () => {
    let v1: Upstream;
    let v2: Upstream;
    let router: Router;
    // v2 holds its responses until released, to show the client never waits for the mirror.
    let holding = true;
    const held: Array<() => void> = [];
    before(async () => {
      v1 = await startUpstream("blue", (_req, res, body) => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end(`blue${body ? `:${body}` : ""}`);
      });
      v2 = await startUpstream("green", (_req, res) => {
        const answer = () => {
          res.writeHead(200, { "content-type": "text/plain" });
          res.end("green");
        };
        if (holding) held.push(answer);
        else answer();
      });
      router = await startRouter({
        engine,
        listen: { host: "127.0.0.1", port: 0 },
        table: compileRoutes(docs(SEED004_SERVICES, SEED004_ROUTING), {
          "sample-app-v1": v1.address,
          "sample-app-v2": v2.address,
        }),
      });
    });
    after(async () => {
      await router.close();
      await v1.close();
      await v2.close();
    });

    it("mirrors 40 % within 5 sigma; mirrored responses never reach or delay the client", async () => {
      const n = 1000;
      const results = await load(router.url, n, 16, { host: "customdomain.com" });
      // Every client response came from v1 although v2 has not answered a single mirrored request yet.
      assert.ok(results.every((r) => r.status === 200 && r.body === "blue"));
      assert.equal(v1.seen.length, n);
      // Mirror copies may still be on their way: wait until v2's count stops moving.
      let last = -1;
      await until(() => {
        const same = v2.seen.length === last;
        last = v2.seen.length;
        return same;
      }, "mirrored requests to settle");
      const mirrored = v2.seen.length;
      assert.ok(withinSigma(mirrored, n, 0.4), `v2 got ${mirrored} mirrored requests of ${n}`);
      assert.equal(v2.answered, 0, "v2 answered nothing while the client got all its responses");
      for (const s of v2.seen) {
        assert.equal(s.headers["host"], "customdomain.com-shadow");
        assert.equal(s.headers["knative-serving-revision"], "sample-app-v2");
      }
      assert.equal(v1.seen[0]!.headers["host"], "customdomain.com");
      assert.equal(v1.seen[0]!.headers["knative-serving-revision"], "sample-app-v1");

      // Release the mirror responses: the dark version's metrics count exactly what it received.
      holding = false;
      for (const answer of held.splice(0)) answer();
      await until(() => router.metrics.snapshot("sample-app-v2")?.count === mirrored, "mirror metrics");
      assert.equal(router.metrics.snapshot("sample-app-v1")!.count, n);
      assert.equal(router.metrics.snapshot("sample-app-v2")!.errors, 0);
    });

    it("mirrors request bodies", async () => {
      const before2 = v2.seen.length;
      // 40 POSTs: the chance that none is mirrored at 40 % is 0.6^40, about 1e-9.
      for (let i = 0; i < 40; i++) {
        const r = await request(router.url, {
          method: "POST",
          headers: { host: "customdomain.com" },
          body: `payload-${i}`,
        });
        assert.equal(r.body, `blue:payload-${i}`);
      }
      await until(() => v2.seen.length > before2, "a mirrored POST");
      const m = v2.seen[before2]!;
      assert.equal(m.method, "POST");
      assert.match(m.body, /^payload-\d+$/);
    });
  });
}

describe("router with 2 cluster workers", () => {
  let v1: Upstream;
  let v2: Upstream;
  let router: Router;
  let upstreams: Record<string, string>;
  before(async () => {
    v1 = await startUpstream("blue");
    v2 = await startUpstream("green");
    upstreams = { "sample-app-v1-blue": v1.address, "sample-app-v2-green": v2.address };
    router = await startRouter({
      listen: { host: "127.0.0.1", port: 0 },
      admin: { host: "127.0.0.1", port: 0 },
      workers: 2,
      table: compileRoutes(seed000([100, 0]), upstreams),
    });
  });
  after(async () => {
    await router.close();
    await v1.close();
    await v2.close();
  });

  it("swaps the table in every worker before setRoutes resolves, and sums their metrics", async () => {
    const wakanda = { host: "example.com", country: "wakanda" };
    const first = await load(router.url, 300, 16, wakanda);
    assert.ok(first.every((r) => r.status === 200 && r.body === "blue"));
    await router.setRoutes(compileRoutes(seed000([0, 100]), upstreams));
    const second = await load(router.url, 300, 16, wakanda);
    assert.ok(second.every((r) => r.status === 200 && r.body === "green"));
    await router.metrics.sync();
    assert.equal(router.metrics.snapshot("sample-app-v1-blue")!.count, 300);
    assert.equal(router.metrics.snapshot("sample-app-v2-green")!.count, 300);
    const prom = await request(`${router.adminUrl}/metrics`);
    assert.match(
      prom.body,
      /revision_app_request_latencies_count\{revision_name="sample-app-v2-green",response_code_class="2xx"\} 300/,
    );
  });
});
