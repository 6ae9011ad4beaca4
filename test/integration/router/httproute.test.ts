// Gateway API HTTPRoute routing end to end: real upstream servers, the router on loopback, real HTTP
// requests: weighted backendRefs within statistical tolerance, exact header matches, the
// RequestMirror filter and the RequestHeaderModifier filter, for both data-plane engines.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { compileRoutes, type Router, startRouter } from "../../../src/router/index.ts";
import { load, request, startUpstream, type Upstream, until, withinSigma } from "./helpers.ts";

function httpRoute(weights: [number, number]): Record<string, unknown> {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "app", namespace: "default" },
    spec: {
      parentRefs: [{ name: "gateway" }],
      hostnames: ["app.example.com"],
      rules: [
        {
          backendRefs: [
            { name: "app-v1", port: 80, weight: weights[0] },
            { name: "app-v2", port: 80, weight: weights[1] },
          ],
        },
        {
          matches: [{ headers: [{ type: "Exact", name: "x-version", value: "candidate" }] }],
          filters: [
            {
              type: "RequestHeaderModifier",
              requestHeaderModifier: {
                set: [{ name: "x-routed-by", value: "header-rule" }],
                remove: ["x-secret"],
              },
            },
          ],
          backendRefs: [{ name: "app-v2", port: 80 }],
        },
        {
          matches: [{ path: { type: "PathPrefix", value: "/mirrored" } }],
          filters: [
            { type: "RequestMirror", requestMirror: { backendRef: { name: "app-shadow", port: 80 } } },
          ],
          backendRefs: [{ name: "app-v1", port: 80 }],
        },
      ],
    },
  };
}

for (const engine of ["fast", "node"] as const) {
  describe(`router (${engine} engine): Gateway API HTTPRoute`, () => {
    let v1: Upstream;
    let v2: Upstream;
    let shadow: Upstream;
    let router: Router;
    let upstreams: Record<string, string>;
    before(async () => {
      v1 = await startUpstream("v1");
      v2 = await startUpstream("v2");
      shadow = await startUpstream("shadow");
      upstreams = { "app-v1": v1.address, "app-v2": v2.address, "app-shadow": shadow.address };
      router = await startRouter({
        engine,
        listen: { host: "127.0.0.1", port: 0 },
        table: compileRoutes([httpRoute([80, 20])], upstreams),
      });
    });
    after(async () => {
      await router.close();
      await v1.close();
      await v2.close();
      await shadow.close();
    });

    it("splits by the backendRef weights within 5 sigma, and follows a weight change", async () => {
      const n = 1500;
      const first = await load(router.url, n, 16, { host: "app.example.com" });
      assert.ok(first.every((r) => r.status === 200));
      const toV2 = first.filter((r) => r.body === "v2").length;
      assert.equal(first.filter((r) => r.body === "v1").length + toV2, n);
      assert.ok(withinSigma(toV2, n, 0.2), `v2 got ${toV2} of ${n}, expected 20 % within 5 sigma`);

      await router.setRoutes(compileRoutes([httpRoute([30, 70])], upstreams));
      const second = await load(router.url, n, 16, { host: "app.example.com" });
      const toV2Now = second.filter((r) => r.body === "v2").length;
      assert.ok(withinSigma(toV2Now, n, 0.7), `v2 got ${toV2Now} of ${n}, expected 70 % within 5 sigma`);
    });

    it("an Exact header match sends only that value to its rule, with the header filter applied", async () => {
      const before2 = v2.seen.length;
      const hits = await load(router.url, 200, 8, {
        host: "app.example.com",
        "x-version": "candidate",
        "x-secret": "s",
      });
      assert.ok(
        hits.every((r) => r.status === 200 && r.body === "v2"),
        "every x-version: candidate request reaches v2",
      );
      const seen = v2.seen.slice(before2);
      assert.equal(seen.length, 200);
      assert.ok(
        seen.every((s) => s.headers["x-routed-by"] === "header-rule" && s.headers["x-secret"] === undefined),
      );
      // Another value of the header (case differs) is not an exact match: the weighted rule serves it.
      const others = await load(router.url, 300, 8, { host: "app.example.com", "x-version": "Candidate" });
      assert.ok(
        others.some((r) => r.body === "v1"),
        "a non-matching value goes through the weighted split",
      );
    });

    it("RequestMirror copies every request to the mirror backend with a -shadow authority", async () => {
      await router.setRoutes(compileRoutes([httpRoute([100, 0])], upstreams));
      const beforeShadow = shadow.seen.length;
      const r = await request(router.url + "/mirrored/x", { headers: { host: "app.example.com" } });
      assert.equal(r.status, 200);
      assert.equal(r.body, "v1", "the client gets the primary's answer");
      await until(() => shadow.seen.length > beforeShadow, "the mirrored copy");
      const copy = shadow.seen.at(-1)!;
      assert.equal(copy.url, "/mirrored/x");
      assert.equal(copy.headers["host"], "app.example.com-shadow");
      // A path outside the prefix is not mirrored ("/mirroredx" is not under "/mirrored").
      const count = shadow.seen.length;
      await request(router.url + "/mirroredx", { headers: { host: "app.example.com" } });
      await request(router.url + "/", { headers: { host: "app.example.com" } });
      assert.equal(shadow.seen.length, count);
    });
  });
}
