// Real upstream servers and a small HTTP client for the router's integration tests (loopback only).

import * as http from "node:http";
import * as net from "node:net";

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: string;
}

export interface Upstream {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  readonly seen: SeenRequest[];
  /** Requests whose response has been fully written. */
  answered: number;
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

/** An upstream answering `name` (and recording what it saw), or running `handler` instead. */
export async function startUpstream(name: string, handler?: Handler): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const up: Upstream = {
    name,
    port: 0,
    address: "",
    seen,
    answered: 0,
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      });
      res.on("finish", () => up.answered++);
      if (handler) handler(req, res, body);
      else {
        res.writeHead(200, { "content-type": "text/plain", "x-upstream": name });
        res.end(name);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return Object.assign(up, {
    port,
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}

export interface Response {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; agent?: http.Agent } = {},
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: opts.method ?? "GET", headers: opts.headers, agent: opts.agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** Send `total` requests with `concurrency` in flight; returns every response (bounded in count). */
export async function load(
  url: string,
  total: number,
  concurrency: number,
  headers: Record<string, string>,
  onResponse?: (r: Response, i: number) => void,
): Promise<Response[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const out: Response[] = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const r = await request(url, { headers, agent });
      out.push(r);
      onResponse?.(r, i);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return out;
}

/** Raw bytes over a socket: returns everything the server sent until it closed (or `until` matched). */
export function raw(port: number, data: string | Buffer, until?: RegExp, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let got = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`raw: no answer within ${timeoutMs} ms (got ${JSON.stringify(got)})`));
    }, timeoutMs);
    s.on("data", (d) => {
      got += d.toString("latin1");
      if (until?.test(got)) {
        clearTimeout(timer);
        s.destroy();
        resolve(got);
      }
    });
    s.on("close", () => {
      clearTimeout(timer);
      resolve(got);
    });
    s.on("error", () => {});
    s.write(data);
  });
}

/** Wait until `cond` holds, checking on every turn of the event loop (bounded by timeoutMs). */
export async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Binomial tolerance: |observed - n p| <= k sigma. */
export function withinSigma(observed: number, n: number, p: number, k = 5): boolean {
  const sigma = Math.sqrt(n * p * (1 - p));
  return Math.abs(observed - n * p) <= k * sigma;
}

/** A port nobody listens on (bound then released). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface ScriptedUpstream {
  readonly port: number;
  readonly address: string;
  /** Request heads received, in order (text before the blank line). */
  readonly heads: string[];
  /** Client connections currently open to it. */
  open(): number;
  close(): Promise<void>;
}

/**
 * A raw TCP upstream for bodiless requests: for each request head it reads, `answer(path, socket)` writes
 * whatever bytes the test wants (a malformed response, a stall, ...). Keeps the connection unless the
 * script closes it.
 */
export async function startScriptedUpstream(
  answer: (path: string, socket: net.Socket) => void,
): Promise<ScriptedUpstream> {
  const heads: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    let buf = "";
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      for (let end = buf.indexOf("\r\n\r\n"); end >= 0; end = buf.indexOf("\r\n\r\n")) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        heads.push(head);
        answer(head.split(" ")[1] ?? "/", s);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    heads,
    open: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Count of header lines named `name` (case-insensitive) in node's rawHeaders. */
export function headerCount(rawHeaders: readonly string[], name: string): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) n++;
  return n;
}
