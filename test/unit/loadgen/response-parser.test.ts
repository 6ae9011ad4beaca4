import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { MAX_HEAD_BYTES, ResponseParseError, ResponseParser } from "../../../src/loadgen/response-parser.ts";

// Feeds `parts` in order; returns [status, keepAlive, offset in the last part] once complete.
function parse(
  parts: Array<string | Buffer>,
  noBody = false,
): { status: number; keepAlive: boolean; end: number; index: number } {
  const p = new ResponseParser();
  p.reset(noBody);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const buf = typeof part === "string" ? Buffer.from(part, "latin1") : part;
    const end = p.execute(buf);
    if (end >= 0) return { status: p.status, keepAlive: p.keepAlive, end, index: i };
  }
  return { status: p.status, keepAlive: p.keepAlive, end: -1, index: -1 };
}

const RESPONSES: Array<{ name: string; raw: string; status: number; keepAlive: boolean; noBody?: boolean }> =
  [
    {
      name: "content-length",
      raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
      status: 200,
      keepAlive: true,
    },
    { name: "no reason phrase", raw: "HTTP/1.1 204\r\n\r\n", status: 204, keepAlive: true },
    { name: "empty body", raw: "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", status: 200, keepAlive: true },
    {
      name: "chunked with extension and trailer",
      raw: "HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n",
      status: 500,
      keepAlive: true,
    },
    {
      name: "connection close",
      raw: "HTTP/1.1 404 NF\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno",
      status: 404,
      keepAlive: false,
    },
    {
      name: "HTTP/1.0 default close",
      raw: "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
      status: 200,
      keepAlive: false,
    },
    {
      name: "HTTP/1.0 keep-alive",
      raw: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
      status: 200,
      keepAlive: true,
    },
    {
      name: "304 ignores length",
      raw: "HTTP/1.1 304 NM\r\nContent-Length: 99\r\n\r\n",
      status: 304,
      keepAlive: true,
    },
    {
      name: "HEAD ignores length",
      raw: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
      status: 200,
      keepAlive: true,
      noBody: true,
    },
    {
      name: "interim 100 Continue then final",
      raw: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
      status: 201,
      keepAlive: true,
    },
  ];

test("parses complete responses in one chunk, ending exactly at the message end", () => {
  for (const r of RESPONSES) {
    const out = parse([r.raw], r.noBody);
    assert.deepEqual(
      { status: out.status, keepAlive: out.keepAlive, end: out.end },
      { status: r.status, keepAlive: r.keepAlive, end: r.raw.length },
      r.name,
    );
  }
});

test("any split into chunks gives the same result (property)", () => {
  fc.assert(
    fc.property(fc.constantFrom(...RESPONSES), fc.array(fc.nat(), { maxLength: 6 }), (r, cutsRaw) => {
      const cuts = [...new Set(cutsRaw.map((c) => c % (r.raw.length + 1)))].sort((a, b) => a - b);
      const parts: string[] = [];
      let prev = 0;
      for (const c of cuts) {
        parts.push(r.raw.slice(prev, c));
        prev = c;
      }
      parts.push(r.raw.slice(prev));
      const nonEmpty = parts.filter((p) => p.length > 0);
      const out = parse(nonEmpty, r.noBody);
      assert.equal(out.status, r.status);
      assert.equal(out.keepAlive, r.keepAlive);
      assert.equal(out.index, nonEmpty.length - 1);
      assert.equal(out.end, nonEmpty[nonEmpty.length - 1]!.length);
    }),
    { numRuns: 300 },
  );
});

test("reports where the response ends when more bytes follow", () => {
  const raw = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA";
  assert.equal(parse([raw]).end, raw.length - 5);
});

test("a body without length or chunking runs to the end of the connection", () => {
  const p = new ResponseParser();
  p.reset(false);
  assert.equal(p.execute(Buffer.from("HTTP/1.1 200 OK\r\n\r\nsome body")), -1);
  assert.equal(p.readsUntilClose, true);
  assert.equal(p.execute(Buffer.from(" more")), -1);
  assert.equal(p.finishOnEof(), true);
  assert.equal(p.status, 200);
  assert.equal(p.keepAlive, false);
  assert.equal(p.bodyBytes, 14);
});

test("an incomplete response is not completed by the end of the connection", () => {
  const p = new ResponseParser();
  p.reset(false);
  p.execute(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
  assert.equal(p.finishOnEof(), false);
});

test("malformed responses are rejected", () => {
  const bad = [
    "HTTP/2 200 OK\r\n\r\n",
    "HTTX/1.1 200 OK\r\n\r\n",
    "HTTP/1.1 2000 OK\r\n\r\n",
    "HTTP/1.1 abc OK\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc",
    "HTTP/1.1 101 Switching\r\n\r\n",
  ];
  for (const raw of bad) assert.throws(() => parse([raw]), ResponseParseError, JSON.stringify(raw));
});

test("a response head larger than the limit is rejected, even across chunks", () => {
  const big = `HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(MAX_HEAD_BYTES)}`;
  assert.throws(() => parse([big]), /too large/);
  assert.throws(() => parse([big.slice(0, 1000), big.slice(1000)]), /too large/);
});

test("the parser is reusable after reset", () => {
  const p = new ResponseParser();
  for (const code of [200, 503, 201]) {
    p.reset(false);
    const raw = `HTTP/1.1 ${code} X\r\nContent-Length: 1\r\n\r\nz`;
    assert.equal(p.execute(Buffer.from(raw)), raw.length);
    assert.equal(p.status, code);
  }
});
