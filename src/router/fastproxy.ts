// The router's data path on raw sockets (node:net): parses request and response heads itself (http1.ts),
// forwards bodies as the bytes arrive without re-encoding them, keeps LIFO keep-alive pools per upstream,
// and runs every deadline (slow headers, idle clients, upstream timeouts, idle pooled sockets) from one
// periodic sweep instead of a timer per request. It does about half the work of a node:http proxy per
// request, which is where the throughput comes from.

import * as net from "node:net";
import { performance } from "node:perf_hooks";
import {
  BODY_CHUNKED,
  BODY_LENGTH,
  BODY_NONE,
  BODY_UNTIL_CLOSE,
  ChunkedScanner,
  findHeadEnd,
  type HeadError,
  isHeadError,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
} from "./http1.ts";
import type { MetricsStore } from "./metrics.ts";
import type { Logger, ProxyOptions } from "./proxy.ts";
import { createResolver, isFailure, type Resolver, shadowAuthority } from "./resolve.ts";
import { HOP_BY_HOP_NAMES, type Plan, type RouteTable, type Upstream } from "./routes.ts";

/** Idle pooled upstream sockets are closed before the usual 5 s server keep-alive timeout. */
const UPSTREAM_IDLE_MS = 4_000;
/** Idle keep-alive client connections are closed after this. */
const CLIENT_KEEPALIVE_MS = 5_000;
const MAX_IDLE_PER_UPSTREAM = 1024;
/** Response bodies up to this size are sent with their head in a single write. */
const SMALL_BODY = 16 * 1024;
const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

const P_HEAD = 0;
const P_BUSY = 1;
const P_CLOSED = 2;

export class FastProxy {
  readonly server: net.Server;
  private resolver: Resolver;
  readonly opts: ProxyOptions;
  readonly metrics: MetricsStore;
  readonly random: () => number;
  readonly logger: Logger | undefined;
  private readonly pools = new Map<string, Pool>();
  readonly clients = new Set<ClientConn>();
  readonly mirrors = new Set<Exchange>();
  private readonly sweepTimer: NodeJS.Timeout;
  readonly mirrorScratch: Plan[] = [];
  now = performance.now();

  constructor(table: RouteTable, opts: ProxyOptions) {
    this.opts = opts;
    this.metrics = opts.metrics;
    this.random = opts.random ?? Math.random;
    this.logger = opts.logger;
    this.resolver = createResolver(table);
    for (const v of table.versions) this.metrics.register(v);
    this.server = net.createServer({ noDelay: true, allowHalfOpen: true }, (sock) => {
      const c = new ClientConn(this, sock);
      this.clients.add(c);
    });
    const shortest = Math.min(opts.headersTimeoutMs, opts.upstreamTimeoutMs, CLIENT_KEEPALIVE_MS);
    this.sweepTimer = setInterval(() => this.sweep(), Math.max(10, Math.min(250, shortest / 4)));
    this.sweepTimer.unref();
  }

  setTable(table: RouteTable): void {
    for (const v of table.versions) this.metrics.register(v);
    this.resolver = createResolver(table);
  }

  get table(): RouteTable {
    return this.resolver.table;
  }

  get currentResolver(): Resolver {
    return this.resolver;
  }

  get openConnections(): number {
    return this.clients.size;
  }

  pool(up: Upstream): Pool {
    let p = this.pools.get(up.key);
    if (p === undefined) {
      p = new Pool(this, up);
      this.pools.set(up.key, p);
    }
    return p;
  }

  private sweep(): void {
    const now = performance.now();
    this.now = now;
    for (const c of this.clients) c.sweep(now);
    for (const m of this.mirrors) m.sweep(now);
    for (const p of this.pools.values()) p.sweep(now);
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const c of this.clients) c.closeIfIdle();
      // Exchanges in flight get a moment to finish; then whatever is left is cut.
      setTimeout(() => {
        for (const c of this.clients) c.destroy();
      }, 1_000).unref();
    });
    for (const m of this.mirrors) m.abort();
    for (const p of this.pools.values()) p.destroy();
    this.pools.clear();
  }
}

// ---- upstream connections ---------------------------------------------------------------------------

class Pool {
  readonly idle: UpConn[] = [];
  readonly proxy: FastProxy;
  readonly up: Upstream;
  private readonly all = new Set<UpConn>();
  constructor(proxy: FastProxy, up: Upstream) {
    this.proxy = proxy;
    this.up = up;
  }

  acquire(owner: Exchange, fresh: boolean): UpConn {
    if (!fresh) {
      while (this.idle.length > 0) {
        const c = this.idle.pop()!;
        if (!c.sock.destroyed) {
          c.owner = owner;
          return c;
        }
      }
    }
    const c = new UpConn(this, owner);
    this.all.add(c);
    return c;
  }

  release(c: UpConn): void {
    c.owner = null;
    if (c.sock.destroyed || this.idle.length >= MAX_IDLE_PER_UPSTREAM) {
      c.destroy();
      return;
    }
    c.idleSince = this.proxy.now;
    // It may have been paused for a slow client on the last response; idle sockets must notice a close.
    c.sock.resume();
    this.idle.push(c);
  }

  forget(c: UpConn): void {
    this.all.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
  }

  sweep(now: number): void {
    // Oldest idle sockets are at the front (LIFO reuse takes from the back).
    while (this.idle.length > 0 && now - this.idle[0]!.idleSince > UPSTREAM_IDLE_MS)
      this.idle.shift()!.destroy();
  }

  destroy(): void {
    for (const c of this.all) c.destroy();
    this.all.clear();
    this.idle.length = 0;
  }
}

const U_HEAD = 0;
const U_BODY = 1;

class UpConn {
  readonly sock: net.Socket;
  readonly pool: Pool;
  owner: Exchange | null;
  /** True once a response has completed on this socket (a failure then may be a stale keep-alive). */
  reused = false;
  idleSince = 0;
  private phase = U_HEAD;
  private headBuf: Buffer | null = null;
  private bodyKind = BODY_NONE;
  private remaining = 0;
  private readonly scanner = new ChunkedScanner();
  private res: ResponseHead | null = null;
  /** Bytes after the end of a response: the upstream broke framing, the socket must not be reused. */
  private tainted = false;

  constructor(pool: Pool, owner: Exchange) {
    this.pool = pool;
    this.owner = owner;
    this.sock = net.connect({ host: pool.up.host, port: pool.up.port, noDelay: true });
    this.sock.on("data", (d: Buffer) => this.onData(d));
    this.sock.on("drain", () => this.owner?.onUpstreamDrain());
    this.sock.on("error", (err: NodeJS.ErrnoException) => {
      this.lastError = err.code ?? err.message;
    });
    this.sock.on("end", () => this.sock.end());
    this.sock.on("close", () => this.onClose());
  }
  lastError = "";

  get reusable(): boolean {
    return !this.tainted && this.res !== null && !this.res.close && !this.sock.destroyed;
  }

  destroy(): void {
    this.sock.destroy();
  }

  private onClose(): void {
    this.pool.forget(this);
    const o = this.owner;
    if (o === null) return;
    if (this.phase === U_BODY && this.bodyKind === BODY_UNTIL_CLOSE) {
      this.phase = U_HEAD;
      this.owner = null;
      o.onResponseEnd(this);
      return;
    }
    this.owner = null;
    o.onUpstreamFail(this, this.lastError || "connection closed", this.phase === U_BODY || this.res !== null);
  }

  private onData(chunk: Buffer): void {
    const o = this.owner;
    if (o === null) {
      // Nothing was asked: an idle socket must stay silent.
      this.destroy();
      return;
    }
    let data = chunk;
    let off = 0;
    while (off < data.length) {
      if (this.owner !== o) {
        this.tainted = true;
        this.destroy();
        return;
      }
      if (this.phase === U_HEAD) {
        let buf: Buffer;
        let scanFrom: number;
        if (this.headBuf === null) {
          buf = off === 0 ? data : data.subarray(off);
          scanFrom = 0;
        } else {
          scanFrom = Math.max(0, this.headBuf.length - 3);
          buf = Buffer.concat([this.headBuf, off === 0 ? data : data.subarray(off)]);
        }
        const end = findHeadEnd(buf, scanFrom);
        const limit = o.proxy.opts.maxHeaderSize;
        if (end < 0) {
          if (buf.length > limit) {
            this.protocolError("response head too large");
            return;
          }
          this.headBuf = buf === data ? Buffer.from(buf) : buf;
          return;
        }
        if (end > limit) {
          this.protocolError("response head too large");
          return;
        }
        this.headBuf = null;
        const head = parseResponseHead(buf.toString("latin1", 0, end), o.method);
        if (isHeadError(head)) {
          this.protocolError(head.message);
          return;
        }
        data = buf;
        off = end + 4;
        if (head.status < 200) {
          if (head.status === 101) {
            this.protocolError("upstream switched protocols, which is not supported");
            return;
          }
          o.onInterim(head);
          continue;
        }
        this.res = head;
        this.bodyKind = head.bodyKind;
        this.remaining = head.contentLength;
        if (head.bodyKind === BODY_CHUNKED) this.scanner.reset();
        o.onResponseHead(head);
        if (head.bodyKind === BODY_NONE) {
          if (off < data.length) this.tainted = true;
          this.complete();
          continue;
        }
        this.phase = U_BODY;
        continue;
      }
      // U_BODY
      const kind = this.bodyKind;
      if (kind === BODY_LENGTH) {
        const n = Math.min(this.remaining, data.length - off);
        o.onResponseBody(off === 0 && n === data.length ? data : data.subarray(off, off + n));
        off += n;
        this.remaining -= n;
        if (this.remaining === 0) {
          if (off < data.length) this.tainted = true;
          this.complete();
        }
      } else if (kind === BODY_CHUNKED) {
        const end = this.scanner.scan(data, off, data.length);
        if (end === -2) {
          this.protocolError(`bad chunked body: ${this.scanner.error}`);
          return;
        }
        const stop = end === -1 ? data.length : end;
        o.onResponseBody(off === 0 && stop === data.length ? data : data.subarray(off, stop));
        off = stop;
        if (end >= 0) {
          if (off < data.length) this.tainted = true;
          this.complete();
        }
      } else {
        o.onResponseBody(off === 0 ? data : data.subarray(off));
        off = data.length;
      }
    }
    o.flushHead();
  }

  private complete(): void {
    const o = this.owner!;
    this.phase = U_HEAD;
    this.owner = null;
    this.reused = true;
    o.onResponseEnd(this);
  }

  private protocolError(message: string): void {
    const o = this.owner;
    this.owner = null;
    this.tainted = true;
    this.destroy();
    o?.onUpstreamFail(this, message, this.phase === U_BODY);
  }

  /** Prepare for the next request on this socket. */
  beginRequest(): void {
    this.res = null;
    this.phase = U_HEAD;
    this.headBuf = null;
  }
}

// ---- client connections ------------------------------------------------------------------------------

class ClientConn {
  readonly proxy: FastProxy;
  readonly sock: net.Socket;
  phase = P_HEAD;
  buf: Buffer | null = null;
  ex: Exchange | null = null;
  headSince = 0;
  lastActivity: number;
  private pausedForUpstream = false;
  private pausedForPipeline = false;
  readonly remoteAddress: string;

  constructor(proxy: FastProxy, sock: net.Socket) {
    this.proxy = proxy;
    this.sock = sock;
    this.remoteAddress = sock.remoteAddress ?? "";
    this.lastActivity = proxy.now;
    sock.on("data", (d: Buffer) => this.onData(d));
    sock.on("drain", () => this.ex?.onClientDrain());
    sock.on("error", () => {});
    // A client closing its side gives up on the exchange in flight (as node:http treats it by default).
    sock.on("end", () => this.destroy());
    sock.on("close", () => this.onClose());
  }

  private onClose(): void {
    this.phase = P_CLOSED;
    this.proxy.clients.delete(this);
    const ex = this.ex;
    this.ex = null;
    ex?.clientGone();
  }

  destroy(): void {
    this.phase = P_CLOSED;
    this.sock.destroy();
  }

  closeIfIdle(): void {
    if (this.phase === P_HEAD && this.buf === null) this.destroy();
  }

  sweep(now: number): void {
    this.proxy.now = now;
    const opts = this.proxy.opts;
    if (this.phase === P_HEAD) {
      if (this.buf !== null) {
        if (now - this.headSince > opts.headersTimeoutMs) this.fail(408, "request headers took too long");
      } else if (now - this.lastActivity > CLIENT_KEEPALIVE_MS) this.destroy();
    } else if (this.phase === P_BUSY) {
      this.ex?.sweep(now);
      if (
        this.ex !== null &&
        now - this.lastActivity > opts.idleTimeoutMs &&
        now - this.ex.lastUpstreamActivity > opts.idleTimeoutMs
      ) {
        this.destroy();
      }
    }
  }

  setUpstreamPause(paused: boolean): void {
    this.pausedForUpstream = paused;
    this.updatePause();
  }

  private updatePause(): void {
    if (this.pausedForUpstream || this.pausedForPipeline) this.sock.pause();
    else this.sock.resume();
  }

  private onData(chunk: Buffer): void {
    this.lastActivity = performance.now();
    this.proxy.now = this.lastActivity;
    if (this.phase === P_BUSY) {
      const ex = this.ex!;
      if (!ex.requestDone) {
        const end = ex.feedBody(chunk, 0);
        if (end < 0 || end >= chunk.length) return;
        chunk = chunk.subarray(end);
      }
      // Pipelined request: keep it until this exchange is over (bounded).
      this.buf = this.buf === null ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
      if (this.buf.length > this.proxy.opts.maxHeaderSize * 2) {
        this.pausedForPipeline = true;
        this.updatePause();
      }
      return;
    }
    if (this.phase !== P_HEAD) return;
    if (this.buf === null) {
      this.buf = chunk;
      this.headSince = this.lastActivity;
    } else this.buf = Buffer.concat([this.buf, chunk]);
    this.pump();
  }

  /** Parse and start as many requests as the buffer holds, one exchange at a time. */
  private pump(): void {
    while (this.phase === P_HEAD && this.buf !== null) {
      let buf = this.buf;
      // Tolerate CRLFs between requests (RFC 9112 §2.2).
      let skip = 0;
      while (skip + 1 < buf.length && buf[skip] === 0x0d && buf[skip + 1] === 0x0a) skip += 2;
      if (skip > 0) buf = buf.subarray(skip);
      const end = findHeadEnd(buf, 0);
      const limit = this.proxy.opts.maxHeaderSize;
      if (end < 0) {
        if (buf.length > limit) {
          this.fail(431, "request head too large");
          return;
        }
        this.buf = buf.length === 0 ? null : buf;
        return;
      }
      if (end > limit) {
        this.fail(431, "request head too large");
        return;
      }
      const head = parseRequestHead(buf.toString("latin1", 0, end));
      if (isHeadError(head)) {
        this.fail(head.status, head.message);
        return;
      }
      const rest = buf.length > end + 4 ? buf.subarray(end + 4) : null;
      this.buf = null;
      this.phase = P_BUSY;
      const ex = new Exchange(this.proxy, this, head);
      this.ex = ex;
      ex.start();
      if (rest !== null) {
        let leftover: Buffer | null = rest;
        if (!ex.requestDone && this.phase === P_BUSY) {
          const e = ex.feedBody(rest, 0);
          leftover = e < 0 || e >= rest.length ? null : rest.subarray(e);
        }
        if (leftover !== null) {
          // Copy: the original chunk may be large and we keep only the tail.
          this.buf = this.buf === null ? Buffer.from(leftover) : Buffer.concat([this.buf, leftover]);
        }
      }
      if (this.phase === P_BUSY) return;
      if (this.buf !== null) this.headSince = this.proxy.now;
    }
  }

  /** Answer an error of our own and close the connection. */
  fail(status: number, message: string): void {
    if (this.phase === P_CLOSED) return;
    this.phase = P_CLOSED;
    const body = `${message}\n`;
    this.sock.end(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      "latin1",
    );
    this.sock.destroySoon();
  }

  /** The exchange is over; keep the connection for the next request or close it. */
  exchangeDone(keepOpen: boolean): void {
    this.ex = null;
    if (this.phase === P_CLOSED) return;
    if (!keepOpen) {
      this.phase = P_CLOSED;
      this.sock.end();
      this.sock.destroySoon();
      return;
    }
    this.phase = P_HEAD;
    this.lastActivity = this.proxy.now;
    this.headSince = this.lastActivity;
    this.pausedForUpstream = false;
    if (this.pausedForPipeline) {
      this.pausedForPipeline = false;
      this.updatePause();
    } else if (this.sock.isPaused()) this.updatePause();
    if (this.buf !== null) this.pump();
  }
}

// ---- one request/response exchange (or one mirrored copy) ---------------------------------------------

class Exchange {
  readonly proxy: FastProxy;
  /** null for a mirrored copy. */
  readonly client: ClientConn | null;
  readonly req: RequestHead;
  readonly method: string;
  plan: Plan | null = null;
  t0: number;
  up: UpConn | null = null;
  private reqRemaining = 0;
  private readonly reqScanner: ChunkedScanner | null;
  requestDone: boolean;
  private responseStarted = false;
  private status = 0;
  private closeAfter = false;
  private finished = false;
  private deadline = 0;
  private mirrorCopies: Exchange[] | null = null;
  private headText = "";
  private retried = false;
  private pendingHead: string | null = null;
  lastUpstreamActivity = 0;

  constructor(proxy: FastProxy, client: ClientConn | null, req: RequestHead) {
    this.proxy = proxy;
    this.client = client;
    this.req = req;
    this.method = req.method;
    this.t0 = proxy.now;
    this.requestDone = req.bodyKind === BODY_NONE;
    this.reqRemaining = req.contentLength;
    this.reqScanner = req.bodyKind === BODY_CHUNKED ? new ChunkedScanner() : null;
  }

  /** Resolve the route and send the head upstream (primary exchange). */
  start(): void {
    const proxy = this.proxy;
    this.t0 = performance.now();
    proxy.now = this.t0;
    const mirrors = proxy.mirrorScratch;
    mirrors.length = 0;
    let result: ReturnType<Resolver["resolve"]>;
    try {
      result = proxy.currentResolver.resolve(this, proxy.random, mirrors);
    } catch (err) {
      proxy.logger?.error(`router: resolving ${this.req.target}: ${(err as Error).message}`);
      mirrors.length = 0;
      this.replyError(500, "router error", false);
      return;
    }
    if (isFailure(result)) {
      mirrors.length = 0;
      this.replyError(result.status, result.reason, false);
      return;
    }
    this.plan = result;
    if (mirrors.length > 0) {
      this.mirrorCopies = [];
      for (const m of mirrors) {
        const copy = new Exchange(proxy, null, this.req);
        copy.plan = m;
        copy.t0 = this.t0;
        this.mirrorCopies.push(copy);
      }
      mirrors.length = 0;
    }
    this.headText = requestHeadText(this.req, result, this.client!.remoteAddress);
    this.send(false);
    if (this.mirrorCopies !== null) {
      for (const m of this.mirrorCopies) {
        m.headText = requestHeadText(this.req, m.plan!, this.client!.remoteAddress);
        proxy.mirrors.add(m);
        m.send(false);
      }
    }
  }

  // RequestLike for the resolver, without allocating a view object.
  get url(): string {
    return this.req.target;
  }
  get rawHeaders(): readonly string[] {
    return this.req.headers;
  }

  private send(fresh: boolean): void {
    const plan = this.plan!;
    const up = this.proxy.pool(plan.upstream).acquire(this, fresh);
    up.beginRequest();
    this.up = up;
    this.deadline = this.proxy.now + (plan.timeoutMs ?? this.proxy.opts.upstreamTimeoutMs);
    this.lastUpstreamActivity = this.proxy.now;
    up.sock.write(this.headText, "latin1");
  }

  /** Body bytes from the client; returns the offset just past the body's end, or -1 if all consumed. */
  feedBody(buf: Buffer, off: number): number {
    let end: number;
    if (this.req.bodyKind === BODY_LENGTH) {
      const n = Math.min(this.reqRemaining, buf.length - off);
      this.reqRemaining -= n;
      end = this.reqRemaining === 0 ? off + n : -1;
    } else {
      end = this.reqScanner!.scan(buf, off, buf.length);
      if (end === -2) {
        this.replyError(400, `bad chunked request body: ${this.reqScanner!.error}`, true);
        return -1;
      }
    }
    const stop = end < 0 ? buf.length : end;
    if (stop > off) this.forwardBody(off === 0 && stop === buf.length ? buf : buf.subarray(off, stop));
    if (end >= 0) {
      this.requestDone = true;
      if (this.mirrorCopies !== null) for (const m of this.mirrorCopies) m.requestDone = true;
    }
    return end;
  }

  private forwardBody(chunk: Buffer): void {
    const up = this.up;
    if (up !== null && !up.sock.destroyed && !this.responseFinishedEarly()) {
      if (!up.sock.write(chunk)) this.client?.setUpstreamPause(true);
    }
    if (this.mirrorCopies !== null) {
      const limit = this.proxy.opts.mirrorBufferLimit;
      for (const m of this.mirrorCopies) {
        const s = m.up?.sock;
        if (s === undefined || s.destroyed) continue;
        // Never slow the client down for a mirror: drop the copy if its upstream falls behind.
        if (s.writableLength > limit) m.abort();
        else s.write(chunk);
      }
    }
  }

  private responseFinishedEarly(): boolean {
    return this.finished;
  }

  onUpstreamDrain(): void {
    if (this.client !== null) this.client.setUpstreamPause(false);
  }

  onClientDrain(): void {
    this.up?.sock.resume();
  }

  onInterim(head: ResponseHead): void {
    if (this.client === null) return;
    this.client.sock.write(responseHeadText(head, false, this.req.minor, true), "latin1");
  }

  onResponseHead(head: ResponseHead): void {
    this.status = head.status;
    this.deadline = 0;
    this.lastUpstreamActivity = this.proxy.now;
    if (this.client === null) return;
    this.responseStarted = true;
    this.closeAfter = !this.req.keepAlive || head.bodyKind === BODY_UNTIL_CLOSE;
    const text = responseHeadText(head, this.closeAfter, this.req.minor, false);
    // Hold the head back until the body bytes of the same read (usually all of them) can go with it
    // in one write; the upstream connection flushes it at the end of the read otherwise.
    if (head.bodyKind === BODY_NONE) this.client.sock.write(text, "latin1");
    else this.pendingHead = text;
  }

  onResponseBody(chunk: Buffer): void {
    if (this.client === null) return;
    this.lastUpstreamActivity = performance.now();
    const sock = this.client.sock;
    let ok: boolean;
    const head = this.pendingHead;
    if (head !== null) {
      this.pendingHead = null;
      if (chunk.length <= SMALL_BODY) ok = sock.write(head + chunk.toString("latin1"), "latin1");
      else {
        sock.cork();
        sock.write(head, "latin1");
        ok = sock.write(chunk);
        sock.uncork();
      }
    } else ok = sock.write(chunk);
    if (!ok) this.up?.sock.pause();
  }

  /** Send a held-back response head (end of an upstream read). */
  flushHead(): void {
    const head = this.pendingHead;
    if (head === null) return;
    this.pendingHead = null;
    this.client?.sock.write(head, "latin1");
  }

  onResponseEnd(up: UpConn): void {
    this.flushHead();
    this.up = null;
    if (this.requestDone && up.reusable) up.pool.release(up);
    else up.destroy();
    this.finish(this.status);
    if (this.client !== null) {
      if (!this.requestDone) this.closeAfter = true;
      this.client.exchangeDone(!this.closeAfter);
    }
  }

  onUpstreamFail(up: UpConn, reason: string, responseStarted: boolean): void {
    this.up = null;
    up.destroy();
    if (this.finished) return;
    if (!responseStarted && !this.responseStarted) {
      // A pooled socket the upstream closed while idle: retry once if nothing can have been consumed.
      if (up.reused && !this.retried && this.req.bodyKind === BODY_NONE && this.deadline !== -1) {
        this.retried = true;
        this.send(true);
        return;
      }
      const timedOut = this.deadline === -1;
      this.finish(timedOut ? 504 : 502);
      if (this.client !== null)
        this.replyError(
          timedOut ? 504 : 502,
          timedOut ? "upstream timeout" : `upstream unavailable: ${reason}`,
          !this.requestDone,
          true,
        );
      else this.proxy.mirrors.delete(this);
      return;
    }
    // The response had started: the client cannot get an error status any more.
    this.finish(502);
    if (this.client !== null) this.client.destroy();
  }

  /** Deadline check from the proxy's sweep. */
  sweep(now: number): void {
    if (this.deadline > 0 && now > this.deadline) {
      this.deadline = -1; // marks the failure as a timeout
      this.up?.destroy();
    }
  }

  /** The client went away before the exchange finished. */
  clientGone(): void {
    if (this.finished) return;
    this.finished = true;
    this.deadline = 0;
    if (this.up !== null) {
      this.up.owner = null;
      this.up.destroy();
      this.up = null;
    }
    if (!this.requestDone && this.mirrorCopies !== null) for (const m of this.mirrorCopies) m.abort();
  }

  /** Drop a mirrored copy (slow mirror, client aborted its body, shutdown). */
  abort(): void {
    this.proxy.mirrors.delete(this);
    if (this.finished) return;
    this.finished = true;
    if (this.up !== null) {
      this.up.owner = null;
      this.up.destroy();
      this.up = null;
    }
  }

  private finish(status: number): void {
    if (this.finished) return;
    this.finished = true;
    this.deadline = 0;
    if (this.client === null) this.proxy.mirrors.delete(this);
    if (this.plan !== null) this.proxy.metrics.record(this.plan.version, status, performance.now() - this.t0);
  }

  /** An error status of the router's own; `close` when the request body was not fully read. */
  private replyError(status: number, message: string, close: boolean, recorded = false): void {
    if (!recorded) this.finished = true;
    const client = this.client;
    if (client === null) return;
    if (this.responseStarted) {
      client.destroy();
      return;
    }
    this.responseStarted = true;
    const body = `${message}\n`;
    const closeConn = close || !this.req.keepAlive || !this.requestDone;
    client.sock.write(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n${closeConn ? "connection: close\r\n" : ""}\r\n${body}`,
      "latin1",
    );
    if (this.up !== null) {
      this.up.owner = null;
      this.up.destroy();
      this.up = null;
    }
    client.exchangeDone(!closeConn);
  }
}

/** The request head sent upstream: hop-by-hop headers removed, the plan applied, X-Forwarded-* added. */
function requestHeadText(req: RequestHead, plan: Plan, clientAddress: string): string {
  const h = req.headers;
  const listed = req.connectionListed;
  const touched = plan.touched;
  let out = `${req.method} ${req.target} HTTP/1.${req.minor}\r\n`;
  let xff: string | null = null;
  let xfp = false;
  let xfh = false;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i]!;
    if (HOP_BY_HOP_NAMES.has(name) || name === "host") continue;
    if (listed?.has(name)) continue;
    if (touched.size > 0 && touched.has(name)) continue;
    const value = h[i + 1]!;
    if (name === "x-forwarded-for") {
      xff = xff === null ? value : `${xff}, ${value}`;
      continue;
    }
    if (name === "x-forwarded-proto") xfp = true;
    else if (name === "x-forwarded-host") xfh = true;
    out += `${name}: ${value}\r\n`;
  }
  const host = req.host ?? "";
  let authority = plan.authority ?? host;
  if (plan.shadow) authority = shadowAuthority(authority);
  out += `host: ${authority}\r\nx-forwarded-for: ${xff === null ? clientAddress : `${xff}, ${clientAddress}`}\r\n`;
  if (!xfp) out += "x-forwarded-proto: http\r\n";
  if (!xfh && host !== "") out += `x-forwarded-host: ${host}\r\n`;
  const add = plan.addHeaders;
  for (let i = 0; i < add.length; i += 2) out += `${add[i]}: ${add[i + 1]}\r\n`;
  // The client's framing is hop-by-hop: re-declare chunked framing for the upstream hop.
  if (req.bodyKind === BODY_CHUNKED) out += "transfer-encoding: chunked\r\n";
  if (req.minor === 0) out += "connection: close\r\n";
  return `${out}\r\n`;
}

/** The response head sent to the client: hop-by-hop headers removed, our own framing and connection. */
function responseHeadText(res: ResponseHead, close: boolean, clientMinor: number, interim: boolean): string {
  const h = res.headers;
  const listed = res.connectionListed;
  // A Content-Length beside a Transfer-Encoding is ignored by the upstream's framing and must not
  // reach the client (request smuggling).
  const dropLength = res.bodyKind === BODY_CHUNKED || res.bodyKind === BODY_UNTIL_CLOSE;
  let out = `HTTP/1.1 ${res.status} ${res.reason}\r\n`;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i]!;
    if (HOP_BY_HOP_NAMES.has(name)) continue;
    if (listed?.has(name)) continue;
    if (dropLength && name === "content-length") continue;
    out += `${name}: ${h[i + 1]}\r\n`;
  }
  if (!interim) {
    if (res.bodyKind === BODY_CHUNKED) out += "transfer-encoding: chunked\r\n";
    if (close) out += "connection: close\r\n";
    else if (clientMinor === 0) out += "connection: keep-alive\r\n";
  }
  return `${out}\r\n`;
}

export type { HeadError };
