// The `node` engine: the same data path as fastproxy.ts on node:http's server and client, whose HTTP/1.1
// parser is Node's llhttp in strict mode. It is kept as the reference implementation: the differential
// tests run every case through both engines, so a framing decision of the router's own parser (http1.ts)
// that llhttp would make differently shows up as a disagreement. It shares the route resolution and the
// header rules (headers.ts) with the fast engine; only the I/O differs.

import * as http from "node:http";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import {
  type DataPlane,
  isFailure,
  type Plan,
  type ProxyOptions,
  type RequestLike,
  type RouteTable,
  Routing,
  type Upstream,
} from "./dataplane.ts";
import { connectionTokensOf, type Framing, forwardRequestFields, forwardResponseFields } from "./headers.ts";
import { type HeadError, isHeadError, splitAbsoluteForm } from "./http1.ts";

const NO_MIRRORS: Plan[] = [];
/** Pipelined requests waiting on one connection beyond which the router stops reading it. */
const PIPELINE_QUEUE_LIMIT = 32;
/** Bytes queued for a client beyond which its next pipelined request waits for the queue to drain. */
const CLIENT_WRITE_HIGH_WATER = 64 * 1024;

/**
 * The exchanges of one client connection, served one at a time: node:http parses every pipelined
 * request of a read at once, and forwarding them all would make the router hold every answer for a
 * client that may never read them. The next one starts when the previous response is done and the
 * client's queue is drained; reading stops while requests wait.
 */
class Lane {
  private busy = false;
  private readonly waiting: Array<() => void> = [];
  private readonly sock: Socket;
  private holding = false;
  private closing: string | null = null;
  /** A response ended the connection: nothing read after it is ever served. */
  private ended = false;
  private readonly resumeSocket: () => void;

  constructor(sock: Socket) {
    this.sock = sock;
    // node:http resumes a connection on its own whenever a response is written or a request is read,
    // so a plain pause() would not stop its parser from reading on: while the lane holds the socket,
    // those resumes are ignored (the flood test would show a Node that works otherwise).
    const original = sock.resume;
    this.resumeSocket = () => original.call(sock);
    sock.resume = () => (this.holding ? sock : original.call(sock));
  }

  private pause(): void {
    this.holding = true;
    this.sock.pause();
  }

  private resume(): void {
    this.holding = false;
    this.resumeSocket();
  }

  /** An exchange runs or waits on this connection. */
  get active(): boolean {
    return this.busy || this.waiting.length > 0;
  }

  /** After the exchanges admitted so far: write `answer` (the router's own) and close. */
  endWith(answer: string): void {
    this.closing = answer;
    this.pause();
  }

  private finishClosing(answer: string): void {
    const sock = this.sock;
    if (sock.writable) sock.end(answer);
    sock.destroySoon();
  }

  /** Run `serve` now or after the exchanges before it; `res` closing (finished or not) frees the lane. */
  admit(res: http.ServerResponse, serve: () => void): void {
    let started = false;
    const run = () => {
      started = true;
      this.busy = true;
      serve();
    };
    res.once("close", () => {
      // A response that ends the connection: what was pipelined after it is dropped, never forwarded.
      if (started) this.next(!res.shouldKeepAlive);
    });
    if (this.ended) return;
    if (!this.busy) run();
    else {
      this.waiting.push(run);
      if (this.waiting.length > PIPELINE_QUEUE_LIMIT) this.pause();
    }
  }

  private next(last: boolean): void {
    this.busy = false;
    const sock = this.sock;
    if (last) {
      this.ended = true;
      this.waiting.length = 0;
    }
    if (sock.destroyed || last) return;
    const go = () => {
      if (sock.destroyed || this.busy) return;
      const run = this.waiting.shift();
      if (run === undefined && this.closing !== null) {
        this.finishClosing(this.closing);
        return;
      }
      if (this.closing === null && this.waiting.length <= PIPELINE_QUEUE_LIMIT && sock.isPaused())
        this.resume();
      run?.();
    };
    if (
      this.waiting.length > 0 &&
      (sock.writableNeedDrain || sock.writableLength > CLIENT_WRITE_HIGH_WATER)
    ) {
      this.pause();
      sock.once("drain", go);
    } else go();
  }
}

/** A client request as the router sees it: origin-form target, the effective authority, its framing. */
interface ClientRequest extends RequestLike {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: readonly string[];
  readonly authority: string;
  readonly framing: Framing;
  readonly hasBody: boolean;
  readonly clientAddress: string;
}

export class NodeProxy implements DataPlane {
  readonly server: http.Server;
  private readonly routing: Routing;
  private readonly agents = new Map<string, http.Agent>();
  private readonly opts: ProxyOptions;
  private readonly random: () => number;
  private readonly mirrorScratch: Plan[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly lanes = new WeakMap<Socket, Lane>();

  constructor(table: RouteTable, opts: ProxyOptions) {
    this.opts = opts;
    this.random = opts.random ?? Math.random;
    this.routing = new Routing(table, opts.metrics);
    this.server = http.createServer(
      {
        maxHeaderSize: opts.maxHeaderSize,
        headersTimeout: opts.headersTimeoutMs,
        // Node checks header deadlines on this period (30 s by default): keep it near the deadline.
        connectionsCheckingInterval: Math.max(50, Math.min(1_000, opts.headersTimeoutMs / 2)),
        requestTimeout: 0, // long uploads are fine; idle sockets are closed by the idle timeout instead
        keepAliveTimeout: 5_000,
        noDelay: true,
        // Checked in clientRequest instead: node's own check answers 400 but goes on parsing and
        // emitting the requests pipelined after it, whose answers would then be lost.
        requireHostHeader: false,
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
    this.routing.set(table);
  }

  get table(): RouteTable {
    return this.routing.table;
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
    const lane = this.lanes.get(socket);
    // Bytes after a request that closes the connection: ignored, the answer in flight still goes out.
    if (err.code === "HPE_CLOSED_CONNECTION" && lane?.active) return;
    const code = err.code;
    const status =
      code === "HPE_HEADER_OVERFLOW"
        ? "431 Request Header Fields Too Large"
        : code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? "408 Request Timeout"
          : "400 Bad Request";
    const answer = `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;
    // Requests before a bad one are answered first (the upstream may have run them already); a client
    // that went away (reset, or its end in the middle of a request) is simply let go.
    const badBytes = code?.startsWith("HPE_") === true && code !== "HPE_INVALID_EOF_STATE";
    if (lane?.active && badBytes) lane.endWith(answer);
    else {
      if (socket.writable) socket.end(answer);
      socket.destroy();
    }
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let lane = this.lanes.get(req.socket);
    if (lane === undefined) {
      lane = new Lane(req.socket);
      this.lanes.set(req.socket, lane);
    }
    lane.admit(res, () => this.serve(req, res));
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const start = performance.now();
    const view = clientRequest(req);
    if (isHeadError(view)) {
      res.shouldKeepAlive = false;
      reply(res, view.status, `${view.message}\n`);
      return;
    }
    const mirrors = this.mirrorScratch;
    mirrors.length = 0;
    let plan: ReturnType<Routing["resolver"]["resolve"]>;
    try {
      plan = this.routing.resolver.resolve(view, this.random, mirrors);
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
    this.forward(req, view, res, plan, start, true);
    for (const m of mirrorPlans) this.mirror(req, view, m);
  }

  private upstreamRequest(view: ClientRequest, plan: Plan): http.ClientRequest {
    const up = plan.upstream;
    return http.request({
      host: up.host,
      port: up.port,
      method: view.method,
      path: view.url,
      headers: forwardRequestFields(
        {
          fields: view.rawHeaders,
          listed: connectionTokensOf(view.rawHeaders).listed,
          authority: view.authority,
          clientAddress: view.clientAddress,
          framing: view.framing,
        },
        plan,
      ),
      agent: this.agent(up),
      maxHeaderSize: this.opts.maxHeaderSize,
    });
  }

  private forward(
    req: http.IncomingMessage,
    view: ClientRequest,
    res: http.ServerResponse,
    plan: Plan,
    start: number,
    mayRetry: boolean,
  ): void {
    const preq = this.upstreamRequest(view, plan);
    const exchange = new NodeExchange(res, preq, plan, start, this.opts);
    preq.on("error", (err: NodeJS.ErrnoException) => {
      // A pooled connection the upstream closed while idle: safe to retry a request without a body.
      if (
        mayRetry &&
        exchange.mayRetry() &&
        !view.hasBody &&
        preq.reusedSocket &&
        err.code === "ECONNRESET" &&
        !res.destroyed
      ) {
        exchange.abandon();
        this.forward(req, view, res, plan, start, false);
        return;
      }
      exchange.upstreamError(err);
    });
    if (view.hasBody) {
      req.pipe(preq);
      req.on("aborted", () => preq.destroy());
    } else {
      preq.end();
    }
  }

  /** Fire-and-forget copy of the request; its response is read and discarded. */
  private mirror(req: http.IncomingMessage, view: ClientRequest, plan: Plan): void {
    const metrics = this.opts.metrics;
    const start = performance.now();
    const mreq = this.upstreamRequest(view, plan);
    let recorded = false;
    const record = (code: number) => {
      clearTimeout(timer);
      if (recorded) return;
      recorded = true;
      metrics.record(plan.version, code, performance.now() - start);
    };
    // The deadline runs from the end of the request, then from each piece of the answer: a mirror that
    // stalls anywhere is cut and its socket closed (nobody waits for it).
    const timeoutMs = plan.timeoutMs ?? this.opts.upstreamTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => mreq.destroy(new Error("mirror timeout")), timeoutMs);
    };
    let answered = false;
    mreq.on("finish", () => {
      if (!answered) arm();
    });
    mreq.on("response", (mres) => {
      answered = true;
      arm();
      const code = mres.statusCode ?? 502;
      mres.on("data", arm);
      mres.on("end", () => record(code));
      mres.on("error", () => record(502));
    });
    mreq.on("upgrade", (_res, socket: Socket) => {
      socket.destroy();
      record(502);
    });
    mreq.on("error", (err) => record(err.message === "mirror timeout" ? 504 : 502));
    if (!view.hasBody) {
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

/**
 * One forwarded exchange on node:http. The response head is held back until its first body bytes (or
 * its end), so an upstream whose body turns out malformed before any byte reached the client still
 * gets the client a 502 instead of a silent close.
 */
class NodeExchange {
  private readonly res: http.ServerResponse;
  private readonly preq: http.ClientRequest;
  private readonly plan: Plan;
  private readonly start: number;
  private readonly opts: ProxyOptions;
  private status = 0;
  private done = false;
  private timedOut = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    res: http.ServerResponse,
    preq: http.ClientRequest,
    plan: Plan,
    start: number,
    opts: ProxyOptions,
  ) {
    this.res = res;
    this.preq = preq;
    this.plan = plan;
    this.start = start;
    this.opts = opts;
    // The response deadline starts once the whole request is sent: a slow upload is not a slow upstream.
    preq.on("finish", () => {
      if (this.done || this.status !== 0) return;
      this.timer = setTimeout(() => {
        this.timedOut = true;
        preq.destroy();
      }, plan.timeoutMs ?? opts.upstreamTimeoutMs);
    });
    preq.on("response", (pres) => this.onResponse(pres));
    preq.on("upgrade", (_pres, socket: Socket) => {
      socket.destroy();
      this.fail(502, "upstream switched protocols, which is not supported");
    });
    res.on("finish", () => this.finish(this.status));
    res.on("close", () => {
      if (!res.writableFinished) {
        // Client went away: stop talking to the upstream. Not recorded: nobody got an answer.
        clearTimeout(this.timer);
        this.done = true;
        preq.destroy();
      }
    });
  }

  mayRetry(): boolean {
    return !this.timedOut && this.status === 0 && !this.done;
  }

  /** This attempt is replaced by a retry: forget it without recording anything. */
  abandon(): void {
    clearTimeout(this.timer);
    this.done = true;
  }

  upstreamError(err: NodeJS.ErrnoException): void {
    if (this.timedOut) this.fail(504, "upstream timeout");
    else if (this.status !== 0) this.fail(502, `bad response from upstream: ${err.code ?? err.message}`);
    else this.fail(502, `upstream unavailable: ${err.code ?? err.message}`);
  }

  private onResponse(pres: http.IncomingMessage): void {
    clearTimeout(this.timer);
    const res = this.res;
    const status = pres.statusCode ?? 0;
    this.status = status;
    if (res.destroyed) {
      pres.destroy();
      return;
    }
    pres.on("error", () => this.fail(502, "upstream response aborted"));
    pres.on("aborted", () => this.fail(502, "upstream response aborted"));
    // llhttp reads any three digits; writeHead throws below 100 (which would end the process).
    if (status < 200 || status > 999) {
      pres.destroy();
      this.fail(502, `invalid status code from upstream: ${status}`);
      return;
    }
    const headers = responseFields(pres);
    let headSent = false;
    const sendHead = (): boolean => {
      if (headSent) return true;
      try {
        res.writeHead(status, pres.statusMessage, headers);
      } catch (err) {
        pres.destroy();
        this.fail(502, `bad response from upstream: ${(err as Error).message}`);
        return false;
      }
      headSent = true;
      return true;
    };
    pres.on("data", (chunk: Buffer) => {
      if (this.done || !sendHead()) return;
      if (!res.write(chunk)) pres.pause();
    });
    res.on("drain", () => pres.resume());
    pres.on("end", () => {
      if (!this.done && sendHead()) res.end();
    });
  }

  private finish(code: number): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.opts.metrics.record(this.plan.version, code, performance.now() - this.start);
  }

  /** The router's own answer, or a cut connection when part of the response already left. */
  private fail(code: number, message: string): void {
    if (this.done) return;
    this.finish(code);
    this.preq.destroy();
    if (!this.res.headersSent && !this.res.destroyed) {
      this.res.shouldKeepAlive = false;
      reply(this.res, code, `${message}\n`);
    } else this.res.destroy();
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

/** The client's request with an absolute-form target resolved to origin form and its authority. */
function clientRequest(req: http.IncomingMessage): ClientRequest | HeadError {
  const url = req.url ?? "/";
  let rawHeaders: readonly string[] = req.rawHeaders;
  let authority = req.headers.host ?? "";
  let path = url;
  if (req.httpVersion === "1.1" && req.headers.host === undefined)
    return { error: true, status: 400, message: "missing Host header" };
  const absolute = splitAbsoluteForm(url);
  if (isHeadError(absolute)) return absolute;
  if (absolute !== null) {
    authority = absolute.authority;
    path = absolute.path;
    // The resolver reads the authority from Host: give it the target's own (RFC 9112 §3.2.2).
    const copy = req.rawHeaders.slice();
    const at = copy.findIndex((n, i) => i % 2 === 0 && n.toLowerCase() === "host");
    if (at >= 0) copy[at + 1] = authority;
    else copy.push("host", authority);
    rawHeaders = copy;
  }
  // Node's parser has already refused conflicting or malformed framing; use what it decided.
  const te = req.headers["transfer-encoding"];
  const cl = req.headers["content-length"];
  const framing: Framing = te !== undefined ? "chunked" : cl !== undefined ? { length: Number(cl) } : null;
  return {
    method: req.method ?? "GET",
    url: path,
    rawHeaders,
    authority,
    framing,
    hasBody: te !== undefined || (cl !== undefined && cl !== "0"),
    clientAddress: req.socket.remoteAddress ?? "",
  };
}

/** The upstream's response fields for the client, with the length node's parser read (if any). */
function responseFields(pres: http.IncomingMessage): string[] {
  const status = pres.statusCode ?? 0;
  const cl = pres.headers["content-length"];
  // A chunked (or close-delimited) body is re-framed by node:http for the client.
  const framing: Framing =
    status === 204 || pres.headers["transfer-encoding"] !== undefined || cl === undefined
      ? null
      : { length: Number(cl) };
  return forwardResponseFields(pres.rawHeaders, connectionTokensOf(pres.rawHeaders).listed, framing);
}
