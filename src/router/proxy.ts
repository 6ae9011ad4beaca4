// The data plane of one process: an HTTP/1.1 reverse proxy on node:http that resolves each request
// against the current route table, forwards it with streamed bodies over keep-alive upstream pools,
// sends fire-and-forget mirror copies, and records per-version metrics.

import * as http from "node:http";
import type { Server, Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { FastProxy } from "./fastproxy.ts";
import type { MetricsStore } from "./metrics.ts";
import { createResolver, isFailure, type Resolver, shadowAuthority } from "./resolve.ts";
import { HOP_BY_HOP_NAMES, type Plan, type RouteTable, type Upstream } from "./routes.ts";

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface ProxyOptions {
  readonly metrics: MetricsStore;
  /** Longest wait for an upstream's response headers before answering 504. */
  readonly upstreamTimeoutMs: number;
  /** Request (and upstream response) header block limit in bytes. */
  readonly maxHeaderSize: number;
  /** Time a client may take to send its request headers. */
  readonly headersTimeoutMs: number;
  /** Idle time after which a client connection is closed. */
  readonly idleTimeoutMs: number;
  /** A mirror copy whose upstream is slower than the client is dropped beyond this many buffered bytes. */
  readonly mirrorBufferLimit: number;
  readonly logger?: Logger | undefined;
  readonly random?: (() => number) | undefined;
}

export const DEFAULT_PROXY_OPTIONS = {
  upstreamTimeoutMs: 30_000,
  maxHeaderSize: 16 * 1024,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 120_000,
  mirrorBufferLimit: 1024 * 1024,
};

const NO_MIRRORS: Plan[] = [];

export type Engine = "fast" | "node";

/** What the router needs from a data plane implementation. */
export interface DataPlane {
  readonly server: Server;
  readonly table: RouteTable;
  readonly openConnections: number;
  setTable(table: RouteTable): void;
  close(): Promise<void>;
}

export function makeDataPlane(engine: Engine, table: RouteTable, opts: ProxyOptions): DataPlane {
  if (engine === "node") return new ProxyServer(table, opts);
  if (engine === "fast") return new FastProxy(table, opts);
  throw new Error(`engine: must be "fast" or "node" (got ${JSON.stringify(engine)})`);
}

export class ProxyServer {
  readonly server: http.Server;
  private resolver: Resolver;
  private readonly agents = new Map<string, http.Agent>();
  private readonly opts: ProxyOptions;
  private readonly random: () => number;
  private readonly mirrorScratch: Plan[] = [];
  private readonly sockets = new Set<Socket>();

  constructor(table: RouteTable, opts: ProxyOptions) {
    this.opts = opts;
    this.random = opts.random ?? Math.random;
    this.resolver = createResolver(table);
    for (const v of table.versions) opts.metrics.register(v);
    this.server = http.createServer(
      {
        maxHeaderSize: opts.maxHeaderSize,
        headersTimeout: opts.headersTimeoutMs,
        // Node checks header deadlines on this period (30 s by default): keep it near the deadline.
        connectionsCheckingInterval: Math.max(50, Math.min(1_000, opts.headersTimeoutMs / 2)),
        requestTimeout: 0, // long uploads are fine; idle sockets are closed by the idle timeout instead
        keepAliveTimeout: 5_000,
        noDelay: true,
      },
      (req, res) => this.handle(req, res),
    );
    this.server.timeout = opts.idleTimeoutMs;
    this.server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.once("close", () => this.sockets.delete(s));
    });
    this.server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) =>
      this.clientError(err, socket),
    );
  }

  /** Swap the route table: requests already resolved finish on the old one, new ones use the new one. */
  setTable(table: RouteTable): void {
    for (const v of table.versions) this.opts.metrics.register(v);
    this.resolver = createResolver(table);
  }

  get table(): RouteTable {
    return this.resolver.table;
  }

  /** Number of open client connections (for leak checks). */
  get openConnections(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      // Give in-flight exchanges a moment, then cut what is left.
      setTimeout(() => {
        for (const s of this.sockets) s.destroy();
      }, 1_000).unref();
    });
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }

  private agent(up: Upstream): http.Agent {
    let a = this.agents.get(up.key);
    if (a === undefined) {
      a = new http.Agent({
        keepAlive: true,
        scheduling: "lifo",
        maxFreeSockets: 1024,
        noDelay: true,
      } as http.AgentOptions);
      this.agents.set(up.key, a);
    }
    return a;
  }

  private clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (socket.writable && (socket as Socket & { _httpMessage?: unknown })._httpMessage == null) {
      const code = err.code;
      const status =
        code === "HPE_HEADER_OVERFLOW"
          ? "431 Request Header Fields Too Large"
          : code === "ERR_HTTP_REQUEST_TIMEOUT"
            ? "408 Request Timeout"
            : "400 Bad Request";
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    socket.destroy();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const start = performance.now();
    const mirrors = this.mirrorScratch;
    mirrors.length = 0;
    let plan: Plan | ReturnType<Resolver["resolve"]>;
    try {
      plan = this.resolver.resolve(req, this.random, mirrors);
    } catch (err) {
      this.opts.logger?.error(`router: resolving ${req.url}: ${(err as Error).message}`);
      mirrors.length = 0;
      reply(res, 500, "router error\n");
      return;
    }
    if (isFailure(plan)) {
      mirrors.length = 0;
      reply(res, plan.status, `${plan.reason}\n`);
      return;
    }
    const mirrorPlans = mirrors.length === 0 ? NO_MIRRORS : mirrors.splice(0);
    const hasBody = requestHasBody(req);
    const headers = outgoingHeaders(req, plan, hasBody);
    this.forward(req, res, plan, headers, hasBody, start, true);
    for (const m of mirrorPlans) this.mirror(req, m, hasBody);
  }

  private forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    plan: Plan,
    headers: string[],
    hasBody: boolean,
    start: number,
    mayRetry: boolean,
  ): void {
    const metrics = this.opts.metrics;
    const up = plan.upstream;
    const preq = http.request({
      host: up.host,
      port: up.port,
      method: req.method,
      path: req.url,
      headers,
      agent: this.agent(up),
      maxHeaderSize: this.opts.maxHeaderSize,
    });
    let status = 0;
    let timedOut = false;
    let done = false;
    const timeoutMs = plan.timeoutMs ?? this.opts.upstreamTimeoutMs;
    const timer = setTimeout(() => {
      timedOut = true;
      preq.destroy();
    }, timeoutMs);

    const finish = (code: number) => {
      if (done) return;
      done = true;
      metrics.record(plan.version, code, performance.now() - start);
    };

    preq.on("response", (pres) => {
      clearTimeout(timer);
      status = pres.statusCode ?? 502;
      if (res.destroyed) {
        pres.destroy();
        return;
      }
      res.writeHead(status, pres.statusMessage, responseHeaders(pres.rawHeaders));
      pres.pipe(res);
      pres.on("error", () => res.destroy());
      pres.on("aborted", () => res.destroy());
    });

    preq.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (done) return;
      if (status !== 0) {
        // The response had started: the client cannot get an error status any more.
        finish(502);
        res.destroy();
        return;
      }
      // A pooled connection the upstream closed while idle: safe to retry a request without a body.
      if (
        mayRetry &&
        !timedOut &&
        !hasBody &&
        preq.reusedSocket &&
        err.code === "ECONNRESET" &&
        !res.destroyed
      ) {
        done = true;
        this.forward(req, res, plan, headers, hasBody, start, false);
        return;
      }
      const code = timedOut ? 504 : 502;
      finish(code);
      if (!res.headersSent && !res.destroyed) {
        reply(
          res,
          code,
          timedOut ? "upstream timeout\n" : `upstream unavailable: ${err.code ?? err.message}\n`,
        );
      } else res.destroy();
    });

    res.on("finish", () => finish(status));
    res.on("close", () => {
      if (!res.writableFinished) {
        // Client went away: stop talking to the upstream. Not recorded: nobody got an answer.
        clearTimeout(timer);
        done = true;
        preq.destroy();
      }
    });

    if (hasBody) {
      req.pipe(preq);
      req.on("aborted", () => preq.destroy());
    } else {
      preq.end();
    }
  }

  /** Fire-and-forget copy of the request; its response is read and discarded. */
  private mirror(req: http.IncomingMessage, plan: Plan, hasBody: boolean): void {
    const metrics = this.opts.metrics;
    const start = performance.now();
    const up = plan.upstream;
    const mreq = http.request({
      host: up.host,
      port: up.port,
      method: req.method,
      path: req.url,
      headers: outgoingHeaders(req, plan, hasBody),
      agent: this.agent(up),
      maxHeaderSize: this.opts.maxHeaderSize,
    });
    let recorded = false;
    const record = (code: number) => {
      if (recorded) return;
      recorded = true;
      metrics.record(plan.version, code, performance.now() - start);
    };
    const timer = setTimeout(
      () => mreq.destroy(new Error("mirror timeout")),
      plan.timeoutMs ?? this.opts.upstreamTimeoutMs,
    );
    mreq.on("response", (mres) => {
      clearTimeout(timer);
      const code = mres.statusCode ?? 502;
      mres.on("end", () => record(code));
      mres.on("error", () => record(0));
      mres.resume();
    });
    mreq.on("error", (err) => {
      clearTimeout(timer);
      record(err.message === "mirror timeout" ? 504 : 502);
    });
    if (!hasBody) {
      mreq.end();
      return;
    }
    // Copy the body as it arrives without ever pausing the client for the mirror.
    const limit = this.opts.mirrorBufferLimit;
    req.on("data", (chunk: Buffer) => {
      if (mreq.destroyed) return;
      if (mreq.writableLength > limit) mreq.destroy(new Error("mirror too slow"));
      else mreq.write(chunk);
    });
    req.on("end", () => mreq.end());
    req.on("aborted", () => mreq.destroy(new Error("client aborted")));
  }
}

function reply(res: http.ServerResponse, status: number, body: string): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

function requestHasBody(req: http.IncomingMessage): boolean {
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === 14 && n.toLowerCase() === "content-length") return raw[i + 1] !== "0";
    if (n.length === 17 && n.toLowerCase() === "transfer-encoding") return true;
  }
  return false;
}

/** Connection-specific header names listed in the Connection header (besides the standard ones). */
function connectionListed(value: string, into: Set<string> | null): Set<string> | null {
  for (const token of value.split(",")) {
    const t = token.trim().toLowerCase();
    if (t === "" || t === "close" || t === "keep-alive") continue;
    into ??= new Set();
    into.add(t);
  }
  return into;
}

/** The client's headers minus hop-by-hop ones, with the plan's operations and X-Forwarded-* applied. */
function outgoingHeaders(req: http.IncomingMessage, plan: Plan, hasBody: boolean): string[] {
  const raw = req.rawHeaders;
  let listed: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === 10 && n.toLowerCase() === "connection") listed = connectionListed(raw[i + 1]!, listed);
  }
  const out: string[] = [];
  let host = "";
  let xff: string | null = null;
  let xfp = false;
  let xfh = false;
  let chunked = false;
  const touched = plan.touched;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    const value = raw[i + 1]!;
    if (HOP_BY_HOP_NAMES.has(lower)) {
      if (lower === "transfer-encoding") chunked = true;
      continue;
    }
    if (listed?.has(lower)) continue;
    if (lower === "host") {
      if (host === "") host = value;
      continue;
    }
    if (touched.size > 0 && touched.has(lower)) continue;
    if (lower === "x-forwarded-for") {
      xff = xff === null ? value : `${xff}, ${value}`;
      continue;
    }
    if (lower === "x-forwarded-proto") xfp = true;
    else if (lower === "x-forwarded-host") xfh = true;
    out.push(name, value);
  }
  let authority = plan.authority ?? host;
  if (plan.shadow) authority = shadowAuthority(authority);
  out.push("host", authority);
  const client = req.socket.remoteAddress ?? "";
  out.push("x-forwarded-for", xff === null ? client : `${xff}, ${client}`);
  if (!xfp) out.push("x-forwarded-proto", "http");
  if (!xfh && host !== "") out.push("x-forwarded-host", host);
  const add = plan.addHeaders;
  for (let i = 0; i < add.length; i++) out.push(add[i]!);
  // The client's framing is hop-by-hop; re-declare chunked framing for the upstream hop.
  if (chunked && hasBody) out.push("transfer-encoding", "chunked");
  return out;
}

/** The upstream's response headers minus hop-by-hop ones (Node re-frames the body for the client). */
function responseHeaders(raw: string[]): string[] {
  let listed: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === 10 && n.toLowerCase() === "connection") listed = connectionListed(raw[i + 1]!, listed);
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP_NAMES.has(lower) || listed?.has(lower)) continue;
    out.push(name, raw[i + 1]!);
  }
  return out;
}
