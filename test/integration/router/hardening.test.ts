// Hostile input on both data paths: request smuggling through Connection, upstream answers that must
// not crash or confuse the router, mirrors that stall, slow uploads, bare-LF heads, duplicate lengths,
// absolute-form targets and upstream framing errors. Each case reproduces a finding of a probe.

import assert from "node:assert/strict";
import type * as http from "node:http";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { compileRoutes, type Router, startRouter } from "../../../src/router/index.ts";
import {
  headerCount,
  raw,
  request,
  type ScriptedUpstream,
  startScriptedUpstream,
  startUpstream,
  type Upstream,
  until,
} from "./helpers.ts";

function vs(host: string, dest: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "networking.istio.io/v1beta1",
    kind: "VirtualService",
    metadata: { name: host.replace(/[^a-z0-9]/g, "-"), namespace: "default" },
    spec: { hosts: [host], http: [{ route: [{ destination: { host: dest } }], ...extra }] },
  };
}

interface Echoed {
  method: string;
  url: string;
  host: string;
  body: string;
  rawHeaders: string[];
}

/** Responses to the upstream-fault requests: path -> bytes (or an action on the socket). */
const FAULTS: Record<string, (s: net.Socket) => void> = {
  "/status-099": (s) => s.write("HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n"),
  "/status-000": (s) => s.write("HTTP/1.1 000 Zero\r\nContent-Length: 0\r\n\r\n"),
  "/status-101": (s) =>
    s.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"),
  "/status-line": (s) => s.write("HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"),
  "/bad-header": (s) => s.write("HTTP/1.1 200 OK\r\nBad Header: x\r\nContent-Length: 0\r\n\r\n"),
  "/bare-lf": (s) => s.write("HTTP/1.1 200 OK\nContent-Length: 2\n\nok"),
  "/bad-chunk": (s) =>
    s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
  "/chunk-space": (s) =>
    s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n"),
  "/conflicting-length": (s) =>
    s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"),
  "/huge-head": (s) => s.write(`HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(9000)}\r\nContent-Length: 0\r\n\r\n`),
  "/close-before-head": (s) => s.destroy(),
  "/listed-length": (s) =>
    s.write("HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 5\r\n\r\nhello"),
  "/interim": (s) =>
    s.write("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
  "/stall-after-head": (s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"),
  "/truncated": (s) => {
    s.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    setTimeout(() => s.destroy(), 20);
  },
};

/** Faults before any byte of a response could reach the client: the client must get a 502. */
const FAULTS_502 = [
  "/status-099",
  "/status-000",
  "/status-101",
  "/status-line",
  "/bad-header",
  "/bare-lf",
  "/bad-chunk",
  "/chunk-space",
  "/conflicting-length",
  "/huge-head",
  "/close-before-head",
];

for (const engine of ["fast", "node"] as const) {
  describe(`router (${engine} engine): hardening`, () => {
    let echo: Upstream;
    let other: Upstream;
    let faults: ScriptedUpstream;
    let router: Router;
    let port: number;
    const TIMEOUT_MS = 400;

    before(async () => {
      const echoHandler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => {
        const out: Echoed = {
          method: req.method!,
          url: req.url!,
          host: req.headers.host ?? "",
          body,
          rawHeaders: req.rawHeaders,
        };
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(out));
      };
      echo = await startUpstream("echo", echoHandler);
      other = await startUpstream("other", echoHandler);
      faults = await startScriptedUpstream((path, s) => {
        const f = FAULTS[path.split("?")[0]!];
        if (f) f(s);
        else s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      });
      const table = compileRoutes(
        [
          vs("echo.test", "echo"),
          vs("other.test", "other"),
          vs("faults.test", "faults"),
          {
            ...vs("mirrored.test", "echo"),
            spec: {
              hosts: ["mirrored.test"],
              http: [{ route: [{ destination: { host: "echo" } }], mirror: { host: "faults" } }],
            },
          },
        ],
        { echo: echo.address, other: other.address, faults: faults.address },
      );
      router = await startRouter({
        engine,
        listen: { host: "127.0.0.1", port: 0 },
        table,
        upstreamTimeoutMs: TIMEOUT_MS,
        headersTimeoutMs: 5_000,
        maxHeaderSize: 4096,
      });
      port = Number(new URL(router.url).port);
    });
    after(async () => {
      await router.close();
      await echo.close();
      await other.close();
      await faults.close();
    });

    /** The JSON bodies of the echo responses in raw HTTP/1.1 output (content-length or chunked). */
    function echoedBodies(text: string): Echoed[] {
      return [...text.matchAll(/\{"method".*?"rawHeaders":\[[^\]]*\]\}/g)].map(
        (m) => JSON.parse(m[0]) as Echoed,
      );
    }

    async function settled(up: Upstream, count: number): Promise<void> {
      // The upstream parses pipelined bytes in the same turn it receives them; a few turns suffice.
      for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(up.seen.length, count, `upstream saw ${JSON.stringify(up.seen.map((s) => s.url))}`);
    }

    for (const method of ["POST", "GET"]) {
      it(`a Connection header listing Content-Length cannot smuggle a ${method} body as a request`, async () => {
        const before = echo.seen.length;
        const hidden = "GET /smuggled HTTP/1.1\r\nHost: echo.test\r\n\r\n";
        const res = await raw(
          port,
          `${method} /a HTTP/1.1\r\nHost: echo.test\r\nConnection: content-length, close\r\n` +
            `Content-Length: ${hidden.length}\r\n\r\n${hidden}`,
        );
        assert.match(res, /^HTTP\/1\.1 200/);
        await settled(echo, before + 1);
        const seen = echo.seen[before]!;
        assert.equal(seen.url, "/a");
        assert.equal(seen.body, hidden);
        assert.equal(headerCount(seen.rawHeaders, "content-length"), 1);
      });
    }

    it("a Connection header listing Host or Transfer-Encoding does not remove them", async () => {
      const before = echo.seen.length;
      const res = await raw(
        port,
        "POST /h HTTP/1.1\r\nHost: echo.test\r\nConnection: host, transfer-encoding, close\r\n" +
          "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      );
      assert.match(res, /^HTTP\/1\.1 200/);
      await settled(echo, before + 1);
      const seen = echo.seen[before]!;
      assert.equal(seen.headers.host, "echo.test");
      assert.equal(seen.body, "hello");
    });

    it("a response whose Connection lists Content-Length keeps its length", async () => {
      const res = await raw(
        port,
        "GET /listed-length HTTP/1.1\r\nHost: faults.test\r\n\r\nGET /ok HTTP/1.1\r\nHost: faults.test\r\nConnection: close\r\n\r\n",
      );
      const first = res.slice(0, res.indexOf("\r\n\r\n")).toLowerCase();
      assert.match(first, /^http\/1\.1 200/);
      assert.match(first, /content-length: 5/);
      assert.match(res, /\r\n\r\nhelloHTTP\/1\.1 200[\s\S]*\r\n\r\nok$/);
    });

    it("identical duplicate Content-Lengths are forwarded once (or refused)", async () => {
      const before = echo.seen.length;
      const res = await raw(
        port,
        "POST /d HTTP/1.1\r\nHost: echo.test\r\nContent-Length: 5\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
      );
      if (res.startsWith("HTTP/1.1 400")) return; // node's parser refuses them: also never forwarded twice
      assert.match(res, /^HTTP\/1\.1 200/);
      await settled(echo, before + 1);
      assert.equal(headerCount(echo.seen[before]!.rawHeaders, "content-length"), 1);
      assert.equal(echo.seen[before]!.body, "hello");
    });

    it("routes an absolute-form target by its own authority, sent upstream in origin form", async () => {
      const before = other.seen.length;
      const res = await raw(
        port,
        "GET http://other.test/p?q=1 HTTP/1.1\r\nHost: echo.test\r\nConnection: close\r\n\r\n",
      );
      assert.match(res, /^HTTP\/1\.1 200/);
      const [seen] = echoedBodies(res);
      assert.ok(seen, res);
      assert.equal(seen.url, "/p?q=1");
      assert.equal(seen.host, "other.test");
      assert.equal(other.seen.length, before + 1);
    });

    it("a head with bare LFs gets 400 at once, not 408 after the header timeout", async () => {
      const t0 = Date.now();
      const res = await raw(port, "GET / HTTP/1.1\nHost: echo.test\n\n", /^HTTP\/1\.1 \d{3}/, 8_000);
      assert.match(res, /^HTTP\/1\.1 400/);
      assert.ok(Date.now() - t0 < 5_000, "answered before the header timeout");
    });

    it("the upstream timeout starts once the request body is sent: a slow upload is not cut with 504", async () => {
      const parts = ["aaaa", "bbbb", "cccc", "dddd"];
      const got = await new Promise<string>((resolve, reject) => {
        const s = net.connect(port, "127.0.0.1");
        let text = "";
        s.on("data", (d) => {
          text += d.toString("latin1");
        });
        s.on("close", () => resolve(text));
        s.on("error", reject);
        s.write(`POST /slow HTTP/1.1\r\nHost: echo.test\r\nConnection: close\r\nContent-Length: 16\r\n\r\n`);
        let i = 0;
        const next = () => {
          if (i >= parts.length) return;
          s.write(parts[i++]!);
          // Spread over more than the upstream timeout.
          setTimeout(next, TIMEOUT_MS / 2);
        };
        next();
      });
      assert.match(got, /^HTTP\/1\.1 200/);
      assert.equal(echoedBodies(got)[0]?.body, parts.join(""));
    });

    for (const path of FAULTS_502) {
      it(`upstream fault ${path}: the client gets 502 and the router keeps serving`, async () => {
        const res = await raw(port, `GET ${path} HTTP/1.1\r\nHost: faults.test\r\nConnection: close\r\n\r\n`);
        assert.match(res, /^HTTP\/1\.1 502/, JSON.stringify(res.slice(0, 200)));
        const ok = await request(router.url, { headers: { host: "echo.test" } });
        assert.equal(ok.status, 200);
      });
    }

    it("an interim 1xx response is followed by the final one", async () => {
      const res = await raw(port, "GET /interim HTTP/1.1\r\nHost: faults.test\r\nConnection: close\r\n\r\n");
      assert.match(res, /HTTP\/1\.1 200[\s\S]*\r\n\r\nok$/);
    });

    it("an upstream closing mid-body closes the client, counts a 502, and the router keeps serving", async () => {
      const errors = router.metrics.snapshot("faults")?.errors ?? 0;
      const res = await raw(port, "GET /truncated HTTP/1.1\r\nHost: faults.test\r\n\r\n");
      assert.match(res, /^HTTP\/1\.1 200[\s\S]*\r\n\r\nabc$/);
      assert.equal(router.metrics.snapshot("faults")?.errors, errors + 1);
      const ok = await request(router.url, { headers: { host: "echo.test" } });
      assert.equal(ok.status, 200);
    });

    it("a mirror that stalls after its response head does not keep its sockets", async () => {
      const baseline = faults.open();
      for (let i = 0; i < 5; i++) {
        const r = await request(`${router.url}/stall-after-head`, { headers: { host: "mirrored.test" } });
        assert.equal(r.status, 200);
      }
      await until(
        () => faults.heads.filter((h) => h.startsWith("GET /stall-after-head")).length >= 5,
        "mirrors",
      );
      await until(() => faults.open() <= baseline, "the stalled mirror sockets to be closed", 5_000);
    });
  });
}
