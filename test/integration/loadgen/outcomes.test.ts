// Status codes, transport errors and response framings, counted against what the server did.

import assert from "node:assert/strict";
import { test } from "node:test";
import { runLoad } from "../../../src/loadgen/index.ts";
import { closedPort, startRawServer, startServer } from "./servers.ts";

test("status codes are counted exactly (every third request a 500)", async () => {
  let n = 0;
  const server = await startServer((_req, res) => {
    n++;
    res.statusCode = n % 3 === 0 ? 500 : 200;
    res.end("x");
  });
  try {
    const r = await runLoad({ url: server.url, qps: 0, requests: 300, connections: 4 });
    assert.deepEqual(r.statusCodes, { "200": 200, "500": 100 });
    assert.equal(r.non2xx, 100);
    assert.equal(r.errorCount, 0);
    assert.equal(server.requests(), 300);
  } finally {
    await server.close();
  }
});

test("a refused connection counts as an error for every request", async () => {
  const port = await closedPort();
  const r = await runLoad({ url: `http://127.0.0.1:${port}/`, qps: 200, requests: 40, connections: 2 });
  assert.equal(r.completed, 40);
  assert.deepEqual(r.errors, { ECONNREFUSED: 40 });
  assert.deepEqual(r.statusCodes, {});
  assert.equal(r.latencyMs.count, 40);
});

test("a server that never answers gives timeouts, bounded by the timeout", async () => {
  const server = await startServer(() => {
    /* never respond */
  });
  try {
    const started = Date.now();
    const r = await runLoad({ url: server.url, qps: 50, requests: 6, connections: 3, timeout: 150 });
    assert.deepEqual(r.errors, { timeout: 6 });
    assert.ok(r.latencyMs.min >= 150);
    assert.ok(Date.now() - started < 2000);
  } finally {
    await server.close();
  }
});

test("chunked, close-delimited and Connection: close responses are all counted as responses", async () => {
  const replies = [
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    "HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 203 OK\r\nConnection: close\r\n\r\nuntil the end",
  ];
  const server = await startRawServer((i) => replies[i % replies.length]!);
  try {
    const r = await runLoad({ url: server.url, qps: 0, requests: 40, connections: 1 });
    assert.deepEqual(r.statusCodes, { "200": 10, "201": 10, "202": 10, "203": 10 });
    assert.equal(r.errorCount, 0);
  } finally {
    await server.close();
  }
});

test("malformed responses are protocol errors, and the next request reconnects", async () => {
  const server = await startRawServer((i) =>
    i % 2 === 0 ? "garbage\r\n\r\n" : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
  );
  try {
    const r = await runLoad({ url: server.url, qps: 0, requests: 10, connections: 1 });
    assert.deepEqual(r.errors, { protocol: 5 });
    assert.deepEqual(r.statusCodes, { "200": 5 });
  } finally {
    await server.close();
  }
});

test("headers, method and body reach the server", async () => {
  const seen: Array<{ method: string; country: string | undefined; body: string }> = [];
  const server = await startServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      seen.push({ method: req.method!, country: req.headers["country"] as string | undefined, body });
      res.end();
    });
  });
  try {
    await runLoad({
      url: server.url,
      qps: 0,
      requests: 3,
      connections: 1,
      headers: { country: "wakanda" },
      body: '{"a":1}',
    });
    assert.deepEqual(seen, Array(3).fill({ method: "POST", country: "wakanda", body: '{"a":1}' }));
  } finally {
    await server.close();
  }
});

test("an idle keep-alive connection closed by the server is reopened without an error", async () => {
  const server = await startServer((_req, res) => res.end("ok"));
  // Close idle keep-alive connections quickly, so every request at 5 qps meets a closed socket.
  (server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = 1;
  try {
    const r = await runLoad({ url: server.url, qps: 5, requests: 5, connections: 1 });
    assert.equal(r.errorCount, 0, JSON.stringify(r.errors));
    assert.deepEqual(r.statusCodes, { "200": 5 });
  } finally {
    await server.close();
  }
});
