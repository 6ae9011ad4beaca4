// A small REST client for the Kubernetes API. `@kubernetes/client-node` loads the kubeconfig (files,
// contexts, in-cluster service account, impersonation) and supplies the TLS and auth options, in a
// child process (resolveConnection in kubeconfig.ts) or from a KubeConfig a test built; the
// requests themselves go through node:https so that every call states its content type (JSON Patch,
// merge patch), error bodies are parsed into a reason, and watches are plain line-delimited streams
// we can restart ourselves.

import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent, request } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import type { KubeConfig } from "@kubernetes/client-node";
import { TokenBucket } from "./ratelimit.ts";

export const JSON_PATCH = "application/json-patch+json";
export const MERGE_PATCH = "application/merge-patch+json";

/** A non-2xx answer from the API server, with the `Status` object's reason and message. */
export class KubeApiError extends Error {
  override readonly name = "KubeApiError";
  readonly status: number;
  /** `NotFound`, `Conflict`, `Forbidden`, `Expired`, `Invalid`, ... (empty if the body had none). */
  readonly reason: string;
  readonly body: string;

  constructor(method: string, path: string, status: number, body: string) {
    let reason = "";
    let message = body.slice(0, 500);
    try {
      const parsed = JSON.parse(body) as { reason?: string; message?: string };
      reason = parsed.reason ?? "";
      message = parsed.message ?? message;
    } catch {
      // not a Status object: keep the raw text
    }
    super(`${method} ${path}: HTTP ${status}${reason ? ` ${reason}` : ""}: ${message}`);
    this.status = status;
    this.reason = reason;
    this.body = body;
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404;
}
export function isConflictError(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409;
}
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409 && err.reason === "AlreadyExists";
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Not held back by the rate limit (Lease renewals must not wait behind a queue of writes). */
  unthrottled?: boolean;
  /**
   * Sent on a connection of its own, outside the pool, as watches are: a relist of every
   * experiment must not wait behind a thousand queued writes (with HTTP/2 it would be one more stream).
   */
  ownConnection?: boolean;
}

export interface WatchEvent<T = Record<string, unknown>> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

/** One finished request, for metrics: the verb and resource as the API server names them. */
export interface RequestRecord {
  verb: string;
  resource: string;
  /** HTTP status, or 0 when no answer came. */
  code: number;
  seconds: number;
}

/** The server closed a reused connection before answering (sent again once, on a new one). */
class StaleConnectionError extends Error {
  constructor(cause: Error) {
    super(cause.message, { cause });
  }
}

export interface ClientLimits {
  /** Requests per second after the burst (token bucket); 0 or absent: no limit. */
  qps?: number;
  burst?: number;
  /** Sockets for requests (watches have their own); default 16. */
  maxSockets?: number;
  onRequest?: (r: RequestRecord) => void;
  /** Called when a request is sent again because its kept-alive connection was closed under it. */
  onStaleConnection?: () => void;
  /** Called when a request is sent again after a 429 Too Many Requests. */
  onTooManyRequests?: () => void;
}

/** How often a request answered 429 is sent again (client-go's default). */
export const MAX_TOO_MANY_RETRIES = 10;

/** The wait a 429 asks for: its Retry-After in seconds (1 s when absent), at most 10 s. */
export function retryAfterMs(headers: Record<string, string | string[] | undefined>): number {
  const raw = headers["retry-after"];
  const seconds = Number(Array.isArray(raw) ? raw[0] : raw);
  if (raw === undefined || !Number.isFinite(seconds) || seconds < 0) return 1000;
  return Math.min(seconds, 10) * 1000;
}

/**
 * `get`/`list`/`watch`/`create`/`update`/`patch`/`delete` and the resource (with `/subresource`)
 * of a request path, as in the API server's `apiserver_request_total`.
 */
export function describeRequest(
  method: string,
  path: string,
  watch = false,
): { verb: string; resource: string } {
  const parts = path.split("?")[0]!.split("/").filter(Boolean);
  // /api/v1/... or /apis/group/version/...
  let rest = parts[0] === "api" ? parts.slice(2) : parts.slice(3);
  if (rest[0] === "namespaces" && rest.length >= 3) rest = rest.slice(2);
  const resource = rest[0] ?? "";
  const named = rest.length >= 2;
  const sub = rest.length >= 3 ? `/${rest[2]}` : "";
  const m = method.toUpperCase();
  const verb = watch
    ? "watch"
    : m === "GET"
      ? named
        ? "get"
        : "list"
      : (({ POST: "create", PUT: "update", PATCH: "patch", DELETE: "delete" } as Record<string, string>)[m] ??
        m.toLowerCase());
  return { verb, resource: `${resource}${sub}` };
}

interface Connection {
  server: URL;
  options: Record<string, unknown>;
  headers: Record<string, string>;
}

/** What a client needs to reach the API server, resolved from a kubeconfig (plain JSON data). */
export interface ClusterConnection {
  server: string;
  /** The kubeconfig context it came from. */
  context: string;
  /** That context's namespace (`default` when it names none). */
  namespace: string;
  /** node:tls options: `ca`, `cert`, `key` (PEM), `rejectUnauthorized`, ... */
  tls: Record<string, string | boolean>;
  /** Authorization and impersonation headers. */
  headers: Record<string, string>;
}

/** The server, context and namespace of a kubeconfig's current context. */
export function kubeconfigTarget(
  kc: KubeConfig,
): Pick<ClusterConnection, "server" | "context" | "namespace"> {
  const context = kc.getCurrentContext();
  return {
    server: kc.getCurrentCluster()?.server ?? "",
    context,
    namespace: kc.getContextObject(context)?.namespace || "default",
  };
}

/** A KubeConfig's connection, by the resolver's own code (loaded only when a test passes one). */
async function connectionFrom(kc: KubeConfig): Promise<ClusterConnection> {
  const { connectionOf } = await import("./kubeconfig-load.ts");
  return connectionOf(kc);
}

function toConnection(c: ClusterConnection): Connection {
  return { server: new URL(c.server), options: { ...c.tls }, headers: { ...c.headers } };
}

export class KubeClient {
  /** The kubeconfig the client was made from, when it was given one (tests); else undefined. */
  readonly kc: KubeConfig | undefined;
  readonly server: string;
  readonly contextName: string;
  /** The namespace of the current kubeconfig context (default `default`). */
  readonly contextNamespace: string;
  readonly #connection: Promise<Connection>;
  #agent: Agent | HttpAgent | undefined;
  /** Watches hold their connection for minutes: they get their own sockets, outside the pool. */
  #watchAgent: Agent | HttpAgent | undefined;
  readonly #limits: ClientLimits;
  readonly #bucket: TokenBucket;

  /** From a resolved connection (see resolveConnection), or from a loaded kubeconfig (tests). */
  constructor(source: ClusterConnection | KubeConfig, limits: ClientLimits = {}) {
    this.#limits = limits;
    this.#bucket = new TokenBucket(limits.qps ?? 0, limits.burst ?? Math.max(1, 2 * (limits.qps ?? 0)));
    const fromKubeconfig = "applyToHTTPSOptions" in source;
    this.kc = fromKubeconfig ? source : undefined;
    const target = fromKubeconfig ? kubeconfigTarget(source) : source;
    this.server = target.server;
    this.contextName = target.context;
    this.contextNamespace = target.namespace;
    // Resolved on first use, so that a bad server URL or kubeconfig surfaces on the first request.
    this.#connection = (fromKubeconfig ? connectionFrom(source) : Promise.resolve(source)).then(toConnection);
    this.#connection.catch(() => {});
  }

  /** Requests waiting for the rate limit. */
  get throttled(): number {
    return this.#bucket.waiting;
  }

  #agentFor(conn: Connection, watch: boolean): Agent | HttpAgent {
    const make = (maxSockets: number) =>
      conn.server.protocol === "http:"
        ? new HttpAgent({ keepAlive: true, maxSockets })
        : new Agent({ ...(conn.options as object), keepAlive: true, maxSockets });
    if (watch) {
      this.#watchAgent ??= make(Number.POSITIVE_INFINITY);
      return this.#watchAgent;
    }
    this.#agent ??= make(this.#limits.maxSockets ?? 16);
    return this.#agent;
  }

  async #open(
    method: string,
    path: string,
    opts: RequestOptions,
    watch = false,
  ): Promise<import("node:http").IncomingMessage> {
    const conn = await this.#connection;
    if (!watch && !opts.unthrottled) await this.#bucket.take();
    try {
      return await this.#send(conn, method, path, opts, watch);
    } catch (err) {
      // A kept-alive connection the server closed just as the request went out on it: nothing
      // reached the server, so sending once more on a fresh connection is safe.
      if (!(err instanceof StaleConnectionError)) throw err;
      this.#limits.onStaleConnection?.();
      return this.#send(conn, method, path, opts, watch, true);
    }
  }

  #send(
    conn: Connection,
    method: string,
    path: string,
    opts: RequestOptions,
    watch: boolean,
    retried = false,
  ): Promise<import("node:http").IncomingMessage> {
    const accept = "application/json";
    const url = new URL(path, conn.server);
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string | number> = { ...conn.headers, accept };
    if (payload !== undefined) {
      headers["content-type"] = opts.contentType ?? "application/json";
      headers["content-length"] = Buffer.byteLength(payload);
    }
    const send = url.protocol === "http:" ? httpRequest : request;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          ...(url.protocol === "http:" ? {} : conn.options),
          method,
          agent: this.#agentFor(conn, watch),
          headers,
          ...(opts.signal ? { signal: opts.signal } : {}),
        },
        resolve,
      );
      if (opts.timeoutMs) {
        req.setTimeout(opts.timeoutMs, () =>
          req.destroy(new Error(`${method} ${url.pathname}: no response in ${opts.timeoutMs} ms`)),
        );
      }
      req.on("error", (err: NodeJS.ErrnoException) => {
        const stale = !retried && req.reusedSocket && err.code === "ECONNRESET" && !opts.signal?.aborted;
        reject(stale ? new StaleConnectionError(err) : err);
      });
      req.end(payload);
    });
  }

  /**
   * One request; resolves with the parsed JSON body, rejects with KubeApiError on non-2xx. A 429
   * (the API server's priority and fairness shedding load before it handled the request) is sent
   * again after the Retry-After it names, as client-go does, up to MAX_TOO_MANY_RETRIES times.
   */
  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const { status, text, headers } = await this.#exchange(method, path, opts);
      if (status === 429 && attempt < MAX_TOO_MANY_RETRIES && !opts.signal?.aborted) {
        this.#limits.onTooManyRequests?.();
        await sleep(retryAfterMs(headers), undefined, opts.signal ? { signal: opts.signal } : {});
        continue;
      }
      if (status < 200 || status >= 300) throw new KubeApiError(method, path, status, text);
      return (text ? JSON.parse(text) : {}) as T;
    }
  }

  async #exchange(
    method: string,
    path: string,
    opts: RequestOptions,
  ): Promise<{ status: number; text: string; headers: import("node:http").IncomingHttpHeaders }> {
    const started = performance.now();
    let status = 0;
    try {
      const res = await this.#open(method, path, { timeoutMs: 30_000, ...opts }, opts.ownConnection === true);
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      status = res.statusCode ?? 0;
      return { status, text: Buffer.concat(chunks).toString("utf8"), headers: res.headers };
    } finally {
      this.#record(method, path, false, status, started);
    }
  }

  get<T = Record<string, unknown>>(path: string, opts: RequestOptions = {}): Promise<T> {
    return this.request<T>("GET", path, opts);
  }

  /**
   * A watch stream: calls `onEvent` for each event until the server closes the stream, the signal
   * aborts, or an error happens. Resolves when the stream ends (the caller restarts it), rejects on
   * transport errors and on an `ERROR` event (410 Gone arrives as one, with a Status object).
   */
  async watch<T = Record<string, unknown>>(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (ev: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const started = performance.now();
    let res: import("node:http").IncomingMessage;
    try {
      res = await this.#open("GET", path, { query: { ...query, watch: true }, signal }, true);
    } catch (err) {
      this.#record("GET", path, true, 0, started);
      throw err;
    }
    const status = res.statusCode ?? 0;
    this.#record("GET", path, true, status, started);
    if (status < 200 || status >= 300) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw new KubeApiError("WATCH", path, status, Buffer.concat(chunks).toString("utf8"));
    }
    // The server ends the watch after timeoutSeconds; a connection that dies silently (no FIN, no
    // RST) would never end, so the client gives up a little after that on its own.
    const limit = Number(query["timeoutSeconds"]);
    const guard = Number.isFinite(limit)
      ? setTimeout(
          () => res.destroy(new Error(`watch ${path}: no end after ${limit + 30} s`)),
          (limit + 30) * 1000,
        )
      : undefined;
    let buffer = "";
    try {
      for await (const chunk of res) {
        buffer += (chunk as Buffer).toString("utf8");
        let nl = buffer.indexOf("\n");
        while (nl >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          nl = buffer.indexOf("\n");
          if (!line) continue;
          const ev = JSON.parse(line) as WatchEvent<T>;
          if (ev.type === "ERROR") {
            const st = ev.object as unknown as { code?: number; reason?: string; message?: string };
            throw new KubeApiError("WATCH", path, st.code ?? 500, JSON.stringify(st));
          }
          onEvent(ev);
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    } finally {
      if (guard) clearTimeout(guard);
    }
  }

  #record(method: string, path: string, watch: boolean, code: number, started: number): void {
    const hook = this.#limits.onRequest;
    if (!hook) return;
    hook({ ...describeRequest(method, path, watch), code, seconds: (performance.now() - started) / 1000 });
  }

  close(): void {
    this.#agent?.destroy();
    this.#agent = undefined;
    this.#watchAgent?.destroy();
    this.#watchAgent = undefined;
  }
}

/** `/apis/group/version` or `/api/v1` for an apiVersion. */
export function apiBase(apiVersion: string): string {
  return apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** The URL path of a (namespaced or cluster-scoped) resource collection or object. */
export function resourcePath(
  apiVersion: string,
  plural: string,
  namespace: string | undefined,
  name?: string,
  subresource?: string,
): string {
  let p = apiBase(apiVersion);
  if (namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${plural}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}
