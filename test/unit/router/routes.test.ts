import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { createResolver, isFailure, type RequestLike } from "../../../src/router/resolve.ts";
import { compileRoutes, type Plan, RouteTableError } from "../../../src/router/routes.ts";
import { docs, SEED000_ROUTING, SEED000_SERVICES, SEED004_ROUTING, SEED004_SERVICES } from "./fixtures.ts";

const UP000 = { "sample-app-v1-blue": "127.0.0.1:9001", "sample-app-v2-green": "127.0.0.1:9002" };
const UP004 = { "sample-app-v1": "127.0.0.1:9101", "sample-app-v2": "127.0.0.1:9102" };

function req(host: string, headers: Record<string, string> = {}, url = "/", method = "GET"): RequestLike {
  const raw = ["Host", host];
  for (const [k, v] of Object.entries(headers)) raw.push(k, v);
  return { method, url, rawHeaders: raw };
}

/** A random source replaying fixed draws. */
function draws(...values: number[]): () => number {
  let i = 0;
  return () => {
    const v = values[i % values.length]!;
    i++;
    return v;
  };
}

function plan(result: ReturnType<ReturnType<typeof createResolver>["resolve"]>): Plan {
  if (isFailure(result)) assert.fail(`expected a plan, got ${result.status} ${result.reason}`);
  return result;
}

function errorsOf(fn: () => unknown): Array<{ path: string; message: string; object?: string }> {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof RouteTableError, `expected RouteTableError, got ${err}`);
    return [...err.issues];
  }
  assert.fail("expected compileRoutes to throw");
}

function vs(http: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "networking.istio.io/v1beta1",
    kind: "VirtualService",
    metadata: { name: "vs", namespace: "default" },
    spec: { hosts: ["example.com"], http, ...extra },
  };
}

function seed000(weights: [number, number]) {
  // biome-ignore lint/suspicious/noExplicitAny: deep edits of untyped seed manifests
  const objects = docs(SEED000_SERVICES, SEED000_ROUTING) as Array<Record<string, any>>;
  const routing = objects.find((o) => o["kind"] === "VirtualService")!;
  routing["spec"].http[0].route[0].weight = weights[0];
  routing["spec"].http[0].route[1].weight = weights[1];
  return objects;
}

describe("compileRoutes: seed 000 (traffic segmentation)", () => {
  it("sends wakanda by weight and everyone else to v1, with the route's headers and authority", () => {
    const table = compileRoutes(seed000([40, 60]), UP000);
    assert.deepEqual(table.versions, ["sample-app-v1-blue", "sample-app-v2-green"]);
    const r = createResolver(table);
    const v1 = plan(r.resolve(req("example.com", { country: "wakanda" }), draws(0.39), []));
    assert.equal(v1.version, "sample-app-v1-blue");
    assert.equal(v1.upstream.key, "127.0.0.1:9001");
    assert.equal(v1.authority, "sample-app-v1.default");
    assert.deepEqual(v1.addHeaders, [
      "knative-serving-namespace",
      "default",
      "knative-serving-revision",
      "sample-app-v1-blue",
    ]);
    const v2 = plan(r.resolve(req("example.com", { country: "wakanda" }), draws(0.4), []));
    assert.equal(v2.version, "sample-app-v2-green");
    assert.equal(v2.authority, "sample-app-v2.default");
    for (const x of [0, 0.5, 0.999]) {
      const g = plan(r.resolve(req("example.com", { Country: "gondor" }), draws(x), []));
      assert.equal(g.version, "sample-app-v1-blue");
    }
    // Header names match case-insensitively, values exactly.
    assert.equal(
      plan(r.resolve(req("example.com", { COUNTRY: "wakanda" }), draws(0.9), [])).version,
      "sample-app-v2-green",
    );
    assert.equal(
      plan(r.resolve(req("example.com", { country: "Wakanda" }), draws(0.9), [])).version,
      "sample-app-v1-blue",
    );
  });

  it("ignores the port in the Host header and answers 503 for unknown hosts", () => {
    const r = createResolver(compileRoutes(seed000([0, 100]), UP000));
    assert.equal(
      plan(r.resolve(req("Example.com:8080", { country: "wakanda" }), Math.random, [])).version,
      "sample-app-v2-green",
    );
    const miss = r.resolve(req("other.org"), Math.random, []);
    assert.ok(isFailure(miss));
    assert.equal(miss.status, 503);
  });

  it("routes the Knative services' own hosts by their traffic (latest revision by default)", () => {
    const r = createResolver(compileRoutes(seed000([100, 0]), UP000));
    for (const host of [
      "sample-app-v2.default",
      "sample-app-v2.default.svc.cluster.local",
      "sample-app-v2.default.example.com",
    ]) {
      assert.equal(plan(r.resolve(req(host), Math.random, [])).version, "sample-app-v2-green");
    }
  });

  it("weighted choice follows the cumulative weights for every draw", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (w, x) => {
          const r = createResolver(compileRoutes(seed000([w, 100 - w]), UP000));
          const p = plan(r.resolve(req("example.com", { country: "wakanda" }), draws(x), []));
          assert.equal(p.version, x * 100 < w ? "sample-app-v1-blue" : "sample-app-v2-green");
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("compileRoutes: seed 004 (mirroring through the local gateway)", () => {
  const objects = () => docs(SEED004_SERVICES, SEED004_ROUTING);

  it("takes the later manifest as the newer revision and its traffic block", () => {
    const table = compileRoutes(objects(), UP004);
    const r = createResolver(table);
    // Knative route: 100 % to sample-app-v1, 0 % to the latest (sample-app-v2).
    assert.equal(
      plan(r.resolve(req("sample-app.default.svc.cluster.local"), Math.random, [])).version,
      "sample-app-v1",
    );
  });

  it("routes customdomain.com to v1 and mirrors when the draw is under 40 %", () => {
    const r = createResolver(compileRoutes(objects(), UP004));
    const mirrors: Plan[] = [];
    // First draw: mirror decision (0.39*100 < 40 -> mirror); weights of single routes draw nothing.
    const p = plan(r.resolve(req("customdomain.com"), draws(0.39), mirrors));
    assert.equal(p.version, "sample-app-v1");
    assert.equal(p.upstream.key, "127.0.0.1:9101");
    assert.equal(p.authority, "customdomain.com");
    assert.equal(mirrors.length, 1);
    assert.equal(mirrors[0]!.version, "sample-app-v2");
    assert.equal(mirrors[0]!.upstream.key, "127.0.0.1:9102");
    assert.equal(mirrors[0]!.authority, "customdomain.com");
    assert.equal(mirrors[0]!.shadow, true);
    assert.deepEqual(mirrors[0]!.addHeaders, [
      "knative-serving-namespace",
      "default",
      "knative-serving-revision",
      "sample-app-v2",
    ]);
    const none: Plan[] = [];
    plan(r.resolve(req("customdomain.com"), draws(0.4), none));
    assert.equal(none.length, 0);
  });

  it("memoises plans: the same chain of choices yields the same Plan object", () => {
    const r = createResolver(compileRoutes(objects(), UP004));
    const a = plan(r.resolve(req("customdomain.com"), draws(0.9), []));
    const b = plan(r.resolve(req("customdomain.com"), draws(0.9), []));
    assert.equal(a, b);
  });

  it("does not route clients straight into rules bound only to the local gateway", () => {
    const r = createResolver(compileRoutes(objects(), UP004));
    const res = r.resolve(req("customdomain.com-shadow"), Math.random, []);
    assert.ok(isFailure(res));
  });
});

describe("compileRoutes: Istio features", () => {
  const up = { a: "127.0.0.1:1001", b: "127.0.0.1:1002" };
  it("matches authority, uri, method and regex headers; first matching rule wins", () => {
    const table = compileRoutes(
      [
        vs([
          {
            match: [{ uri: { prefix: "/api" }, method: { exact: "POST" } }],
            route: [{ destination: { host: "b" } }],
          },
          {
            match: [{ headers: { "x-user": { regex: "u[0-9]+" } } }],
            route: [{ destination: { host: "b" } }],
          },
          { match: [{ authority: { prefix: "example.com" } }], route: [{ destination: { host: "a" } }] },
        ]),
      ],
      up,
    );
    const r = createResolver(table);
    const v = (x: RequestLike) => plan(r.resolve(x, Math.random, [])).version;
    assert.equal(v(req("example.com", {}, "/api/x", "POST")), "b");
    assert.equal(v(req("example.com", {}, "/api/x", "GET")), "a");
    assert.equal(v(req("example.com", { "x-user": "u42" })), "b");
    assert.equal(v(req("example.com", { "x-user": "u42x" })), "a", "regex must match the whole value");
  });

  it("applies set, add, remove and Host in order and keeps the last authority", () => {
    const table = compileRoutes(
      [
        vs([
          {
            headers: { request: { set: { "x-a": "1" }, add: { "x-b": "2" } } },
            route: [
              {
                destination: { host: "a" },
                headers: { request: { set: { Host: "inner", "x-a": "3" }, remove: ["x-c"] } },
              },
            ],
          },
        ]),
      ],
      up,
    );
    const p = plan(createResolver(table).resolve(req("example.com"), Math.random, []));
    assert.equal(p.authority, "inner");
    assert.deepEqual(p.addHeaders, ["x-a", "3", "x-b", "2"]);
    assert.deepEqual([...p.touched].sort(), ["x-a", "x-c"]);
  });

  it("wildcard and * hosts: most specific first", () => {
    const objects = [
      {
        ...vs([{ route: [{ destination: { host: "a" } }] }]),
        spec: { hosts: ["*.example.com"], http: [{ route: [{ destination: { host: "a" } }] }] },
      },
      {
        ...vs([]),
        metadata: { name: "all" },
        spec: { hosts: ["*"], http: [{ route: [{ destination: { host: "b" } }] }] },
      },
    ];
    const r = createResolver(compileRoutes(objects, up));
    assert.equal(plan(r.resolve(req("x.example.com"), Math.random, [])).version, "a");
    assert.equal(plan(r.resolve(req("example.org"), Math.random, [])).version, "b");
  });

  it("all weights 0 means no destination (503)", () => {
    const t = compileRoutes([vs([{ route: [{ destination: { host: "a" }, weight: 0 }] }])], up);
    const res = createResolver(t).resolve(req("example.com"), Math.random, []);
    assert.ok(isFailure(res));
    assert.equal(res.status, 503);
  });

  it("copies its inputs: editing the objects later does not change the table", () => {
    const objects = seed000([100, 0]);
    const table = compileRoutes(objects, UP000);
    // biome-ignore lint/suspicious/noExplicitAny: deep edits of untyped seed manifests
    (objects[2] as any).spec.http[0].route[0].weight = 0;
    // biome-ignore lint/suspicious/noExplicitAny: deep read of an untyped seed manifest
    assert.equal((table.source.objects[2] as any).spec.http[0].route[0].weight, 100);
  });
});

describe("compileRoutes: invalid tables name the field", () => {
  const up = { a: "127.0.0.1:1001", b: "127.0.0.1:1002" };
  const cases: Array<{
    name: string;
    objects: unknown[];
    upstreams?: Record<string, string>;
    path: string;
    message: RegExp;
  }> = [
    {
      name: "weight out of range",
      objects: [
        vs([
          {
            route: [
              { destination: { host: "a" }, weight: 50 },
              { destination: { host: "b" }, weight: 101 },
            ],
          },
        ]),
      ],
      path: "spec.http[0].route[1].weight",
      message: /integer 0\.\.100/,
    },
    {
      name: "fractional weight",
      objects: [
        vs([
          {
            route: [
              { destination: { host: "a" }, weight: 50.5 },
              { destination: { host: "b" }, weight: 49.5 },
            ],
          },
        ]),
      ],
      path: "spec.http[0].route[0].weight",
      message: /integer/,
    },
    {
      name: "weights not summing to 100",
      objects: [
        vs([
          {
            route: [
              { destination: { host: "a" }, weight: 50 },
              { destination: { host: "b" }, weight: 40 },
            ],
          },
        ]),
      ],
      path: "spec.http[0].route",
      message: /sum to 100 \(they sum to 90\)/,
    },
    {
      name: "unknown upstream host",
      objects: [vs([{ route: [{ destination: { host: "nowhere.default.svc.cluster.local" } }] }])],
      path: "spec.http[0].route[0].destination.host",
      message: /unknown upstream host "nowhere/,
    },
    {
      name: "bad regex",
      objects: [
        vs([{ match: [{ headers: { x: { regex: "(" } } }], route: [{ destination: { host: "a" } }] }]),
      ],
      path: "spec.http[0].match[0].headers.x.regex",
      message: /invalid regular expression/,
    },
    {
      name: "string match with two kinds",
      objects: [
        vs([
          { match: [{ authority: { exact: "a", prefix: "b" } }], route: [{ destination: { host: "a" } }] },
        ]),
      ],
      path: "spec.http[0].match[0].authority",
      message: /exactly one of exact, prefix, regex/,
    },
    {
      name: "unsupported feature",
      objects: [vs([{ fault: { abort: { httpStatus: 500 } }, route: [{ destination: { host: "a" } }] }])],
      path: "spec.http[0].fault",
      message: /not supported/,
    },
    {
      name: "mirrorPercent out of range",
      objects: [vs([{ route: [{ destination: { host: "a" } }], mirror: { host: "b" }, mirrorPercent: 140 }])],
      path: "spec.http[0].mirrorPercent",
      message: /0\.\.100/,
    },
    {
      name: "missing hosts",
      objects: [
        {
          ...vs([{ route: [{ destination: { host: "a" } }] }]),
          spec: { http: [{ route: [{ destination: { host: "a" } }] }] },
        },
      ],
      path: "spec.hosts",
      message: /non-empty list/,
    },
    {
      name: "bad upstream address",
      objects: [vs([{ route: [{ destination: { host: "a" } }] }])],
      upstreams: { a: "localhost" },
      path: 'upstreams["a"]',
      message: /not HOST:PORT/,
    },
    {
      name: "unsupported kind",
      objects: [{ apiVersion: "batch/v1", kind: "Job", metadata: { name: "curl" } }],
      path: "objects[0].kind",
      message: /unsupported object/,
    },
    {
      name: "Knative percents not summing to 100",
      objects: docs(SEED004_SERVICES.replace("percent: 100", "percent: 90")),
      upstreams: UP004,
      path: "spec.traffic",
      message: /sum to 100 \(they sum to 90\)/,
    },
    {
      name: "Knative unknown revision",
      objects: docs(SEED004_SERVICES.replace("revisionName: sample-app-v1", "revisionName: sample-app-v9")),
      upstreams: UP004,
      path: "spec.traffic[0].revisionName",
      message: /unknown revision "sample-app-v9"/,
    },
    {
      name: "Knative revision without an upstream",
      objects: docs(SEED004_SERVICES),
      upstreams: { "sample-app-v1": "127.0.0.1:1" },
      path: "spec.traffic[1].revisionName",
      message: /no upstream for revision "sample-app-v2"/,
    },
    {
      name: "Knative traffic entry without a target",
      objects: docs(SEED004_SERVICES.replace("  - latestRevision: true\n", "  - tag: x\n")),
      upstreams: UP004,
      path: "spec.traffic[1]",
      message: /needs revisionName or latestRevision/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const issues = errorsOf(() => compileRoutes(c.objects, c.upstreams ?? up));
      const hit = issues.find((i) => i.path === c.path);
      assert.ok(hit, `no issue at ${c.path}; got ${JSON.stringify(issues)}`);
      assert.match(hit.message, c.message);
    });
  }

  it("reports every issue at once, with the object named", () => {
    const issues = errorsOf(() =>
      compileRoutes(
        [
          vs([
            { route: [{ destination: { host: "a" }, weight: -1 }] },
            { route: [{ destination: { host: "zzz" } }] },
          ]),
        ],
        up,
      ),
    );
    assert.deepEqual(
      issues.map((i) => [i.object, i.path]),
      [
        ["VirtualService default/vs", "spec.http[0].route[0].weight"],
        ["VirtualService default/vs", "spec.http[1].route[0].destination.host"],
      ],
    );
    assert.match(
      String(new RouteTableError(issues).message),
      /VirtualService default\/vs: spec\.http\[0\]\.route\[0\]\.weight/,
    );
  });
});

describe("compileRoutes: seed 001 shape (Knative traffic with tags)", () => {
  const ksvc = (revision: string, traffic?: unknown) => ({
    apiVersion: "serving.knative.dev/v1",
    kind: "Service",
    metadata: { name: "sample-app", namespace: "iter8-system" },
    spec: { template: { metadata: { name: revision } }, ...(traffic ? { traffic } : {}) },
  });
  const traffic = (p1: number, p2: number) => [
    { tag: "current", revisionName: "sample-app-v1", percent: p1 },
    { tag: "candidate", latestRevision: true, percent: p2 },
  ];
  const up = { "sample-app-v1": "127.0.0.1:7001", "sample-app-v2": "127.0.0.1:7002" };

  it("splits the service host by percent and pins tag hosts to their revision", () => {
    const r = createResolver(
      compileRoutes([ksvc("sample-app-v1"), ksvc("sample-app-v2", traffic(70, 30))], up),
    );
    const v = (host: string, x: number) => plan(r.resolve(req(host), draws(x), [])).version;
    assert.equal(v("sample-app.iter8-system.svc.cluster.local", 0.69), "sample-app-v1");
    assert.equal(v("sample-app.iter8-system.svc.cluster.local", 0.7), "sample-app-v2");
    for (const x of [0, 0.99]) {
      assert.equal(v("candidate-sample-app.iter8-system", x), "sample-app-v2");
      assert.equal(v("current-sample-app.iter8-system.svc.cluster.local", x), "sample-app-v1");
    }
  });

  it("a single manifest without traffic sends everything to its revision", () => {
    const r = createResolver(compileRoutes([ksvc("sample-app-v1")], up));
    assert.equal(plan(r.resolve(req("sample-app.iter8-system"), Math.random, [])).version, "sample-app-v1");
  });

  it("rejects duplicate tags and revision names not prefixed by the service name", () => {
    const dup = errorsOf(() =>
      compileRoutes(
        [
          ksvc("sample-app-v1"),
          ksvc("sample-app-v2", [
            { ...traffic(50, 50)[0], percent: 50 },
            { ...traffic(50, 50)[1], tag: "current" },
          ]),
        ],
        up,
      ),
    );
    assert.ok(
      dup.some((i) => i.path === "spec.traffic[1].tag" && /duplicate tag/.test(i.message)),
      JSON.stringify(dup),
    );
    const prefix = errorsOf(() => compileRoutes([ksvc("other-v1")], { "other-v1": "127.0.0.1:1" }));
    assert.ok(
      prefix.some((i) => i.path === "spec.template.metadata.name"),
      JSON.stringify(prefix),
    );
  });
});

describe("compileRoutes: robustness", () => {
  /** Every path (array of keys) inside a JSON value. */
  function paths(v: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
    const out: Array<Array<string | number>> = [prefix];
    if (Array.isArray(v)) for (let i = 0; i < v.length; i++) out.push(...paths(v[i], [...prefix, i]));
    else if (v && typeof v === "object")
      for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
    return out;
  }
  // biome-ignore lint/suspicious/noExplicitAny: deep edits of untyped seed manifests
  function setAt(root: any, path: Array<string | number>, value: unknown): unknown {
    if (path.length === 0) return value;
    let o = root;
    for (const k of path.slice(0, -1)) o = o[k];
    o[path.at(-1)!] = value;
    return root;
  }

  it("any mutation of the seeds' objects compiles or fails with RouteTableError, never anything else", () => {
    const base = docs(SEED000_SERVICES, SEED000_ROUTING, SEED004_SERVICES, SEED004_ROUTING);
    const all = paths(base).filter((p) => p.length > 0);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: all.length - 1 }), fc.jsonValue({ maxDepth: 2 })), {
          minLength: 1,
          maxLength: 3,
        }),
        (edits) => {
          let objects = structuredClone(base) as unknown;
          for (const [i, value] of edits) {
            try {
              objects = setAt(objects, all[i]!, structuredClone(value));
            } catch {
              // The path no longer exists after an earlier edit: skip it.
            }
          }
          try {
            compileRoutes(objects as unknown[], { ...UP000, ...UP004 });
          } catch (err) {
            assert.ok(err instanceof RouteTableError, `unexpected ${(err as Error).stack}`);
            assert.ok(err.issues.length > 0);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("compileRoutes: gateway re-entry", () => {
  it("matches the second hop against headers and authority set by the first, and applies both hops' operations", () => {
    const edge = {
      apiVersion: "networking.istio.io/v1beta1",
      kind: "VirtualService",
      metadata: { name: "edge", namespace: "default" },
      spec: {
        hosts: ["a.com"],
        http: [
          {
            match: [{ headers: { tier: { exact: "gold" } } }],
            headers: { request: { set: { "x-seg": "gold" } } },
            rewrite: { authority: "inner.local" },
            route: [{ destination: { host: "knative-local-gateway.istio-system.svc.cluster.local" } }],
          },
          { route: [{ destination: { host: "knative-local-gateway.istio-system.svc.cluster.local" } }] },
        ],
      },
    };
    const inner = {
      apiVersion: "networking.istio.io/v1beta1",
      kind: "VirtualService",
      metadata: { name: "inner", namespace: "default" },
      spec: {
        gateways: ["knative-serving/knative-local-gateway"],
        hosts: ["*"],
        http: [
          {
            match: [{ headers: { "x-seg": { exact: "gold" } }, authority: { exact: "inner.local" } }],
            route: [{ destination: { host: "g" }, headers: { request: { set: { "x-hop": "2" } } } }],
          },
          { route: [{ destination: { host: "o" } }] },
        ],
      },
    };
    const r = createResolver(compileRoutes([edge, inner], { g: "127.0.0.1:1", o: "127.0.0.1:2" }));
    const gold = plan(r.resolve(req("a.com", { tier: "gold" }), Math.random, []));
    assert.equal(gold.version, "g");
    assert.equal(gold.authority, "inner.local");
    assert.deepEqual(gold.addHeaders, ["x-seg", "gold", "x-hop", "2"]);
    const other = plan(r.resolve(req("a.com", { tier: "silver" }), Math.random, []));
    assert.equal(other.version, "o");
    assert.equal(other.authority, null);
  });

  it("a loop through gateways ends in 503 instead of recursing forever", () => {
    const loop = {
      apiVersion: "networking.istio.io/v1beta1",
      kind: "VirtualService",
      metadata: { name: "loop", namespace: "default" },
      spec: {
        gateways: ["mesh", "knative-serving/knative-local-gateway"],
        hosts: ["*"],
        http: [
          { route: [{ destination: { host: "knative-local-gateway.istio-system.svc.cluster.local" } }] },
        ],
      },
    };
    const res = createResolver(compileRoutes([loop], {})).resolve(req("x.com"), Math.random, []);
    assert.ok(isFailure(res));
    assert.equal(res.status, 503);
    assert.match(res.reason, /loop/);
  });
});
