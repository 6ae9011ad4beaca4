import assert from "node:assert/strict";
import { test } from "node:test";
import { LoadOptionsError, normalizeLoadOptions } from "../../../src/loadgen/options.ts";

test("defaults follow Fortio: GET, 8 qps, 4 connections", () => {
  const o = normalizeLoadOptions({ url: "http://127.0.0.1:8080/a?b=1", duration: "2s" });
  assert.equal(o.method, "GET");
  assert.equal(o.qps, 8);
  assert.equal(o.connections, 4);
  assert.equal(o.durationMs, 2000);
  assert.equal(o.requests, null);
  assert.equal(o.host, "127.0.0.1");
  assert.equal(o.port, 8080);
  assert.equal(
    o.request.toString(),
    "GET /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: iter8-load/0.1\r\nAccept: */*\r\n\r\n",
  );
});

test("a body implies POST with Content-Length; headers replace case-insensitively", () => {
  const o = normalizeLoadOptions({
    url: "http://example.com/",
    body: "{}",
    contentType: "application/json",
    headers: [
      ["country", "wakanda"],
      ["HOST", "example.com"],
      ["Country", "gondor"],
    ],
  });
  assert.equal(o.method, "POST");
  assert.equal(o.port, 80);
  assert.equal(
    o.request.toString(),
    "POST / HTTP/1.1\r\nHOST: example.com\r\nUser-Agent: iter8-load/0.1\r\nAccept: */*\r\n" +
      "Content-Type: application/json\r\nCountry: gondor\r\nContent-Length: 2\r\n\r\n{}",
  );
});

test("requests win over duration; IPv6 hosts are unbracketed", () => {
  const o = normalizeLoadOptions({ url: "http://[::1]:9000/", requests: 10, duration: "5s", method: "head" });
  assert.equal(o.requests, 10);
  assert.equal(o.durationMs, null);
  assert.equal(o.host, "::1");
  assert.equal(o.method, "HEAD");
  assert.equal(o.noResponseBody, true);
});

test("invalid options are rejected with the field named", () => {
  const cases: Array<[Parameters<typeof normalizeLoadOptions>[0], RegExp]> = [
    [{ url: "not a url" }, /^url:/],
    [{ url: "ftp://127.0.0.1/" }, /^url: only http/],
    [{ url: "http://h/", qps: -1 }, /^qps:/],
    [{ url: "http://h/", qps: Number.NaN }, /^qps:/],
    [{ url: "http://h/", connections: 0 }, /^connections:/],
    [{ url: "http://h/", connections: 1.5 }, /^connections:/],
    [{ url: "http://h/", requests: 0 }, /^requests:/],
    [{ url: "http://h/", duration: "soon" }, /^duration:/],
    [{ url: "http://h/", duration: 0 }, /^duration:/],
    [{ url: "http://h/", timeout: "-" }, /^timeout:/],
    [{ url: "http://h/", method: "GE T" }, /^method:/],
    [{ url: "http://h/", headers: { "bad name": "x" } }, /^headers: invalid header name/],
    [{ url: "http://h/", headers: { x: "a\r\nb: c" } }, /^headers: value of x/],
    [{ url: "http://h/", headers: { "Content-Length": "5" } }, /^headers: Content-Length is set/],
  ];
  for (const [opts, re] of cases) {
    assert.throws(
      () => normalizeLoadOptions(opts),
      (e: unknown) => e instanceof LoadOptionsError && re.test(e.message),
      JSON.stringify(opts),
    );
  }
});
