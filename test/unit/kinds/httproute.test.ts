// Gateway API HTTPRoute compiled into the router's table: matches, precedence, weights, filters.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gatewayDuration } from "../../../src/kinds/httproute.ts";
import { createResolver, isFailure, type RequestLike } from "../../../src/router/resolve.ts";
import { compileRoutes, type Plan, RouteTableError } from "../../../src/router/routes.ts";

const UP = { "app-v1": "127.0.0.1:9001", "app-v2": "127.0.0.1:9002", "app-shadow": "127.0.0.1:9003" };

function req(host: string, headers: Record<string, string> = {}, url = "/", method = "GET"): RequestLike {
  const raw = ["Host", host];
  for (const [k, v] of Object.entries(headers)) raw.push(k, v);
  return { method, url, rawHeaders: raw };
}

function route(rules: unknown[], extra: Record<string, unknown> = {}, name = "r"): Record<string, unknown> {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name, namespace: "default" },
    spec: { parentRefs: [{ name: "gw" }], hostnames: ["example.com"], rules, ...extra },
  };
}

const backend = (name: string, weight?: number) => ({
  name,
  port: 80,
  ...(weight === undefined ? {} : { weight }),
});

function resolve(objects: unknown[], r: RequestLike, random: () => number = () => 0.5, mirrors: Plan[] = []) {
  return createResolver(compileRoutes(objects, UP)).resolve(r, random, mirrors);
}

function versionOf(result: ReturnType<typeof resolve>): string {
  if (isFailure(result)) assert.fail(`expected a plan, got ${result.status} ${result.reason}`);
  return result.version;
}

function issuesOf(objects: unknown[]): Array<{ path: string; message: string; object?: string }> {
  try {
    compileRoutes(objects, UP);
  } catch (err) {
    assert.ok(err instanceof RouteTableError);
    return [...err.issues];
  }
  assert.fail("expected the table to be rejected");
}

describe("HTTPRoute: weighted backendRefs", () => {
  it("splits proportionally to the weights (they need not sum to 100)", () => {
    const objects = [route([{ backendRefs: [backend("app-v1", 3), backend("app-v2", 1)] }])];
    const table = compileRoutes(objects, UP);
    const r = createResolver(table);
    const at = (x: number) => versionOf(r.resolve(req("example.com"), () => x, []));
    assert.equal(at(0), "app-v1");
    assert.equal(at(0.74), "app-v1");
    assert.equal(at(0.76), "app-v2");
    assert.deepEqual(table.versions, ["app-v1", "app-v2"]);
  });
  it("an absent weight is 1; all weights 0 answer 500", () => {
    const equal = [route([{ backendRefs: [backend("app-v1"), backend("app-v2")] }])];
    assert.equal(versionOf(resolve(equal, req("example.com"), () => 0.49)), "app-v1");
    assert.equal(versionOf(resolve(equal, req("example.com"), () => 0.51)), "app-v2");
    const none = resolve(
      [route([{ backendRefs: [backend("app-v1", 0), backend("app-v2", 0)] }])],
      req("example.com"),
    );
    assert.ok(isFailure(none));
    assert.equal(none.status, 500);
    const noBackends = resolve([route([{}])], req("example.com"));
    assert.ok(isFailure(noBackends) && noBackends.status === 500);
  });
  it("a backend names an upstream by short name, name.namespace or the full Service host", () => {
    const ups = {
      "app-v1.default": "127.0.0.1:9001",
      "app-v2.default.svc.cluster.local:80": "127.0.0.1:9002",
    };
    const table = compileRoutes(
      [route([{ backendRefs: [backend("app-v1", 1), backend("app-v2", 1)] }])],
      ups,
    );
    assert.equal(table.upstreams.length, 2);
  });
  it("a backend naming a Knative Service splits by its traffic, labelled by revision", () => {
    const ksvc = {
      apiVersion: "serving.knative.dev/v1",
      kind: "Service",
      metadata: { name: "kapp", namespace: "default" },
      spec: { template: { metadata: { name: "kapp-blue" } } },
    };
    const objects = [ksvc, route([{ backendRefs: [backend("kapp", 1)] }])];
    const plan = createResolver(compileRoutes(objects, { "kapp-blue": "127.0.0.1:9005" })).resolve(
      req("example.com"),
      () => 0,
      [],
    );
    assert.equal(versionOf(plan), "kapp-blue");
  });
});

describe("HTTPRoute: matches", () => {
  const objects = [
    route([
      {
        matches: [{ headers: [{ name: "Country", value: "wakanda" }] }],
        backendRefs: [backend("app-v2")],
      },
      {
        matches: [{ headers: [{ type: "RegularExpression", name: "user", value: "tester-[0-9]+" }] }],
        backendRefs: [backend("app-shadow")],
      },
      { backendRefs: [backend("app-v1")] },
    ]),
  ];
  it("header Exact matches the value exactly, names case-insensitively", () => {
    assert.equal(versionOf(resolve(objects, req("example.com", { country: "wakanda" }))), "app-v2");
    assert.equal(versionOf(resolve(objects, req("example.com", { country: "Wakanda" }))), "app-v1");
    assert.equal(versionOf(resolve(objects, req("example.com", { country: "wakanda2" }))), "app-v1");
  });
  it("header RegularExpression must match the whole value", () => {
    assert.equal(versionOf(resolve(objects, req("example.com", { user: "tester-42" }))), "app-shadow");
    assert.equal(versionOf(resolve(objects, req("example.com", { user: "xtester-42" }))), "app-v1");
    assert.equal(versionOf(resolve(objects, req("example.com", { user: "tester-42x" }))), "app-v1");
  });
  it("hostnames select the route; other hosts get no route", () => {
    const r = resolve(objects, req("other.com"));
    assert.ok(isFailure(r) && r.status === 503);
  });
  it("PathPrefix matches whole path elements; Exact beats a longer prefix; query and method", () => {
    const paths = [
      route([
        { matches: [{ path: { type: "PathPrefix", value: "/api/" } }], backendRefs: [backend("app-v1")] },
        { matches: [{ path: { type: "Exact", value: "/api" } }], backendRefs: [backend("app-v2")] },
        {
          matches: [{ path: { value: "/api" }, queryParams: [{ name: "beta", value: "1" }], method: "POST" }],
          backendRefs: [backend("app-shadow")],
        },
      ]),
    ];
    const at = (url: string, method = "GET") => resolve(paths, req("example.com", {}, url, method));
    assert.equal(versionOf(at("/api")), "app-v2");
    assert.equal(versionOf(at("/api/x")), "app-v1");
    assert.equal(versionOf(at("/api/x?beta=1", "POST")), "app-shadow");
    assert.equal(versionOf(at("/api/x?beta=2", "POST")), "app-v1");
    assert.ok(isFailure(at("/apix")));
  });
  it("across routes, the more specific match wins, then the older route", () => {
    const older = route([{ backendRefs: [backend("app-v1")] }], {}, "b-older");
    (older["metadata"] as Record<string, unknown>)["creationTimestamp"] = "2024-01-01T00:00:00Z";
    const newer = route(
      [{ matches: [{ headers: [{ name: "x", value: "1" }] }], backendRefs: [backend("app-v2")] }],
      {},
      "a-newer",
    );
    (newer["metadata"] as Record<string, unknown>)["creationTimestamp"] = "2025-01-01T00:00:00Z";
    const same = route([{ backendRefs: [backend("app-shadow")] }], {}, "a-newer-plain");
    (same["metadata"] as Record<string, unknown>)["creationTimestamp"] = "2025-01-01T00:00:00Z";
    const objs = [same, newer, older];
    assert.equal(versionOf(resolve(objs, req("example.com", { x: "1" }))), "app-v2");
    assert.equal(versionOf(resolve(objs, req("example.com"))), "app-v1");
  });
});

describe("HTTPRoute: filters", () => {
  it("RequestHeaderModifier sets, adds and removes; URLRewrite hostname rewrites the authority", () => {
    const objects = [
      route([
        {
          filters: [
            {
              type: "RequestHeaderModifier",
              requestHeaderModifier: {
                set: [{ name: "X-Set", value: "s" }],
                add: [{ name: "X-Add", value: "a" }],
                remove: ["X-Drop"],
              },
            },
            { type: "URLRewrite", urlRewrite: { hostname: "app.internal" } },
          ],
          backendRefs: [backend("app-v1")],
        },
      ]),
    ];
    const p = resolve(objects, req("example.com"));
    if (isFailure(p)) assert.fail(p.reason);
    assert.deepEqual([...p.addHeaders], ["x-set", "s", "x-add", "a"]);
    assert.ok(p.touched.has("x-drop") && p.touched.has("x-set"));
    assert.equal(p.authority, "app.internal");
  });
  it("RequestMirror copies a percentage of requests to its backend with a -shadow authority", () => {
    const objects = (mirror: Record<string, unknown>) => [
      route([
        {
          filters: [
            { type: "RequestMirror", requestMirror: { backendRef: backend("app-shadow"), ...mirror } },
          ],
          backendRefs: [backend("app-v1")],
        },
      ]),
    ];
    const mirrors: Plan[] = [];
    assert.equal(versionOf(resolve(objects({}), req("example.com"), () => 0.5, mirrors)), "app-v1");
    assert.equal(mirrors.length, 1);
    assert.equal(mirrors[0]!.version, "app-shadow");
    assert.ok(mirrors[0]!.shadow);
    const some: Plan[] = [];
    resolve(objects({ percent: 40 }), req("example.com"), () => 0.39, some);
    resolve(objects({ percent: 40 }), req("example.com"), () => 0.41, some);
    assert.equal(some.length, 1);
    const frac: Plan[] = [];
    resolve(objects({ fraction: { numerator: 1, denominator: 4 } }), req("example.com"), () => 0.2, frac);
    resolve(objects({ fraction: { numerator: 1, denominator: 4 } }), req("example.com"), () => 0.3, frac);
    assert.equal(frac.length, 1);
  });
  it("timeouts.request in Gateway API durations", () => {
    assert.equal(gatewayDuration("1m30s"), 90_000);
    assert.equal(gatewayDuration("500ms"), 500);
    assert.equal(gatewayDuration("1.5s"), undefined);
    const p = resolve(
      [route([{ timeouts: { request: "2s" }, backendRefs: [backend("app-v1")] }])],
      req("example.com"),
    );
    assert.ok(!isFailure(p) && p.timeoutMs === 2000);
  });
});

describe("HTTPRoute: problems are named by object and field", () => {
  const cases: Array<{ name: string; rules: unknown[]; path: string; message: RegExp }> = [
    {
      name: "unknown backend",
      rules: [{ backendRefs: [backend("nowhere")] }],
      path: "spec.rules[0].backendRefs[0].name",
      message: /unknown upstream host "nowhere/,
    },
    {
      name: "weight out of range",
      rules: [{ backendRefs: [backend("app-v1", -1)] }],
      path: "spec.rules[0].backendRefs[0].weight",
      message: /0\.\.1000000/,
    },
    {
      name: "unsupported filter",
      rules: [{ filters: [{ type: "RequestRedirect" }], backendRefs: [backend("app-v1")] }],
      path: "spec.rules[0].filters[0].type",
      message: /not supported by the local router/,
    },
    {
      name: "bad header match type",
      rules: [
        {
          matches: [{ headers: [{ type: "Prefix", name: "a", value: "b" }] }],
          backendRefs: [backend("app-v1")],
        },
      ],
      path: "spec.rules[0].matches[0].headers[0].type",
      message: /Exact or RegularExpression/,
    },
    {
      name: "invalid regex",
      rules: [
        { matches: [{ path: { type: "RegularExpression", value: "(" } }], backendRefs: [backend("app-v1")] },
      ],
      path: "spec.rules[0].matches[0].path.value",
      message: /invalid regular expression/,
    },
    {
      name: "two mirrors",
      rules: [
        {
          filters: [
            { type: "RequestMirror", requestMirror: { backendRef: backend("app-v1") } },
            { type: "RequestMirror", requestMirror: { backendRef: backend("app-v2") } },
          ],
          backendRefs: [backend("app-v1")],
        },
      ],
      path: "spec.rules[0].filters[1]",
      message: /only one RequestMirror/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const issues = issuesOf([route(c.rules)]);
      const hit = issues.find((i) => i.path === c.path);
      assert.ok(hit, `no issue at ${c.path}: ${JSON.stringify(issues)}`);
      assert.match(hit.message, c.message);
      assert.equal(hit.object, "HTTPRoute default/r");
    });
  }
});
