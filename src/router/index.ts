// The local router: starts the data plane (in this process, or in N cluster workers sharing the listen
// socket), the admin endpoint, and exposes atomic route-table swaps and per-version metrics.

import cluster, { type Worker } from "node:cluster";
import type { Server } from "node:http";
import type { AddressInfo, Server as NetServer } from "node:net";
import { createAdminServer } from "./admin.ts";
import { type DataPlane, DEFAULT_PROXY_OPTIONS, type Logger, type ProxyEngine } from "./dataplane.ts";
import { makeDataPlane } from "./engines.ts";
import { type MetricsState, MetricsStore, type RouterMetrics } from "./metrics.ts";
import type { RouteTable } from "./routes.ts";
import type { FromWorker, ToWorker } from "./worker.ts";

export { parseRouterConfig, type RouterConfig, readRouterConfig, singleUpstreamTable } from "./config.ts";
export type { Logger, ProxyEngine } from "./dataplane.ts";
export { PROXY_ENGINES } from "./dataplane.ts";
export type { MetricsState, RouterMetrics, VersionSnapshot } from "./metrics.ts";
export { CODE_CLASSES, LATENCY_BUCKETS_MS, MetricsStore } from "./metrics.ts";
export type { Plan, RouteIssue, RouteTable, Upstream } from "./routes.ts";
export { compileRoutes, isRoutingObject, parseAddress, RouteTableError } from "./routes.ts";

export interface RouterOptions {
  listen: { host: string; port: number };
  admin?: { host: string; port: number };
  table: RouteTable;
  /** 0 or 1: serve in this process; N > 1: N node:cluster workers sharing the listen socket. */
  workers?: number;
  /** "fast" (default): raw-socket data path; "node": node:http server and client (for comparison). */
  engine?: ProxyEngine;
  upstreamTimeoutMs?: number;
  maxHeaderSize?: number;
  headersTimeoutMs?: number;
  idleTimeoutMs?: number;
  logger?: Logger;
}

export interface Router {
  /** http://host:port of the data plane. */
  readonly url: string;
  readonly adminUrl?: string;
  /** Replace the route table atomically; resolves once every process serving traffic uses it. */
  setRoutes(table: RouteTable): Promise<void>;
  readonly metrics: RouterMetrics;
  /** Open client connections in this process (0 when workers serve). */
  connections(): number;
  close(): Promise<void>;
}

export async function startRouter(opts: RouterOptions): Promise<Router> {
  const workers = opts.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new Error(`workers: must be an integer 1..64 (got ${workers})`);
  }
  const proxyOptions = {
    upstreamTimeoutMs: opts.upstreamTimeoutMs ?? DEFAULT_PROXY_OPTIONS.upstreamTimeoutMs,
    maxHeaderSize: opts.maxHeaderSize ?? DEFAULT_PROXY_OPTIONS.maxHeaderSize,
    headersTimeoutMs: opts.headersTimeoutMs ?? DEFAULT_PROXY_OPTIONS.headersTimeoutMs,
    idleTimeoutMs: opts.idleTimeoutMs ?? DEFAULT_PROXY_OPTIONS.idleTimeoutMs,
    mirrorBufferLimit: DEFAULT_PROXY_OPTIONS.mirrorBufferLimit,
  };
  return workers === 1 ? startInProcess(opts, proxyOptions) : startCluster(opts, workers, proxyOptions);
}

async function startInProcess(
  opts: RouterOptions,
  proxyOptions: typeof DEFAULT_PROXY_OPTIONS,
): Promise<Router> {
  const metrics = new MetricsStore();
  const proxy: DataPlane = makeDataPlane(opts.engine ?? "fast", opts.table, {
    ...proxyOptions,
    metrics,
    logger: opts.logger,
  });
  const port = await listen(proxy.server, opts.listen);
  let admin: Server | null = null;
  let adminUrl: string | undefined;
  try {
    if (opts.admin) {
      admin = createAdminServer(metrics, () => proxy.table);
      adminUrl = urlOf(opts.admin.host, await listen(admin, opts.admin));
    }
  } catch (err) {
    await proxy.close();
    throw err;
  }
  return {
    url: urlOf(opts.listen.host, port),
    ...(adminUrl ? { adminUrl } : {}),
    metrics,
    async setRoutes(table) {
      proxy.setTable(table);
    },
    connections: () => proxy.openConnections,
    async close() {
      await Promise.all([proxy.close(), admin ? closeServer(admin) : undefined]);
    },
  };
}

/** Metrics of all workers: each reports its cumulative state on request; the primary sums them. */
class ClusterMetrics extends MetricsStore {
  private readonly states = new Map<number, MetricsState>();
  private readonly gather: () => Promise<Array<[number, MetricsState]>>;
  constructor(gather: () => Promise<Array<[number, MetricsState]>>) {
    super();
    this.gather = gather;
  }
  override async sync(): Promise<void> {
    // Workers that exited keep their last report, so counters never go backwards.
    for (const [id, state] of await this.gather()) this.states.set(id, state);
    this.replaceWithSum(this.states.values());
  }
}

/** The router's cluster workers: forks them, replaces one that dies, and asks them all a question. */
class WorkerPool {
  readonly live = new Set<Worker>();
  table: RouteTable;
  closing = false;
  listenPort: number;
  private seq = 0;
  private readonly waiters = new Map<string, (msg: FromWorker) => void>();
  private readonly opts: RouterOptions;
  private readonly proxyOptions: typeof DEFAULT_PROXY_OPTIONS;

  constructor(opts: RouterOptions, proxyOptions: typeof DEFAULT_PROXY_OPTIONS) {
    this.opts = opts;
    this.proxyOptions = proxyOptions;
    this.table = opts.table;
    this.listenPort = opts.listen.port;
  }

  spawn(): Promise<Worker> {
    return new Promise((resolve, reject) => {
      const w = cluster.fork();
      this.live.add(w);
      w.on("message", (msg: FromWorker) => {
        if (msg.t === "ready") {
          this.listenPort = msg.port;
          resolve(w);
        } else if (msg.t === "fatal") reject(new Error(`router worker: ${msg.message}`));
        else {
          const key = `${w.id}:${msg.seq}`;
          this.waiters.get(key)?.(msg);
          this.waiters.delete(key);
        }
      });
      w.on("exit", (code, signal) => {
        this.exited(w);
        reject(new Error(`router worker exited (code ${code}, signal ${signal})`));
        if (!this.closing) {
          const log = this.opts.logger;
          log?.warn(`router: worker ${w.id} exited (code ${code}, signal ${signal}); starting another`);
          this.spawn().catch((err: Error) => log?.error(`router: could not replace worker: ${err.message}`));
        }
      });
      const init: ToWorker = {
        t: "init",
        source: this.table.source,
        engine: this.opts.engine ?? "fast",
        // Every worker asks for the same address as given (port 0 included): node:cluster then shares
        // one listening handle among them.
        listen: { host: this.opts.listen.host, port: this.opts.listen.port },
        options: this.proxyOptions,
      };
      w.send(init);
    });
  }

  /** Send `make(seq)` to every live worker; resolves with their answers. */
  askAll(make: (seq: number) => ToWorker & { seq: number }): Promise<Array<[number, FromWorker]>> {
    const msg = make(++this.seq);
    return Promise.all(
      [...this.live].map(
        (w) =>
          new Promise<[number, FromWorker]>((resolve) => {
            this.waiters.set(`${w.id}:${msg.seq}`, (reply) => resolve([w.id, reply]));
            w.send(msg);
          }),
      ),
    );
  }

  private exited(w: Worker): void {
    this.live.delete(w);
    for (const [key, fn] of this.waiters) {
      if (key.startsWith(`${w.id}:`)) {
        this.waiters.delete(key);
        fn({ t: "routes-error", seq: -1, message: `worker ${w.id} exited` });
      }
    }
  }
}

async function startCluster(
  opts: RouterOptions,
  count: number,
  proxyOptions: typeof DEFAULT_PROXY_OPTIONS,
): Promise<Router> {
  if (!cluster.isPrimary) throw new Error("startRouter with workers must run in a primary process");
  const exec = new URL(import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js", import.meta.url)
    .pathname;
  cluster.setupPrimary({ exec, args: [], silent: false });
  const pool = new WorkerPool(opts, proxyOptions);
  const metrics = new ClusterMetrics(async () => {
    const out: Array<[number, MetricsState]> = [];
    for (const [id, r] of await pool.askAll((seq) => ({ t: "metrics", seq })))
      if (r.t === "metrics") out.push([id, r.state]);
    return out;
  });
  for (const v of pool.table.versions) metrics.register(v);

  try {
    await pool.spawn();
    await Promise.all(Array.from({ length: count - 1 }, () => pool.spawn()));
  } catch (err) {
    pool.closing = true;
    for (const w of pool.live) w.kill();
    throw err;
  }

  let admin: Server | null = null;
  let adminUrl: string | undefined;
  if (opts.admin) {
    admin = createAdminServer(metrics, () => pool.table);
    adminUrl = urlOf(opts.admin.host, await listen(admin, opts.admin));
  }
  return {
    url: urlOf(opts.listen.host, pool.listenPort),
    ...(adminUrl ? { adminUrl } : {}),
    metrics,
    async setRoutes(next) {
      pool.table = next;
      const replies = await pool.askAll((seq) => ({ t: "routes", seq, source: next.source }));
      const failed = replies.map(([, r]) => r).find((r) => r.t === "routes-error");
      if (failed && failed.t === "routes-error")
        throw new Error(`router worker rejected the routes: ${failed.message}`);
    },
    connections: () => 0,
    async close() {
      pool.closing = true;
      await metrics.sync().catch(() => undefined);
      const exits = [...pool.live].map(
        (w) => new Promise<void>((resolve) => w.once("exit", () => resolve())),
      );
      for (const w of pool.live) w.send({ t: "close" } satisfies ToWorker);
      await Promise.all([...exits, admin ? closeServer(admin) : undefined]);
    },
  };
}

function listen(server: Server | NetServer, addr: { host: string; port: number }): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: addr.host, port: addr.port }, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function urlOf(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
