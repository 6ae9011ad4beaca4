// Proxy correctness: hop-by-hop headers, upstream failures, timeouts, aborts, malformed and slow clients.

import assert from "node:assert/strict";
import * as http from "node:http";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { compileRoutes, type Router, startRouter } from "../../../src/router/index.ts";
import { closedPort, raw, request, startUpstream, type Upstream, until } from "./helpers.ts";

function vs(host: string, dest: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "networking.istio.io/v1beta1",
    kind: "VirtualService",
    metadata: { name: host.replace(/[^a-z0-9]/g, "-"), namespace: "default" },
    spec: { hosts: [host], http: [{ route: [{ destination: { host: dest } }], ...extra }] },
  };
}

for (const engine of ["fast", "node"] as const) {
  describe(`router (${engine} engine): proxying`, () => {
    let echo: Upstream;
    let hang: Upstream;
    let stream: Upstream;
    let upload: Upstream;
    let router: Router;
    let port: number;
    const uploadEvents: string[] = [];
    const releaseStream: Array<() => void> = [];
    let uploadServer: http.Server;
    let big: http.Server;
    const BIG = 8 * 1024 * 1024;

    before(async () => {
      echo = await startUpstream("echo", (req, res, body) => {
        res.writeHead(200, {
          "content-type": "application/json",
          connection: "x-resp-hop",
          "x-resp-hop": "secret",
          "keep-alive": "timeout=5",
          "x-resp-end": "kept",
        });
        res.end(JSON.stringify({ headers: req.headers, rawHeaders: req.rawHeaders, body }));
      });
      hang = await startUpstream("hang", () => {
        /* never answers */
      });
      stream = await startUpstream("stream", (_req, res) => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("first-chunk;");
        releaseStream.push(() => res.end("last-chunk"));
      });
      // An upstream that reports when the request it was reading goes away.
      upload = await startUpstream("upload");
      uploadServer = http.createServer((req) => {
        req.on("data", () => uploadEvents.push("data"));
        req.on("close", () => uploadEvents.push(req.complete ? "complete" : "aborted"));
      });
      await new Promise<void>((r) => uploadServer.listen(0, "127.0.0.1", r));
      const uploadPort = (uploadServer.address() as net.AddressInfo).port;
      // Large responses, tiny ones, and a response framed by both Transfer-Encoding and Content-Length.
      big = http.createServer((req, res) => {
        if (req.url === "/big") {
          res.writeHead(200, { "content-length": BIG });
          res.end(Buffer.alloc(BIG, 98));
        } else if (req.url === "/te") {
          res.socket!.write(
            "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
          );
          res.socket!.destroySoon();
        } else if (req.url === "/nc") {
          res.writeHead(204);
          res.end();
        } else res.end("0123456789");
      });
      await new Promise<void>((r) => big.listen(0, "127.0.0.1", r));
      const bigPort = (big.address() as net.AddressInfo).port;
      const down = await closedPort();
      const table = compileRoutes(
        [
          vs("echo.test", "echo"),
          vs("hang.test", "hang"),
          vs("down.test", "down"),
          vs("stream.test", "stream"),
          vs("upload.test", "upload"),
          vs("slow.test", "hang", { timeout: "150ms" }),
          vs("big.test", "big"),
        ],
        {
          big: `127.0.0.1:${bigPort}`,
          echo: echo.address,
          hang: hang.address,
          down: `127.0.0.1:${down}`,
          stream: stream.address,
          upload: `127.0.0.1:${uploadPort}`,
        },
      );
      router = await startRouter({
        engine,
        listen: { host: "127.0.0.1", port: 0 },
        table,
        upstreamTimeoutMs: 300,
        headersTimeoutMs: 300,
        maxHeaderSize: 4096,
      });
      port = Number(new URL(router.url).port);
    });
    after(async () => {
      for (const r of releaseStream) r();
      await router.close();
      for (const u of [echo, hang, stream, upload]) await u.close();
      big.closeAllConnections();
      big.close();
      uploadServer.closeAllConnections();
      await new Promise<void>((r) => uploadServer.close(() => r()));
    });

    it("strips hop-by-hop request headers, including those named in Connection", async () => {
      const res = await raw(
        port,
        "GET /x HTTP/1.1\r\nHost: echo.test\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=9\r\n" +
          "TE: trailers\r\nProxy-Connection: keep-alive\r\nUpgrade: websocket\r\nX-Forwarded-For: 10.0.0.1\r\nX-Keep: yes\r\n\r\n",
        /\r\n0\r\n\r\n$/,
      );
      assert.match(res, /^HTTP\/1\.1 200/);
      const chunked = res.slice(res.indexOf("\r\n\r\n") + 4);
      const body = JSON.parse(chunked.slice(chunked.indexOf("\r\n") + 2, chunked.lastIndexOf("}") + 1)) as {
        headers: Record<string, string>;
      };
      const h = body.headers;
      for (const gone of ["x-secret", "keep-alive", "te", "proxy-connection", "upgrade"])
        assert.equal(h[gone], undefined, gone);
      assert.equal(h["x-keep"], "yes");
      assert.equal(h["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
      assert.equal(h["x-forwarded-host"], "echo.test");
      // Response hop-by-hop headers do not reach the client.
      const head = res.slice(0, res.indexOf("\r\n\r\n")).toLowerCase();
      assert.ok(!head.includes("x-resp-hop"), head);
      assert.ok(!head.includes("timeout=5"), head);
      assert.ok(head.includes("x-resp-end: kept"), head);
    });

    it("forwards chunked request bodies and keeps the connection alive", async () => {
      const res = await raw(
        port,
        "POST /c HTTP/1.1\r\nHost: echo.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n" +
          "GET /second HTTP/1.1\r\nHost: echo.test\r\nContent-Length: 0\r\n\r\n",
        /\r\n0\r\n\r\n[\s\S]*\r\n0\r\n\r\n$/,
      );
      assert.equal(res.match(/HTTP\/1\.1 200/g)?.length, 2, res);
      assert.match(res, /"body":"hello world"/);
    });

    it("HTTP/1.0 clients, HEAD, 204 and Expect: 100-continue", async () => {
      const v10 = await raw(port, "GET /old HTTP/1.0\r\nHost: echo.test\r\n\r\n");
      assert.match(v10, /^HTTP\/1\.1 200/);
      assert.doesNotMatch(
        v10.toLowerCase(),
        /transfer-encoding/,
        "no chunked framing for an HTTP/1.0 client",
      );
      assert.match(v10, /"host":"echo.test"/);
      const head = await raw(port, "HEAD /h HTTP/1.1\r\nHost: big.test\r\nConnection: close\r\n\r\n");
      assert.match(head, /^HTTP\/1\.1 200/);
      assert.ok(head.endsWith("\r\n\r\n"), "a HEAD response has no body");
      const twoRequests = await raw(
        port,
        "GET /nc HTTP/1.1\r\nHost: big.test\r\n\r\nGET /small HTTP/1.1\r\nHost: big.test\r\nConnection: close\r\n\r\n",
      );
      assert.match(twoRequests, /^HTTP\/1\.1 204[\s\S]*\r\n\r\nHTTP\/1\.1 200[\s\S]*0123456789$/);
      const cont = await new Promise<string>((resolve, reject) => {
        const s = net.connect(port, "127.0.0.1");
        let got = "";
        s.on("data", (d) => {
          got += d.toString();
          if (got.startsWith("HTTP/1.1 100") && !got.includes("200")) s.write("hello");
          if (got.includes("\r\n0\r\n\r\n")) {
            s.destroy();
            resolve(got);
          }
        });
        s.on("error", reject);
        s.write("POST /c HTTP/1.1\r\nHost: echo.test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
      });
      assert.match(cont, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200/);
      assert.match(cont, /"body":"hello"/);
    });

    it("answers 502 when the upstream refuses, 504 when it does not answer in time", async () => {
      const down = await request(router.url, { headers: { host: "down.test" } });
      assert.equal(down.status, 502);
      const t0 = Date.now();
      const slow = await request(router.url, { headers: { host: "hang.test" } });
      assert.equal(slow.status, 504);
      assert.ok(Date.now() - t0 >= 250, "the router waited for the upstream timeout");
      // A route's own timeout wins over the router default.
      const t1 = Date.now();
      const routeTimeout = await request(router.url, { headers: { host: "slow.test" } });
      assert.equal(routeTimeout.status, 504);
      assert.ok(Date.now() - t1 < 290, "route timeout (150ms) applied");
      assert.equal(router.metrics.snapshot("down")!.errors, 1);
      assert.ok(router.metrics.snapshot("hang")!.errors >= 2);
    });

    it("answers 503 when no route matches", async () => {
      const r = await request(router.url, { headers: { host: "unknown.test" } });
      assert.equal(r.status, 503);
    });

    it("streams responses: the client reads the first chunk before the upstream has finished", async () => {
      const got = await new Promise<string>((resolve, reject) => {
        http
          .get(router.url, { headers: { host: "stream.test" } }, (res) => {
            let text = "";
            res.on("data", (d: Buffer) => {
              text += d.toString();
              if (text === "first-chunk;") releaseStream.shift()?.();
            });
            res.on("end", () => resolve(text));
          })
          .on("error", reject);
      });
      assert.equal(got, "first-chunk;last-chunk");
    });

    it("a slow reader of a large response gets all of it, and the pooled upstream socket works afterwards", async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const size = await new Promise<number>((resolve, reject) => {
          http
            .get(router.url + "/big", { headers: { host: "big.test" }, agent }, (res) => {
              let n = 0;
              res.on("data", (d: Buffer) => {
                n += d.length;
                // Read in bursts so the router must pause the upstream for the client.
                res.pause();
                setImmediate(() => res.resume());
              });
              res.on("end", () => resolve(n));
            })
            .on("error", reject);
        });
        assert.equal(size, BIG);
        for (let i = 0; i < 5; i++) {
          const r = await request(router.url + "/small", { headers: { host: "big.test" }, agent });
          assert.equal(r.status, 200);
          assert.equal(r.body.length, 10);
        }
      } finally {
        agent.destroy();
      }
    });

    it("never passes a Content-Length beside the upstream's Transfer-Encoding", async () => {
      const res = await raw(port, "GET /te HTTP/1.1\r\nHost: big.test\r\nConnection: close\r\n\r\n");
      const head = res.slice(0, res.indexOf("\r\n\r\n")).toLowerCase();
      // Either forwarded by its chunked framing alone (fast engine) or refused as 502 (node's strict client).
      if (head.startsWith("http/1.1 502")) return;
      assert.match(head, /^http\/1\.1 200/);
      assert.match(head, /transfer-encoding: chunked/);
      assert.doesNotMatch(head, /content-length/);
      assert.match(res, /\r\n5\r\nhello\r\n0\r\n\r\n$/);
    });

    it("a client aborting mid-body closes the upstream request and leaks no socket", async () => {
      const baseline = router.connections();
      const s = net.connect(port, "127.0.0.1");
      await new Promise<void>((r) => s.once("connect", () => r()));
      s.write("POST /up HTTP/1.1\r\nHost: upload.test\r\nContent-Length: 1000000\r\n\r\n");
      s.write(Buffer.alloc(64 * 1024, 97));
      await until(() => uploadEvents.includes("data"), "the upstream to receive body bytes");
      s.destroy();
      await until(() => uploadEvents.includes("aborted"), "the upstream request to be aborted");
      await until(() => router.connections() === baseline, "the router to close the client socket");
      const ok = await request(router.url, { headers: { host: "echo.test" } });
      assert.equal(ok.status, 200);
    });

    it("random and mutated requests never crash it or leak connections", async () => {
      const baseline = router.connections();
      const valid =
        "POST /x HTTP/1.1\r\nHost: echo.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello";
      const inputs = [
        ...fc.sample(fc.uint8Array({ maxLength: 300 }), 40).map((a) => Buffer.from(a)),
        ...fc
          .sample(
            fc.tuple(
              fc.nat({ max: valid.length }),
              fc.nat({ max: valid.length }),
              fc.string({ maxLength: 8 }),
            ),
            60,
          )
          .map(([a, b, ins]) =>
            Buffer.from(valid.slice(0, Math.min(a, b)) + ins + valid.slice(Math.max(a, b)), "latin1"),
          ),
      ];
      await Promise.all(
        inputs.map(
          (input) =>
            new Promise<void>((resolve) => {
              const s = net.connect(port, "127.0.0.1");
              s.on("error", () => {});
              s.on("close", () => resolve());
              s.on("data", () => {});
              s.end(input);
              // The router answers and closes, or waits for the rest: the client gives up after a while.
              setTimeout(() => s.destroy(), 300);
            }),
        ),
      );
      await until(() => router.connections() === baseline, "every connection to be released");
      const ok = await request(router.url, { headers: { host: "echo.test" } });
      assert.equal(ok.status, 200);
    });

    it("a client giving up while waiting for the response closes the upstream request", async () => {
      const baseline = router.connections();
      const before = hang.seen.length;
      const counted = router.metrics.snapshot("hang")?.count ?? 0;
      const s = net.connect(port, "127.0.0.1");
      s.on("error", () => {});
      s.write("GET /wait HTTP/1.1\r\nHost: hang.test\r\n\r\n");
      await until(() => hang.seen.length > before, "the upstream to get the request");
      s.destroy();
      await until(() => router.connections() === baseline, "the router to release the client");
      assert.equal(
        router.metrics.snapshot("hang")?.count ?? 0,
        counted,
        "an abandoned request is not counted",
      );
    });

    it("malformed requests get 400 (oversized headers 431) and the router keeps serving", async () => {
      const bad = await raw(port, "GARBAGE\r\n\r\n");
      assert.match(bad, /^HTTP\/1\.1 400/);
      const smuggle = await raw(
        port,
        "POST / HTTP/1.1\r\nHost: echo.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      );
      assert.match(smuggle, /^HTTP\/1\.1 400/);
      const big = await raw(port, `GET / HTTP/1.1\r\nHost: echo.test\r\nX-Big: ${"a".repeat(8000)}\r\n\r\n`);
      assert.match(big, /^HTTP\/1\.1 431/);
      const ok = await request(router.url, { headers: { host: "echo.test" } });
      assert.equal(ok.status, 200);
    });

    it("a client that never finishes its headers is disconnected", async () => {
      const baseline = router.connections();
      const s = net.connect(port, "127.0.0.1");
      const closed = new Promise<string>((resolve) => {
        let got = "";
        s.on("data", (d) => {
          got += d.toString();
        });
        s.on("close", () => resolve(got));
        s.on("error", () => {});
      });
      s.write("GET / HTTP/1.1\r\nHost: echo.test\r\n");
      const got = await closed;
      assert.match(got, /^(HTTP\/1\.1 408|)/);
      await until(() => router.connections() === baseline, "the router to release the slow client");
    });
  });
}
