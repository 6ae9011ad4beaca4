// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are Python-style query templates, on purpose
// Hostile backends: redirects to another origin (with credentials from a Secret), same-origin
// redirects, and responses larger than the cap. Two loopback servers are two origins.

import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { HttpMetricsProvider } from "../../../src/metrics/http-provider.ts";
import { EnvSecretSource } from "../../../src/metrics/secrets.ts";
import { baseline, experiment, metric, query } from "../../unit/metrics/fixtures.ts";

const PROM = ".data.result[0].value[1] | tonumber";
const sample = (v: string) =>
  JSON.stringify({
    status: "success",
    data: { resultType: "vector", result: [{ metric: {}, value: [1, v] }] },
  });

interface Origin {
  server: Server;
  url: string;
  seen: { path: string; headers: IncomingHttpHeaders }[];
  routes: Map<string, (res: import("node:http").ServerResponse) => void>;
}

async function origin(): Promise<Origin> {
  const o: Origin = { server: createServer(), url: "", seen: [], routes: new Map() };
  o.server.on("request", (req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    o.seen.push({ path, headers: req.headers });
    req.resume();
    const route = o.routes.get(path);
    if (route) route(res);
    else res.writeHead(404).end("no such path");
  });
  await new Promise<void>((resolve) => o.server.listen(0, "127.0.0.1", resolve));
  o.url = `http://127.0.0.1:${(o.server.address() as AddressInfo).port}`;
  return o;
}

let a: Origin;
let b: Origin;
before(async () => {
  a = await origin();
  b = await origin();
});
after(async () => {
  for (const o of [a, b]) {
    o.server.closeAllConnections();
    await new Promise<void>((resolve) => o.server.close(() => resolve()));
  }
});

const secrets = new EnvSecretSource({ ITER8_SECRET__ITER8_KNATIVE__KEY: '{"key":"s3cret"}' });
const keyed = (url: string) =>
  metric("x", {
    urlTemplate: url,
    jqExpression: PROM,
    authType: "APIKey",
    secret: "key",
    headerTemplates: [{ name: "X-Api-Key", value: "${key}" }],
  });

describe("redirects", () => {
  it("a redirect to another origin is not followed and gets no credentials", async () => {
    b.routes.set("/evil", (res) =>
      res.writeHead(200, { "content-type": "application/json" }).end(sample("1")),
    );
    a.routes.set("/moved", (res) => res.writeHead(302, { location: `${b.url}/evil` }).end());
    const e = experiment();
    const r = await new HttpMetricsProvider({ secrets }).read(
      query(e, keyed(`${a.url}/moved`), baseline(e), 5),
    );
    assert.equal(r.value, undefined, "another origin's answer must not become a value");
    assert.match(
      r.error ?? "",
      /HTTP 302, a redirect to another origin \(http:\/\/127\.0\.0\.1:\d+\); not followed/,
    );
    assert.equal(a.seen.findLast((s) => s.path === "/moved")?.headers["x-api-key"], "s3cret");
    assert.equal(b.seen.length, 0, "the other origin received no request at all");
  });

  it("a same-origin redirect is followed, keeping the headers", async () => {
    a.routes.set("/old", (res) => res.writeHead(301, { location: "/new" }).end());
    a.routes.set("/new", (res) =>
      res.writeHead(200, { "content-type": "application/json" }).end(sample("7")),
    );
    const e = experiment();
    const r = await new HttpMetricsProvider({ secrets }).read(
      query(e, keyed(`${a.url}/old`), baseline(e), 5),
    );
    assert.deepEqual(r, { value: 7 });
    assert.equal(a.seen.findLast((s) => s.path === "/new")?.headers["x-api-key"], "s3cret");
  });

  it("a redirect loop within the origin ends with a reason", async () => {
    a.routes.set("/loop", (res) => res.writeHead(302, { location: "/loop" }).end());
    const e = experiment();
    const r = await new HttpMetricsProvider().read(
      query(e, metric("x", { urlTemplate: `${a.url}/loop`, jqExpression: PROM }), baseline(e), 5),
    );
    assert.match(r.error ?? "", /more than 5 redirects; not followed/);
  });
});

describe("response size cap", () => {
  const big = (n: number) => JSON.stringify({ pad: "x".repeat(n), ...JSON.parse(sample("3")) });

  it("a response over the cap is refused as too large (declared length)", async () => {
    a.routes.set("/big", (res) =>
      res.writeHead(200, { "content-type": "application/json" }).end(big(2_000_000)),
    );
    const e = experiment();
    const r = await new HttpMetricsProvider().read(
      query(e, metric("x", { urlTemplate: `${a.url}/big`, jqExpression: PROM }), baseline(e), 5),
    );
    assert.match(r.error ?? "", /response too large \(over 1 MiB, the maxResponseBytes limit\)/);
  });

  it("a chunked response is cut off once it passes the cap", async () => {
    a.routes.set("/stream", (res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(big(200_000));
      res.end();
    });
    const e = experiment();
    const m = metric("x", { urlTemplate: `${a.url}/stream`, jqExpression: PROM });
    const small = await new HttpMetricsProvider({ maxResponseBytes: 100_000 }).read(
      query(e, m, baseline(e), 5),
    );
    assert.match(small.error ?? "", /response too large \(over 100000 bytes/);
    const enough = await new HttpMetricsProvider({ maxResponseBytes: 300_000 }).read(
      query(e, m, baseline(e), 5),
    );
    assert.deepEqual(enough, { value: 3 });
  });

  it("a response just under the cap is evaluated", async () => {
    a.routes.set("/fits", (res) =>
      res.writeHead(200, { "content-type": "application/json" }).end(big(900_000)),
    );
    const e = experiment();
    const r = await new HttpMetricsProvider().read(
      query(e, metric("x", { urlTemplate: `${a.url}/fits`, jqExpression: PROM }), baseline(e), 5),
    );
    assert.deepEqual(r, { value: 3 });
  });
});

describe("jq time limit", () => {
  it("an expression that runs past its limit is stopped, and the next one still works", async () => {
    a.routes.set("/ok", (res) => res.writeHead(200, { "content-type": "application/json" }).end(sample("5")));
    const e = experiment();
    const slow = metric("slow", { urlTemplate: `${a.url}/ok`, jqExpression: "[range(1e9)] | length" });
    const p = new HttpMetricsProvider({ jqTimeoutMs: 300 });
    const r = await p.read(query(e, slow, baseline(e), 5));
    assert.match(r.error ?? "", /failed: took longer than 300 ms and was stopped/);
    const fine = metric("fine", { urlTemplate: `${a.url}/ok`, jqExpression: PROM });
    assert.deepEqual(await p.read(query(e, fine, baseline(e), 5)), { value: 5 });
  });
});
