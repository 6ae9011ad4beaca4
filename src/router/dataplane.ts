// The data-plane contract: what a proxy engine is given (options, a stats sink per version, the current
// route table with its resolver) and what it offers the router (a server to listen on, atomic table swaps,
// a connection count, close). The engines depend on this module, not on each other nor on how the route
// table is compiled; `engines.ts` is the one place that knows both.

import type { Server } from "node:net";
import { createResolver, type Resolver } from "./resolve.ts";
import type { RouteTable } from "./routes.ts";

export type { RequestLike, Resolver, RouteFailure } from "./resolve.ts";
export { isFailure } from "./resolve.ts";
export type { Plan, RouteTable, Upstream } from "./routes.ts";

/** "fast": raw sockets and the router's own HTTP/1.1 framing; "node": node:http server and client. */
export type ProxyEngine = "fast" | "node";
export const PROXY_ENGINES: readonly ProxyEngine[] = ["fast", "node"];

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Per-version statistics hooks the engines call (MetricsStore implements them). */
export interface VersionStats {
  /** A version the table can route to: reported (with zeros) before its first request. */
  register(version: string): void;
  /** One finished exchange: the status the client got (502/504 for the router's own). */
  record(version: string, status: number, latencyMs: number): void;
}

export interface ProxyOptions {
  readonly metrics: VersionStats;
  /** Longest wait for an upstream's response head once the request is sent, before answering 504. */
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

/** What the router needs from a data plane implementation. */
export interface DataPlane {
  readonly server: Server;
  readonly table: RouteTable;
  readonly openConnections: number;
  setTable(table: RouteTable): void;
  close(): Promise<void>;
}

/**
 * The current route table and its resolver. `set` swaps one reference: a request resolved before it
 * finishes on the old table. Every version of a table is registered with the stats before it serves.
 */
export class Routing {
  private current: Resolver;
  private readonly stats: VersionStats;

  constructor(table: RouteTable, stats: VersionStats) {
    this.stats = stats;
    this.current = this.resolverFor(table);
  }

  get resolver(): Resolver {
    return this.current;
  }

  get table(): RouteTable {
    return this.current.table;
  }

  set(table: RouteTable): void {
    this.current = this.resolverFor(table);
  }

  private resolverFor(table: RouteTable): Resolver {
    for (const v of table.versions) this.stats.register(v);
    return createResolver(table);
  }
}
