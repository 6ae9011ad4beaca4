// The router's data path on raw sockets (node:net): parses request and response heads itself (http1.ts),
// forwards bodies as the bytes arrive without re-encoding them, keeps LIFO keep-alive pools per upstream,
// and runs every deadline (slow headers, idle clients, upstream timeouts, idle pooled sockets) from one
// periodic sweep instead of a timer per request. It does about half the work of a node:http proxy per
// request, which is where the throughput comes from.
//
// This file is deliberately one module over the usual size limit: it is the router's single hot path
// (client connection, exchange, upstream connection and pool share state per byte read), and splitting
// it would put a module boundary, and its indirections, inside the per-request loop.

import * as net from "node:net";
import { performance } from "node:perf_hooks";
import {
  type DataPlane,
  isFailure,
  type Logger,
  type Plan,
  type ProxyOptions,
  type Resolver,
  type RouteTable,
  Routing,
  type Upstream,
  type VersionStats,
} from "./dataplane.ts";
import { type Framing, fieldLines, forwardRequestFields, forwardResponseFields } from "./headers.ts";
import {
  BODY_CHUNKED,
  BODY_LENGTH,
  BODY_NONE,
  BODY_UNTIL_CLOSE,
  ChunkedScanner,
  findHeadEnd,
  type HeadError,
  hasBareLineBreak,
  isHeadError,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
} from "./http1.ts";

/** Idle pooled upstream sockets are closed before the usual 5 s server keep-alive timeout. */
const UPSTREAM_IDLE_MS = 4_000;
/** Idle keep-alive client connections are closed after this. */
const CLIENT_KEEPALIVE_MS = 5_000;
const MAX_IDLE_PER_UPSTREAM = 1024;
/** Response bodies up to this size are sent with their head in a single write. */
const SMALL_BODY = 16 * 1024;
/**
 * A client that does not read its responses: once this much is queued for it, its next pipelined
 * request waits (and its socket is not read) until the queue drains. Bounds memory per connection.
 */
const CLIENT_WRITE_HIGH_WATER = 64 * 1024;
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

export class FastProxy implements DataPlane {
  readonly server: net.Server;
  private readonly routing: Routing;
  readonly opts: ProxyOptions;
  readonly metrics: VersionStats;
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
    this.routing = new Routing(table, opts.metrics);
    this.server = net.createServer({ noDelay: true, allowHalfOpen: true }, (sock) => {
      const c = new ClientConn(this, sock);
      this.clients.add(c);
    });
    const shortest = Math.min(opts.headersTimeoutMs, opts.upstreamTimeoutMs, CLIENT_KEEPALIVE_MS);
    this.sweepTimer = setInterval(() => this.sweep(), Math.max(10, Math.min(250, shortest / 4)));
    this.sweepTimer.unref();
  }

  setTable(table: RouteTable): void {
    this.routing.set(table);
  }

  get table(): RouteTable {
    return this.routing.table;
  }

  get currentResolver(): Resolver {
    return this.routing.resolver;
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
          if (hasBareLineBreak(buf)) {
            this.protocolError("bare CR or LF in response head");
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
      off = this.readBody(o, data, off);
      if (off < 0) return;
    }
    o.flushHead();
  }

  /** Body bytes data[off..] of the response in progress: the offset after them, -1 on a framing error. */
  private readBody(o: Exchange, data: Buffer, off: number): number {
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
      return off;
    }
    if (kind === BODY_CHUNKED) {
      const end = this.scanner.scan(data, off, data.length);
      if (end === -2) {
        this.protocolError(`bad chunked body: ${this.scanner.error}`);
        return -1;
      }
      const stop = end === -1 ? data.length : end;
      o.onResponseBody(off === 0 && stop === data.length ? data : data.subarray(off, stop));
      if (end >= 0) {
        if (stop < data.length) this.tainted = true;
        this.complete();
      }
      return stop;
    }
    o.onResponseBody(off === 0 ? data : data.subarray(off));
    return data.length;
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
  /** Its responses are not being read: the next request waits for the write queue to drain. */
  private waitingForDrain = false;
  readonly remoteAddress: string;

  constructor(proxy: FastProxy, sock: net.Socket) {
    this.proxy = proxy;
    this.sock = sock;
    this.remoteAddress = sock.remoteAddress ?? "";
    this.lastActivity = proxy.now;
    sock.on("data", (d: Buffer) => this.onData(d));
    sock.on("drain", () => this.onDrain());
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
      if (this.waitingForDrain) {
        // Not reading what it is sent: an idle client like any other, whatever it has pipelined.
        if (now - this.lastActivity > opts.idleTimeoutMs) this.destroy();
      } else if (this.buf !== null) {
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
      this.keepPipelined(chunk);
      return;
    }
    if (this.phase !== P_HEAD) return;
    if (this.waitingForDrain) {
      this.keepPipelined(chunk);
      return;
    }
    if (this.buf === null) {
      this.buf = chunk;
      this.headSince = this.lastActivity;
    } else this.buf = Buffer.concat([this.buf, chunk]);
    this.pump();
  }

  /** A pipelined request that must wait: keep it (bounded: reading stops beyond two heads' worth). */
  private keepPipelined(chunk: Buffer): void {
    this.buf = this.buf === null ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    if (this.buf.length > this.proxy.opts.maxHeaderSize * 2) {
      this.pausedForPipeline = true;
      this.updatePause();
    }
  }

  private onDrain(): void {
    if (this.ex !== null) this.ex.onClientDrain();
    else if (this.waitingForDrain && this.phase === P_HEAD) {
      this.waitingForDrain = false;
      this.lastActivity = this.proxy.now;
      this.headSince = this.lastActivity;
      this.resumeReading();
    }
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
        if (hasBareLineBreak(buf)) {
          this.fail(400, "bare CR or LF in request head");
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
          // Copy a small tail of a large chunk (not to pin the chunk); a large tail is kept as it is, or
          // every request of a pipelined burst would copy the rest of it again.
          const pins = leftover.byteLength * 2 < leftover.buffer.byteLength;
          const tail = pins ? Buffer.from(leftover) : leftover;
          this.buf = this.buf === null ? tail : Buffer.concat([this.buf, tail]);
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
        `content-length: ${Buffer.byteLength(body, "latin1")}\r\nconnection: close\r\n\r\n${body}`,
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
    if (this.sock.writableLength > CLIENT_WRITE_HIGH_WATER) {
      // The client is not reading its responses: read and start nothing more until they drain
      // (backpressure), so a pipelining client cannot make the router queue unbounded answers.
      this.waitingForDrain = true;
      this.pausedForPipeline = true;
      this.updatePause();
      return;
    }
    this.resumeReading();
  }

  private resumeReading(): void {
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
  /** Bytes of the final response (or of our own answer) were written: no error status is possible now. */
  private wroteToClient = false;
  /** The request was complete but not yet flushed upstream: arm the deadline on drain. */
  private armOnDrain = false;
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
    this.deadline = 0;
    this.lastUpstreamActivity = this.proxy.now;
    up.sock.write(this.headText, "latin1");
    if (this.requestDone) this.armDeadline();
  }

  private get timeoutMs(): number {
    return this.plan!.timeoutMs ?? this.proxy.opts.upstreamTimeoutMs;
  }

  /**
   * Start waiting for the response head: only once the whole request has been handed to the upstream,
   * so a slow upload is never cut short by the response timeout.
   */
  private armDeadline(): void {
    if (this.finished || this.status !== 0 || this.up === null) return;
    // Bytes below the socket's high-water mark are as good as sent; beyond it, wait for the drain.
    if (this.up.sock.writableNeedDrain) {
      this.armOnDrain = true;
      return;
    }
    this.deadline = this.proxy.now + this.timeoutMs;
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
      this.armDeadline();
      if (this.mirrorCopies !== null)
        for (const m of this.mirrorCopies) {
          m.requestDone = true;
          m.armDeadline();
        }
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
    if (this.armOnDrain) {
      this.armOnDrain = false;
      this.armDeadline();
    }
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
    this.armOnDrain = false;
    this.lastUpstreamActivity = this.proxy.now;
    if (this.client === null) {
      // Nobody reads a mirror's answer: a mirror upstream that stalls in it is cut like a silent one.
      this.deadline = this.proxy.now + this.timeoutMs;
      return;
    }
    this.deadline = 0;
    this.responseStarted = true;
    this.closeAfter = !this.req.keepAlive || head.bodyKind === BODY_UNTIL_CLOSE;
    const text = responseHeadText(head, this.closeAfter, this.req.minor, false);
    // Hold the head back until the body bytes of the same read (usually all of them) can go with it
    // in one write; the upstream connection flushes it at the end of the read otherwise.
    if (head.bodyKind === BODY_NONE) {
      this.wroteToClient = true;
      this.client.sock.write(text, "latin1");
    } else this.pendingHead = text;
  }

  onResponseBody(chunk: Buffer): void {
    if (this.client === null) {
      this.deadline = performance.now() + this.timeoutMs;
      return;
    }
    this.wroteToClient = true;
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
    this.wroteToClient = true;
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
    const timedOut = this.deadline === -1;
    // A pooled socket the upstream closed while idle: retry once if nothing can have been consumed.
    if (!responseStarted && !this.responseStarted && up.reused && !this.retried && !timedOut) {
      if (this.req.bodyKind === BODY_NONE) {
        this.retried = true;
        this.send(true);
        return;
      }
    }
    const code = timedOut ? 504 : 502;
    this.finish(code);
    if (this.client === null) return;
    if (this.wroteToClient) {
      // Part of the response is with the client: it cannot get an error status any more.
      this.client.destroy();
      return;
    }
    // Nothing of the upstream's answer left the router (a head held back counts as nothing): say so.
    this.pendingHead = null;
    const message = timedOut
      ? "upstream timeout"
      : this.responseStarted
        ? `bad response from upstream: ${reason}`
        : `upstream unavailable: ${reason}`;
    this.replyError(code, message, !this.requestDone, true);
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
    if (this.wroteToClient) {
      client.destroy();
      return;
    }
    this.responseStarted = true;
    this.wroteToClient = true;
    const body = `${message}\n`;
    const closeConn = close || !this.req.keepAlive || !this.requestDone;
    client.sock.write(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body, "latin1")}\r\n${closeConn ? "connection: close\r\n" : ""}\r\n${body}`,
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

/** The request head sent upstream: the shared header rules applied, our own framing, origin form. */
function requestHeadText(req: RequestHead, plan: Plan, clientAddress: string): string {
  const framing: Framing =
    req.bodyKind === BODY_CHUNKED
      ? "chunked"
      : req.declaredLength >= 0
        ? { length: req.declaredLength }
        : null;
  const fields = forwardRequestFields(
    { fields: req.headers, listed: req.connectionListed, authority: req.host ?? "", clientAddress, framing },
    plan,
  );
  const close = req.minor === 0 ? "connection: close\r\n" : "";
  return `${req.method} ${req.target} HTTP/1.${req.minor}\r\n${fieldLines(fields)}${close}\r\n`;
}

/** How the router frames a response body for the client (never the upstream's own framing fields). */
function responseFraming(res: ResponseHead): Framing {
  switch (res.bodyKind) {
    case BODY_LENGTH:
      return { length: res.contentLength };
    case BODY_CHUNKED:
      return "chunked";
    case BODY_UNTIL_CLOSE:
      return null;
    default:
      // No body follows; a declared length still describes the representation (HEAD, 304).
      return res.declaredLength >= 0 && res.status >= 200 && res.status !== 204
        ? { length: res.declaredLength }
        : null;
  }
}

/** The response head sent to the client: the shared header rules, our own framing and connection. */
function responseHeadText(res: ResponseHead, close: boolean, clientMinor: number, interim: boolean): string {
  const fields = forwardResponseFields(
    res.headers,
    res.connectionListed,
    interim ? null : responseFraming(res),
  );
  let out = `HTTP/1.1 ${res.status} ${res.reason}\r\n${fieldLines(fields)}`;
  if (!interim) {
    if (close) out += "connection: close\r\n";
    else if (clientMinor === 0) out += "connection: keep-alive\r\n";
  }
  return `${out}\r\n`;
}

export type { HeadError };
