// The differential oracle of the router's HTTP/1.1 framing. A case is the raw bytes one client sends.
// Node's strict parser (llhttp, a server reached directly) says which requests those bytes contain; the
// same bytes then go through the router to a logging node:http upstream (strict or insecureHTTPParser).
// The upstream must see a prefix of the reference's requests (same method, target, authority, body):
// never a request the client did not send as such (smuggling), and every request it saw must be
// answered to this client exactly once, in order, in a response stream that parses cleanly.

import assert from "node:assert/strict";
import * as http from "node:http";
import * as net from "node:net";
import { compileRoutes, type ProxyEngine, type Router, startRouter } from "../../../src/router/index.ts";

export interface SeenRequest {
  readonly method: string;
  /** Origin form (an absolute-form target is reduced to its path). */
  readonly url: string;
  /** The authority the request is for: an absolute-form target's, else Host. */
  readonly authority: string;
  body: string;
  complete: boolean;
  answered: boolean;
}

/** Reference errors for which the router deliberately accepts more than llhttp does. */
const BENIGN_REFERENCE_ERRORS = new Set([
  // Identical duplicate Content-Lengths: merged into one (RFC 9112 §6.3 allows either).
  "HPE_UNEXPECTED_CONTENT_LENGTH",
  // Methods outside llhttp's list: any token is a method (RFC 9110 §9.1); the upstream refuses it.
  "HPE_INVALID_METHOD",
]);

function seen(req: http.IncomingMessage): SeenRequest {
  const url = req.url ?? "";
  const m = /^https?:\/\/([^/?#]*)(.*)$/i.exec(url);
  const path = m ? (m[2] === "" ? "/" : m[2]!.startsWith("?") ? `/${m[2]}` : m[2]!) : url;
  return {
    method: req.method ?? "",
    url: path,
    authority: m ? m[1]! : (req.headers.host ?? ""),
    body: "",
    complete: false,
    answered: false,
  };
}

function record(log: SeenRequest[], req: http.IncomingMessage, onEnd: (s: SeenRequest) => void): void {
  const s = seen(req);
  log.push(s);
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    s.body = Buffer.concat(chunks).toString("latin1");
    s.complete = true;
    onEnd(s);
  });
}

/** What node's strict parser finds in `bytes`: the requests, and the error that stopped it (if any). */
export async function referenceParse(
  bytes: Buffer,
): Promise<{ requests: SeenRequest[]; error: string | null }> {
  const requests: SeenRequest[] = [];
  let error: string | null = null;
  const server = http.createServer((req, res) =>
    record(requests, req, () => {
      res.writeHead(200, { "content-length": 2 });
      res.end("ok");
    }),
  );
  server.on("clientError", (err: NodeJS.ErrnoException, socket: net.Socket) => {
    error ??= err.code ?? err.message;
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.on("error", () => {});
    s.on("data", () => {});
    s.on("close", () => resolve());
    s.end(bytes);
  });
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  return { requests, error };
}

export interface Differential {
  readonly router: Router;
  /** Run one case through the router and check the oracle (throws an AssertionError naming the case). */
  check(bytes: Buffer, label: string): Promise<void>;
  close(): Promise<void>;
}

export async function startDifferential(engine: ProxyEngine, insecure: boolean): Promise<Differential> {
  const log: SeenRequest[] = [];
  let lastEvent = Date.now();
  const upstream = http.createServer({ insecureHTTPParser: insecure }, (req, res) => {
    lastEvent = Date.now();
    const seq = log.length;
    record(log, req, (s) => {
      const body = `seq ${seq}`;
      res.writeHead(200, { "x-seq": String(seq), "content-length": body.length });
      res.end(body, () => {
        s.answered = true;
        lastEvent = Date.now();
      });
    });
  });
  upstream.on("clientError", (_err, socket: net.Socket) => socket.destroy());
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  const upPort = (upstream.address() as net.AddressInfo).port;
  const table = compileRoutes(
    [
      {
        apiVersion: "networking.istio.io/v1beta1",
        kind: "VirtualService",
        metadata: { name: "all", namespace: "default" },
        spec: { hosts: ["*"], http: [{ route: [{ destination: { host: "logging" } }] }] },
      },
    ],
    { logging: `127.0.0.1:${upPort}` },
  );
  const router = await startRouter({
    engine,
    listen: { host: "127.0.0.1", port: 0 },
    table,
    upstreamTimeoutMs: 2_000,
    headersTimeoutMs: 2_000,
    maxHeaderSize: 8192,
  });
  const port = Number(new URL(router.url).port);

  async function exchange(bytes: Buffer): Promise<{ out: Buffer; closed: boolean }> {
    return new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      const chunks: Buffer[] = [];
      let closed = false;
      const started = Date.now();
      s.on("error", () => {});
      s.on("data", (d: Buffer) => {
        chunks.push(d);
        lastEvent = Date.now();
      });
      s.on("close", () => {
        closed = true;
      });
      s.write(bytes);
      lastEvent = Date.now();
      // Settled: the router closed the connection, or nothing moved for a while (it waits for more).
      const poll = setInterval(() => {
        const quiet = Date.now() - lastEvent > 150;
        if (closed || quiet || Date.now() - started > 4_000) {
          clearInterval(poll);
          s.destroy();
          resolve({ out: Buffer.concat(chunks), closed });
        }
      }, 20);
    });
  }

  return {
    router,
    async check(bytes, label) {
      const ref = await referenceParse(bytes);
      const base = log.length;
      const { out, closed } = await exchange(bytes);
      const through = log.slice(base);
      const parsed = parseResponses(out, closed);
      const where = `${label}: client sent ${JSON.stringify(bytes.toString("latin1"))}\nrouter answered ${JSON.stringify(out.toString("latin1").slice(0, 2000))}`;
      assert.equal(parsed.error, null, `${where}\nunparsable response stream: ${parsed.error}`);
      // Every request the upstream answered reached this client, once, in order.
      const seqs = parsed.responses.flatMap((r) => (r.seq === null ? [] : [r.seq - base]));
      const answered = through.filter((s) => s.answered).length;
      assert.deepEqual(
        seqs,
        Array.from({ length: seqs.length }, (_, i) => i),
        `${where}\nupstream answers out of order`,
      );
      assert.ok(seqs.length >= answered, `${where}\n${answered - seqs.length} upstream answers were lost`);
      assert.ok(seqs.length <= through.length, `${where}\nanswers for requests the upstream never saw`);
      // The upstream saw only requests the client sent, as the reference parser reads them.
      for (let i = 0; i < through.length; i++) {
        const got = through[i]!;
        const want = ref.requests[i];
        if (want === undefined) {
          assert.ok(
            ref.error !== null && BENIGN_REFERENCE_ERRORS.has(ref.error) && i === ref.requests.length,
            `${where}\nupstream saw request ${i} ${got.method} ${got.url} that the reference parser did not find (${ref.error})\nupstream: ${JSON.stringify(through)}\nreference: ${JSON.stringify(ref.requests)}`,
          );
          break;
        }
        const diff = `${where}\nrequest ${i}: upstream ${JSON.stringify(got)} vs reference ${JSON.stringify(want)}`;
        assert.equal(got.method, want.method, diff);
        assert.equal(got.url, want.url, diff);
        assert.equal(got.authority, want.authority, diff);
        if (got.complete && want.complete) assert.equal(got.body, want.body, diff);
      }
    },
    async close() {
      await router.close();
      upstream.closeAllConnections();
      await new Promise<void>((r) => upstream.close(() => r()));
    },
  };
}

interface ParsedResponse {
  readonly status: number;
  readonly seq: number | null;
}

/** Split the router's output into responses (strictly); an error names what did not parse. */
export function parseResponses(
  buf: Buffer,
  closed: boolean,
): { responses: ParsedResponse[]; error: string | null } {
  const responses: ParsedResponse[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const end = buf.indexOf("\r\n\r\n", pos, "latin1");
    if (end < 0) return { responses, error: `incomplete response head at ${pos}` };
    const lines = buf.toString("latin1", pos, end).split("\r\n");
    const m = /^HTTP\/1\.1 (\d{3}) /.exec(`${lines[0]} `);
    if (!m) return { responses, error: `bad status line ${JSON.stringify(lines[0])}` };
    const status = Number(m[1]);
    const fields = new Map<string, string[]>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) return { responses, error: `bad field ${JSON.stringify(line)}` };
      const name = line.slice(0, colon).toLowerCase();
      fields.set(name, [...(fields.get(name) ?? []), line.slice(colon + 1).trim()]);
    }
    pos = end + 4;
    if (status < 200) continue;
    const seq = fields.get("x-seq")?.[0];
    responses.push({ status, seq: seq === undefined ? null : Number(seq) });
    const te = fields.get("transfer-encoding");
    const cl = fields.get("content-length");
    if (te !== undefined) {
      if (cl !== undefined) return { responses, error: "both Transfer-Encoding and Content-Length" };
      const after = skipChunked(buf, pos);
      if (after < 0) return { responses, error: `bad or incomplete chunked body at ${pos}` };
      pos = after;
    } else if (cl !== undefined) {
      if (cl.length !== 1 || !/^\d+$/.test(cl[0]!)) return { responses, error: `bad Content-Length ${cl}` };
      pos += Number(cl[0]);
      if (pos > buf.length) return { responses, error: "incomplete body" };
    } else if (status !== 204 && status !== 304) {
      if (!closed) return { responses, error: "a body without length on an open connection" };
      pos = buf.length;
    }
  }
  return { responses, error: null };
}

function skipChunked(buf: Buffer, from: number): number {
  let pos = from;
  for (;;) {
    const eol = buf.indexOf("\r\n", pos, "latin1");
    if (eol < 0) return -1;
    const size = Number.parseInt(buf.toString("latin1", pos, eol).split(";")[0]!, 16);
    if (!Number.isFinite(size)) return -1;
    pos = eol + 2;
    if (size === 0) {
      // Trailers, then the blank line.
      for (;;) {
        const e = buf.indexOf("\r\n", pos, "latin1");
        if (e < 0) return -1;
        const empty = e === pos;
        pos = e + 2;
        if (empty) return pos;
      }
    }
    pos += size;
    if (buf.toString("latin1", pos, pos + 2) !== "\r\n") return -1;
    pos += 2;
  }
}
