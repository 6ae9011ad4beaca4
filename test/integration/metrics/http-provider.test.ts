// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are Python-style query templates, on purpose
// HttpMetricsProvider against a real local HTTP server that answers like Prometheus, or badly.

import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Metric, MetricSpec } from "../../../src/api/types.ts";
import { BuiltinMetricsProvider } from "../../../src/metrics/builtin-provider.ts";
import { CLUSTER_PROMETHEUS_URL, HttpMetricsProvider } from "../../../src/metrics/http-provider.ts";
import { seededRandom } from "../../../src/metrics/mock.ts";
import { EnvSecretSource } from "../../../src/metrics/secrets.ts";
import { MetricsStore } from "../../../src/router/metrics.ts";
import { baseline, candidate, experiment, metric, query } from "../../unit/metrics/fixtures.ts";

interface Seen {
  method: string;
  path: string;
  params: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: string;
}
type Reply = { status?: number; body: string; type?: string } | "hang";

const PROM = ".data.result[0].value[1] | tonumber";
const sample = (v: string) =>
  JSON.stringify({
    status: "success",
    data: { resultType: "vector", result: [{ metric: {}, value: [1.7e9, v] }] },
  });
const emptyVector = JSON.stringify({ status: "success", data: { resultType: "vector", result: [] } });

let server: Server;
let base: string;
const seen: Seen[] = [];
const replies = new Map<string, (s: Seen) => Reply>();
const hanging = new Set<import("node:http").ServerResponse>();

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => {
      body += c;
    });
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      const s: Seen = {
        method: req.method ?? "",
        path: url.pathname,
        params: url.searchParams,
        headers: req.headers,
        body,
      };
      seen.push(s);
      const reply = replies.get(url.pathname)?.(s) ?? { status: 404, body: "no such path" };
      if (reply === "hang") {
        hanging.add(res);
        return;
      }
      res.writeHead(reply.status ?? 200, { "content-type": reply.type ?? "application/json" });
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const res of hanging) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Spec overrides; a field set to undefined is removed from the spec. */
type SpecOverrides = { [K in keyof MetricSpec]?: MetricSpec[K] | undefined };

function promMetric(name: string, path: string, extra: SpecOverrides = {}): Metric {
  const m = metric(name, {
    provider: "prometheus",
    urlTemplate: `${base}${path}`,
    jqExpression: PROM,
    params: [
      {
        name: "query",
        value: "sum(increase(x{revision_name='$revision'}[${elapsedTime}s])) or on() vector(0)",
      },
    ],
  });
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete m.spec[k as keyof MetricSpec];
    else Object.assign(m.spec, { [k]: v });
  }
  return m;
}

/** A loopback port nothing listens on: one the kernel just handed out and we released. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function count(path: string): number {
  return seen.filter((s) => s.path === path).length;
}

describe("queries", () => {
  it("GETs the interpolated params and reads the value with jq", async () => {
    replies.set("/q1", () => ({ body: sample("12.5") }));
    const m = promMetric("mean-latency", "/q1");
    const e = experiment({ metrics: [m] });
    const r = await new HttpMetricsProvider().read(query(e, m, candidate(e), 42));
    assert.deepEqual(r, { value: 12.5 });
    const s = seen.findLast((x) => x.path === "/q1")!;
    assert.equal(s.method, "GET");
    assert.equal(
      s.params.get("query"),
      "sum(increase(x{revision_name='sample-app-v2'}[42s])) or on() vector(0)",
    );
  });

  it("POSTs the interpolated JSON body", async () => {
    replies.set("/post", (s) => ({
      body: JSON.stringify({ results: [{ avg: JSON.parse(s.body).elapsed }] }),
    }));
    const m = metric("user-engagement", {
      method: "POST",
      urlTemplate: `${base}/post`,
      body: '{"version": "$name", "elapsed": ${elapsedTime}}',
      jqExpression: ".results[0].avg",
    });
    const e = experiment();
    assert.deepEqual(await new HttpMetricsProvider().read(query(e, m, baseline(e), 9)), { value: 9 });
    const s = seen.findLast((x) => x.path === "/post")!;
    assert.equal(s.method, "POST");
    assert.equal(s.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(s.body), { version: "current", elapsed: 9 });
  });

  it("keeps a Content-Type given in headerTemplates", async () => {
    replies.set("/post2", () => ({ body: sample("1") }));
    const m = metric("m", {
      method: "POST",
      urlTemplate: `${base}/post2`,
      body: "{}",
      headerTemplates: [{ name: "Content-Type", value: "application/vnd.query+json" }],
      jqExpression: PROM,
    });
    const e = experiment();
    assert.deepEqual(await new HttpMetricsProvider().read(query(e, m, baseline(e), 9)), { value: 1 });
    assert.equal(
      seen.findLast((x) => x.path === "/post2")!.headers["content-type"],
      "application/vnd.query+json",
    );
  });

  it("does not send a body that is not JSON after interpolation", async () => {
    const m = metric("m", {
      method: "POST",
      urlTemplate: `${base}/never`,
      body: "{version: $name}",
      jqExpression: ".",
    });
    const e = experiment();
    const r = await new HttpMetricsProvider().read(query(e, m, baseline(e), 9));
    assert.match(
      r.error ?? "",
      /^metric iter8-knative\/m for version current: body is not valid JSON after interpolation: /,
    );
    assert.equal(count("/never"), 0);
  });

  it("sends queries for the in-cluster Prometheus to prometheusUrl", async () => {
    replies.set("/api/v1/query", () => ({ body: sample("3") }));
    const m = metric("request-count", {
      urlTemplate: `${CLUSTER_PROMETHEUS_URL}/api/v1/query`,
      jqExpression: PROM,
    });
    const e = experiment();
    const before = count("/api/v1/query");
    const r = await new HttpMetricsProvider({ prometheusUrl: `${base}/` }).read(query(e, m, baseline(e), 5));
    assert.deepEqual(r, { value: 3 });
    assert.equal(count("/api/v1/query"), before + 1);
  });
});

describe("sample size and caching", () => {
  it("takes sampleSize from the referenced metric, querying each metric once per iteration", async () => {
    let requests = 0;
    replies.set("/count", () => ({ body: sample(String(100 + requests++)) }));
    replies.set("/rate", () => ({ body: sample("0.02") }));
    const rc = promMetric("request-count", "/count");
    const rate = promMetric("error-rate", "/rate", { sampleSize: "iter8-knative/request-count" });
    const p = new HttpMetricsProvider();
    let e = experiment({ metrics: [rc, rate], completedIterations: 3 });
    assert.deepEqual(await p.read(query(e, rate, candidate(e), 30)), { value: 0.02, sampleSize: 100 });
    assert.deepEqual(await p.read(query(e, rc, candidate(e), 30)), { value: 100 });
    assert.equal(count("/count"), 1, "request-count was read once for both");
    // concurrent reads in the same iteration share one request
    const both = await Promise.all([
      p.read(query(e, rate, baseline(e), 30)),
      p.read(query(e, rate, baseline(e), 30)),
    ]);
    assert.deepEqual(both[0], both[1]);
    assert.equal(count("/rate"), 2);
    // the next iteration asks again
    e = experiment({ metrics: [rc, rate], completedIterations: 4 });
    assert.deepEqual(await p.read(query(e, rate, candidate(e), 40)), { value: 0.02, sampleSize: 102 });
  });

  it("a bare sampleSize name resolves in the metric's namespace, also through resolveMetric", async () => {
    replies.set("/n", () => ({ body: sample("7") }));
    const rc = promMetric("request-count", "/n");
    const lat = promMetric("mean-latency", "/n", { sampleSize: "request-count" });
    const e = experiment({ metrics: [lat] }); // request-count not in status.metrics
    const asked: string[] = [];
    const p = new HttpMetricsProvider({
      resolveMetric: async (k) => {
        asked.push(`${k.namespace}/${k.name}`);
        return k.name === "request-count" ? rc : undefined;
      },
    });
    assert.deepEqual(await p.read(query(e, lat, baseline(e), 5)), { value: 7, sampleSize: 7 });
    assert.deepEqual(asked, ["iter8-knative/request-count"]);
  });

  it("does not cache failures: the next read tries again", async () => {
    let up = false;
    replies.set("/flaky", () => (up ? { body: sample("1") } : { status: 503, body: "warming up" }));
    const m = promMetric("request-count", "/flaky");
    const e = experiment();
    const p = new HttpMetricsProvider();
    assert.match((await p.read(query(e, m, baseline(e), 5))).error ?? "", /HTTP 503: warming up/);
    up = true;
    assert.deepEqual(await p.read(query(e, m, baseline(e), 5)), { value: 1 });
    assert.equal(count("/flaky"), 2);
  });
});

describe("failures are readings with a reason, never exceptions", () => {
  const cases: [string, Reply | "closed", RegExp][] = [
    [
      "non-2xx",
      { status: 500, body: "internal error" },
      /GET http:\/\/127\.0\.0\.1:\d+\/bad answered HTTP 500: internal error$/,
    ],
    [
      "a Prometheus 400",
      { status: 400, body: '{"status":"error","errorType":"bad_data","error":"parse error at char 5"}' },
      /answered HTTP 400: .*parse error at char 5/,
    ],
    [
      "non-JSON",
      { body: "<html>oops</html>", type: "text/html" },
      /answered with a body that is not JSON: <html>oops<\/html>$/,
    ],
    ["an empty body", { body: "" }, /not JSON: \(empty body\)$/],
    [
      "an empty vector",
      { body: emptyVector },
      /Prometheus returned an empty vector \(no series matched\); jq expression .* failed/,
    ],
    ["NaN", { body: sample("NaN") }, /Prometheus returned NaN; jq expression .* produced null/],
    ["+Inf", { body: sample("+Inf") }, /Prometheus returned \+Inf; jq expression .* infinite value/],
    ["a non-numeric value", { body: sample("lots") }, /jq expression .* failed: .*Invalid numeric literal/],
    ["a timeout", "hang", /GET http:\/\/127\.0\.0\.1:\d+\/bad timed out after 300 ms$/],
    [
      "an unreachable backend",
      "closed",
      /GET http:\/\/127\.0\.0\.1:\d+\/bad failed: backend unreachable \(ECONNREFUSED\)$/,
    ],
  ];
  for (const [what, reply, reason] of cases) {
    it(what, async () => {
      replies.set("/bad", () => (reply === "closed" ? { body: "" } : reply));
      const m = promMetric(
        "error-rate",
        "/bad",
        reply === "closed" ? { urlTemplate: `http://127.0.0.1:${await closedPort()}/bad` } : {},
      );
      const e = experiment();
      const r = await new HttpMetricsProvider({ timeoutMs: 300 }).read(query(e, m, candidate(e), 5));
      assert.equal(r.value, undefined);
      assert.match(r.error ?? "", /^metric iter8-knative\/error-rate for version candidate: /);
      assert.match(r.error ?? "", reason);
    });
  }

  it("a jq syntax error", async () => {
    replies.set("/ok", () => ({ body: sample("1") }));
    const m = promMetric("x", "/ok", { jqExpression: ".data.result[0" });
    const e = experiment();
    const r = await new HttpMetricsProvider().read(query(e, m, baseline(e), 5));
    assert.match(
      r.error ?? "",
      /^metric iter8-knative\/x for version current: jq expression `.data.result\[0` failed: .*syntax error/,
    );
  });

  const invalid: [string, SpecOverrides, RegExp][] = [
    ["no urlTemplate", { urlTemplate: undefined }, /the Metric has no urlTemplate/],
    ["no jqExpression", { jqExpression: undefined }, /the Metric has no jqExpression/],
    ["a bad URL", { urlTemplate: "not a url" }, /urlTemplate gives an invalid URL: not a url/],
    ["authType without secret", { authType: "Bearer" }, /authType Bearer needs spec.secret/],
    [
      "a secret without a source",
      { secret: "creds" },
      /secret creds is needed but no secret source is configured/,
    ],
  ];
  for (const [what, spec, reason] of invalid) {
    it(what, async () => {
      const m = promMetric("x", "/ok", spec);
      const e = experiment();
      const r = await new HttpMetricsProvider().read(query(e, m, baseline(e), 5));
      assert.match(r.error ?? "", reason);
    });
  }

  it("an experiment without startTime", async () => {
    const m = promMetric("x", "/ok");
    const e = experiment();
    delete e.status!.startTime;
    const r = await new HttpMetricsProvider().read({
      ...query(experiment(), m, baseline(e), 5),
      experiment: e,
    });
    assert.match(r.error ?? "", /the experiment has no valid status.startTime/);
  });
});

describe("secrets and headers", () => {
  const secrets = new EnvSecretSource({
    ITER8_SECRET__ITER8_SYSTEM__BASIC: '{"username":"alice","password":"pa:ss"}',
    ITER8_SECRET__ITER8_KNATIVE__TOKEN: '{"token":"t-123","path":"secure"}',
    ITER8_SECRET__ITER8_SYSTEM__HALF: '{"username":"bob"}',
  });
  const headersOf = (path: string) => seen.findLast((s) => s.path === path)!.headers;

  it("Basic: Authorization from username and password (bare name found in iter8-system)", async () => {
    replies.set("/basic", () => ({ body: sample("1") }));
    const m = promMetric("x", "/basic", { authType: "Basic", secret: "basic" });
    const e = experiment();
    assert.deepEqual(await new HttpMetricsProvider({ secrets }).read(query(e, m, baseline(e), 5)), {
      value: 1,
    });
    assert.equal(headersOf("/basic").authorization, `Basic ${Buffer.from("alice:pa:ss").toString("base64")}`);
  });

  it("Basic without a password is unavailable", async () => {
    const m = promMetric("x", "/basic", { authType: "Basic", secret: "iter8-system/half" });
    const e = experiment();
    const r = await new HttpMetricsProvider({ secrets }).read(query(e, m, baseline(e), 5));
    assert.match(r.error ?? "", /authType Basic needs username and password in secret iter8-system\/half/);
  });

  it("Bearer: header values and urlTemplate are interpolated from the secret", async () => {
    replies.set("/secure", () => ({ body: sample("2") }));
    const m = metric("x", {
      urlTemplate: `${base}/$path`,
      jqExpression: PROM,
      authType: "Bearer",
      secret: "token", // resolves in the metric's namespace (iter8-knative)
      headerTemplates: [{ name: "Authorization", value: "Bearer ${token}" }],
    });
    const e = experiment();
    assert.deepEqual(await new HttpMetricsProvider({ secrets }).read(query(e, m, baseline(e), 5)), {
      value: 2,
    });
    assert.equal(headersOf("/secure").authorization, "Bearer t-123");
  });

  it("APIKey interpolates headers; without authType they are sent as written", async () => {
    replies.set("/key", () => ({ body: sample("3") }));
    const spec = {
      headerTemplates: [{ name: "X-Query-Key", value: "${token}" }],
      secret: "iter8-knative/token",
    };
    const e = experiment();
    const p = new HttpMetricsProvider({ secrets });
    await p.read(query(e, promMetric("a", "/key", { ...spec, authType: "APIKey" }), baseline(e), 5));
    assert.equal(headersOf("/key")["x-query-key"], "t-123");
    await p.read(query(e, promMetric("b", "/key", spec), baseline(e), 5));
    assert.equal(headersOf("/key")["x-query-key"], "${token}");
  });

  it("a missing secret is unavailable, naming where it was looked for", async () => {
    const m = promMetric("x", "/key", { authType: "APIKey", secret: "nope" });
    const e = experiment();
    const r = await new HttpMetricsProvider({ secrets }).read(query(e, m, baseline(e), 5));
    assert.match(r.error ?? "", /secret iter8-knative\/nope or iter8-system\/nope not found/);
  });
});

describe("mock and built-in metrics", () => {
  it("mock metrics need no backend and are stable within an iteration", async () => {
    const m = metric("user-engagement", {
      type: "Gauge",
      mock: [
        { name: "current", level: 15 },
        { name: "candidate", level: 20 },
      ],
    });
    const e = experiment();
    const p = new HttpMetricsProvider({ random: seededRandom(4) });
    const a = await p.read(query(e, m, candidate(e), 20));
    assert.equal(typeof a.value, "number");
    assert.deepEqual(await p.read(query(e, m, candidate(e), 20)), a);
    const other = new HttpMetricsProvider({ random: seededRandom(4) });
    assert.deepEqual(await other.read(query(e, m, candidate(e), 20)), a, "same seed, same value");
    const counter = metric("c", { type: "Counter", mock: [{ name: "current", level: 2 }] });
    assert.deepEqual(await p.read(query(e, counter, baseline(e), 20)), { value: 40 });
  });

  it("provider iter8 metrics are answered by the built-in provider", async () => {
    const store = new MetricsStore();
    store.record("sample-app-v1", 200, 4);
    store.record("sample-app-v1", 200, 6);
    const m = metric("mean-latency", { provider: "iter8" }, "iter8-system");
    const e = experiment();
    const p = new HttpMetricsProvider({ builtin: new BuiltinMetricsProvider(store) });
    assert.deepEqual(await p.read(query(e, m, baseline(e), 5)), { value: 5, sampleSize: 2 });
    const none = await new HttpMetricsProvider().read(query(e, m, baseline(e), 5));
    assert.match(none.error ?? "", /built-in \(provider: iter8\) metrics are not available here/);
  });
});

describe("sample size lookups that fail", () => {
  it("keep the value and drop the sample size", async () => {
    replies.set("/v", () => ({ body: sample("4") }));
    const lat = promMetric("mean-latency", "/v", { sampleSize: "request-count" });
    const e = experiment({ metrics: [lat] });
    const p = new HttpMetricsProvider({
      resolveMetric: () => Promise.reject(new Error("store offline")),
    });
    assert.deepEqual(await p.read(query(e, lat, baseline(e), 5)), { value: 4 });
  });
});
