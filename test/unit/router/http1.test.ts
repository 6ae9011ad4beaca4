import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  BODY_CHUNKED,
  BODY_LENGTH,
  BODY_NONE,
  BODY_UNTIL_CLOSE,
  ChunkedScanner,
  isHeadError,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
} from "../../../src/router/http1.ts";

function req(head: string): RequestHead {
  const r = parseRequestHead(head);
  if (isHeadError(r)) assert.fail(`unexpected error ${r.status} ${r.message}`);
  return r;
}

function res(head: string, method = "GET"): ResponseHead {
  const r = parseResponseHead(head, method);
  if (isHeadError(r)) assert.fail(`unexpected error ${r.status} ${r.message}`);
  return r;
}

describe("parseRequestHead", () => {
  it("parses the request line, lower-cases names, trims values, finds framing", () => {
    const r = req("POST /a?b=1 HTTP/1.1\r\nHost: example.com\r\nX-A:  v  \r\nContent-Length: 5");
    assert.equal(r.method, "POST");
    assert.equal(r.target, "/a?b=1");
    assert.equal(r.minor, 1);
    assert.deepEqual(r.headers, ["host", "example.com", "x-a", "v", "content-length", "5"]);
    assert.equal(r.bodyKind, BODY_LENGTH);
    assert.equal(r.contentLength, 5);
    assert.equal(r.keepAlive, true);
    assert.equal(r.host, "example.com");
  });

  it("understands Connection and HTTP/1.0 keep-alive", () => {
    assert.equal(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: close").keepAlive, false);
    assert.equal(req("GET / HTTP/1.0").keepAlive, false);
    assert.equal(req("GET / HTTP/1.0\r\nConnection: Keep-Alive").keepAlive, true);
    assert.deepEqual(
      [...req("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Foo,x-bar").connectionListed!],
      ["x-foo", "x-bar"],
    );
    assert.equal(req("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked").bodyKind, BODY_CHUNKED);
    assert.equal(req("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0").bodyKind, BODY_NONE);
  });

  const bad: Array<[string, string, number]> = [
    ["request line without version", "GET /", 400],
    ["unknown version", "GET / HTTP/2.0\r\nHost: a", 505],
    ["missing Host in HTTP/1.1", "GET / HTTP/1.1", 400],
    ["two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b", 400],
    ["space before colon", "GET / HTTP/1.1\r\nHost : a", 400],
    ["obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2", 400],
    ["bare LF", "GET / HTTP/1.1\nHost: a", 400],
    ["bare CR in a value", "GET / HTTP/1.1\r\nHost: a\rb", 400],
    ["NUL in a value", "GET / HTTP/1.1\r\nHost: a\u0000", 400],
    [
      "CL and TE together",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked",
      400,
    ],
    ["conflicting CLs", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4", 400],
    ["signed CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3", 400],
    ["TE not ending in chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip", 400],
    ["TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked", 400],
    ["CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443", 501],
    ["invalid method", "G@T / HTTP/1.1\r\nHost: a", 400],
    ["a raw byte in the target", "GET /\u00ff HTTP/1.1\r\nHost: a", 400],
    ["a control character in the target", "GET /\u0001 HTTP/1.1\r\nHost: a", 400],
  ];
  for (const [name, head, status] of bad) {
    it(`rejects ${name} with ${status}`, () => {
      const r = parseRequestHead(head);
      assert.ok(isHeadError(r), `accepted: ${JSON.stringify(head)}`);
      assert.equal(r.status, status);
    });
  }
});

describe("parseResponseHead", () => {
  it("finds the body framing of a response", () => {
    assert.equal(res("HTTP/1.1 200 OK\r\nContent-Length: 3").bodyKind, BODY_LENGTH);
    assert.equal(res("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked").bodyKind, BODY_CHUNKED);
    const untilClose = res("HTTP/1.1 200 OK");
    assert.equal(untilClose.bodyKind, BODY_UNTIL_CLOSE);
    assert.equal(untilClose.close, true);
    assert.equal(res("HTTP/1.1 200 OK\r\nContent-Length: 3", "HEAD").bodyKind, BODY_NONE);
    assert.equal(res("HTTP/1.1 204 No Content").bodyKind, BODY_NONE);
    assert.equal(res("HTTP/1.1 304 Not Modified\r\nContent-Length: 10").bodyKind, BODY_NONE);
    assert.equal(res("HTTP/1.1 100 Continue").status, 100);
    assert.equal(res("HTTP/1.0 200 OK\r\nContent-Length: 1").close, true);
    assert.equal(res("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive").close, false);
    assert.equal(res("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close").close, true);
    assert.equal(res("HTTP/1.1 404").reason, "");
  });

  it("rejects malformed upstream heads with 502", () => {
    for (const head of [
      "HTTP/1.1 2000 OK",
      "HTTP/2 200 OK",
      "HTTP/1.1 200 OK\r\nBad Header: x",
      "HTTP/1.1 200 OK\r\nContent-Length: x",
    ]) {
      const r = parseResponseHead(head, "GET");
      assert.ok(isHeadError(r), head);
      assert.equal(r.status, 502);
    }
  });
});

/** Encode `parts` as a chunked body (with optional extensions and trailers). */
function chunked(parts: string[], ext: boolean, trailers: string[]): string {
  let s = "";
  for (const p of parts) if (p.length > 0) s += `${p.length.toString(16)}${ext ? ";x=y" : ""}\r\n${p}\r\n`;
  s += "0\r\n";
  for (const t of trailers) s += `${t}\r\n`;
  return `${s}\r\n`;
}

describe("ChunkedScanner", () => {
  it("finds the end of a chunked body however the bytes are split (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 40 }), { maxLength: 6 }),
        fc.boolean(),
        fc.array(fc.constantFrom("X-Trailer: 1", "Y: two"), { maxLength: 2 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 10 }),
        fc.string({ maxLength: 10 }),
        (parts, ext, trailers, cuts, after) => {
          const body = Buffer.from(chunked(parts, ext, trailers), "latin1");
          const all = Buffer.concat([body, Buffer.from(after, "latin1")]);
          const s = new ChunkedScanner();
          let pos = 0;
          let endAt = -1;
          let i = 0;
          while (pos < all.length && endAt < 0) {
            const next = Math.min(all.length, pos + cuts[i++ % cuts.length]!);
            const piece = all.subarray(pos, next);
            const r = s.scan(piece, 0, piece.length);
            assert.notEqual(r, -2, s.error ?? "");
            if (r >= 0) endAt = pos + r;
            pos = next;
          }
          assert.equal(endAt, body.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("rejects malformed framing", () => {
    for (const bad of ["zz\r\n", "5\r\nhello!!", "\r\n", "5\nhello", `${"f".repeat(20)}\r\n`]) {
      const s = new ChunkedScanner();
      const b = Buffer.from(bad, "latin1");
      assert.equal(s.scan(b, 0, b.length), -2, JSON.stringify(bad));
      assert.ok(s.error);
    }
  });
});

describe("ChunkedScanner is as strict as llhttp", () => {
  const scan = (text: string): number => {
    const s = new ChunkedScanner();
    const b = Buffer.from(text, "latin1");
    return s.scan(b, 0, b.length);
  };
  const ok = [
    "5\r\nhello\r\n0\r\n\r\n",
    "5;a=b;c\r\nhello\r\n0\r\n\r\n",
    '5;name="quoted \\" value"\r\nhello\r\n0\r\n\r\n',
    "0\r\nX-Trailer: v\r\nEmpty:\r\n\r\n",
    "0\r\nObs: caf\xe9\r\n\r\n",
  ];
  for (const text of ok) {
    it(`accepts ${JSON.stringify(text)}`, () => assert.equal(scan(text), text.length));
  }
  const bad = [
    ["whitespace after the size", "5 \r\nhello\r\n0\r\n\r\n"],
    ["junk after whitespace", "5 junk\r\nhello\r\n0\r\n\r\n"],
    ["a tab after the size", "5\t\r\nhello\r\n0\r\n\r\n"],
    ["an empty extension name", "5;\r\nhello\r\n0\r\n\r\n"],
    ["space inside extensions", "5; a=b\r\nhello\r\n0\r\n\r\n"],
    ["an unterminated quoted value", '5;a="b\r\nhello\r\n0\r\n\r\n'],
    ["junk after a quoted value", '5;a="b"c\r\nhello\r\n0\r\n\r\n'],
    ["a bare LF after the size", "5\nhello\r\n0\r\n\r\n"],
    ["a trailer ending in a bare LF", "0\r\nX: 1\n\r\n"],
    ["a trailer without a colon", "0\r\nGET / HTTP/1.1\r\n\r\n"],
    ["a trailer folded onto the next line", "0\r\nX: 1\r\n 2\r\n\r\n"],
    ["a NUL in a trailer", "0\r\nX: 1\x00\r\n\r\n"],
    ["a bare LF ending the trailers", "0\r\n\n"],
    ["a space before a trailer's colon", "0\r\nX : 1\r\n\r\n"],
  ];
  for (const [name, text] of bad) {
    it(`rejects ${name}`, () => assert.equal(scan(text!), -2));
  }
});

describe("absolute-form targets and lengths", () => {
  it("routes by the target's authority and forwards origin form", () => {
    const r = req("GET http://b.example:8080/p?q HTTP/1.1\r\nHost: a.example");
    assert.equal(r.target, "/p?q");
    assert.equal(r.host, "b.example:8080");
    assert.deepEqual(r.headers, ["host", "b.example:8080"]);
    assert.equal(req("GET HTTP://b.example?x HTTP/1.1\r\nHost: a").target, "/?x");
  });
  it("rejects absolute targets without a usable authority, and targets of no known form", () => {
    for (const target of ["http:///p", "http://user@b/p", "http://b c/", "ftp://b/", "foo"]) {
      const r = parseRequestHead(`GET ${target} HTTP/1.1\r\nHost: a`);
      assert.ok(isHeadError(r) && r.status === 400, target);
    }
  });
  it("reports the declared length, also 0 and for HEAD answers", () => {
    assert.equal(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0").declaredLength, 0);
    assert.equal(req("GET / HTTP/1.1\r\nHost: a").declaredLength, -1);
    assert.equal(res("HTTP/1.1 200 OK\r\nContent-Length: 7", "HEAD").declaredLength, 7);
  });
});
