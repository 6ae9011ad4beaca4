// `iter8 dashboard`: a read-only web view of the experiments of one feed (local state directory or
// cluster). Pages are the report pages plus a live connection: every change the feed sees is pushed
// to the open pages as server-sent events. It answers GET and HEAD only; anything it does not
// serve is a 4xx, never a crash. A token, when set, is required on every request.

import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { namespaceOf } from "../api/refs.ts";
import type { Experiment } from "../api/types.ts";
import { renderHtml } from "../report/html.ts";
import { reportModel } from "../report/model.ts";
import { outcomeSection } from "../report/outcome.ts";
import { describeText } from "../report/render.ts";
import type { ExperimentFeed } from "./feed.ts";
import { experimentRow, renderListPage } from "./list-page.ts";

export interface DashboardOptions {
  feed: ExperimentFeed;
  /** Required on every request when set (`Authorization: Bearer`, `?token=`, or the cookie it sets). */
  token?: string;
  /** Most event streams open at once; more are refused with 503. Default 200. */
  maxStreams?: number;
  now?: () => Date;
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const COOKIE = "iter8_dashboard_token";
const HEARTBEAT_MS = 15_000;
const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  // Everything a page needs is inlined; it may only talk back to this server (its event stream).
  "content-security-policy":
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'",
};

type Route =
  | { page: "list" }
  | { page: "list-events" }
  | { page: "list-json" }
  | { page: "experiment" | "experiment-events" | "experiment-json"; namespace: string; name: string };

export class DashboardServer {
  readonly #opts: DashboardOptions;
  readonly #server: Server;
  readonly #streams = new Set<ServerResponse>();

  constructor(opts: DashboardOptions) {
    this.#opts = opts;
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.requestTimeout = 30_000;
    this.#server.headersTimeout = 10_000;
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => {
        this.#server.off("error", reject);
        const addr = this.#server.address();
        resolve({ host, port: typeof addr === "object" && addr ? addr.port : port });
      });
    });
  }

  async close(): Promise<void> {
    for (const s of this.#streams) s.end();
    this.#streams.clear();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      this.#serve(req, res);
    } catch (err) {
      // Whatever went wrong answers this request only; the server keeps serving the others.
      if (!res.headersSent) send(res, 500, "text/plain", `internal error: ${(err as Error).message}\n`);
      else res.destroy();
    }
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    const reply = this.#reply(req, res);
    if (reply) send(res, reply.status, reply.type, reply.body);
  }

  /** The answer to a request, or undefined when it became an event stream. */
  #reply(req: IncomingMessage, res: ServerResponse): Reply | undefined {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      return text(405, "the dashboard is read-only: use GET");
    }
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://dashboard.invalid");
    } catch {
      return text(400, "bad request target");
    }
    if (!this.#authorised(req, url, res)) return text(401, "a valid token is required");
    const route = routeOf(url.pathname);
    if ("error" in route) return text(route.status, route.error);
    return this.#answer(route, req, res);
  }

  #answer(route: Route, req: IncomingMessage, res: ServerResponse): Reply | undefined {
    const feed = this.#opts.feed;
    if (route.page === "list") return html(renderListPage(this.#rows(), "/events"));
    if (route.page === "list-json") return json(this.#rows());
    if (route.page === "list-events") {
      return this.#stream(
        req,
        res,
        "list",
        () => true,
        () => this.#rows(),
      );
    }
    const exp = feed.get(route.namespace, route.name);
    if (!exp) return text(404, `experiment ${route.namespace}/${route.name} not found`);
    const id = `/experiments/${encodeURIComponent(route.namespace)}/${encodeURIComponent(route.name)}`;
    if (route.page === "experiment-json") return json(this.#model(exp));
    if (route.page === "experiment") {
      return html(renderHtml(this.#model(exp), { eventsUrl: `/events${id}`, backLink: "/" }));
    }
    const same = (e: Experiment) => e.metadata.name === route.name && namespaceOf(e) === route.namespace;
    return this.#stream(req, res, "model", same, () => {
      const latest = feed.get(route.namespace, route.name);
      return latest ? this.#model(latest) : undefined;
    });
  }

  #rows() {
    return this.#opts.feed.list().map(experimentRow);
  }

  #model(exp: Experiment) {
    let describe: string;
    try {
      describe = describeText(exp) + outcomeSection(exp);
    } catch (err) {
      describe = `cannot describe this experiment: ${(err as Error).message}`;
    }
    return reportModel(exp, describe, (this.#opts.now ?? (() => new Date()))());
  }

  /** An event stream: the current payload now, then again whenever a matching experiment changes. */
  #stream(
    req: IncomingMessage,
    res: ServerResponse,
    event: string,
    matches: (e: Experiment) => boolean,
    payload: () => unknown,
  ): Reply | undefined {
    if (this.#streams.size >= (this.#opts.maxStreams ?? 200)) return text(503, "too many open event streams");
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
    });
    if (req.method === "HEAD") {
      res.end();
      return undefined;
    }
    this.#streams.add(res);
    const push = () => {
      const data = payload();
      if (data !== undefined) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    res.write("retry: 2000\n\n");
    push();
    const unsubscribe = this.#opts.feed.subscribe((e) => {
      if (matches(e)) push();
    });
    const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), HEARTBEAT_MS);
    heartbeat.unref();
    res.on("close", () => {
      clearInterval(heartbeat);
      unsubscribe();
      this.#streams.delete(res);
    });
    return undefined;
  }

  #authorised(req: IncomingMessage, url: URL, res: ServerResponse): boolean {
    const token = this.#opts.token;
    if (token === undefined) return true;
    const header = req.headers.authorization;
    const bearer = header?.startsWith("Bearer ") ? header.slice(7) : undefined;
    const fromQuery = url.searchParams.get("token") ?? undefined;
    const fromCookie = cookieValue(req.headers.cookie, COOKIE);
    const given = bearer ?? fromQuery ?? fromCookie;
    if (given === undefined || !sameSecret(given, token)) return false;
    // A browser opened with ?token= keeps it in a cookie for the page's event stream and links.
    if (fromQuery !== undefined) {
      res.setHeader(
        "set-cookie",
        `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
      );
    }
    return true;
  }
}

function routeOf(path: string): Route | { error: string; status: number } {
  if (path === "/") return { page: "list" };
  if (path === "/events") return { page: "list-events" };
  if (path === "/api/experiments") return { page: "list-json" };
  const parts = path.split("/").slice(1);
  const prefix = parts[0] === "events" || parts[0] === "api" ? parts.shift() : undefined;
  if (parts.length !== 3 || parts[0] !== "experiments")
    return { error: `no such page: ${path}`, status: 404 };
  let namespace: string;
  let name: string;
  try {
    namespace = decodeURIComponent(parts[1]!);
    name = decodeURIComponent(parts[2]!);
  } catch {
    return { error: "bad percent-encoding in the path", status: 400 };
  }
  if (!NAME.test(namespace) || !NAME.test(name)) {
    return {
      error: "namespace and name must be Kubernetes names (lower case, digits, '-', '.')",
      status: 400,
    };
  }
  const page =
    prefix === "events" ? "experiment-events" : prefix === "api" ? "experiment-json" : "experiment";
  return { page, namespace, name };
}

interface Reply {
  status: number;
  type: string;
  body: string;
}

const text = (status: number, message: string): Reply => ({
  status,
  type: "text/plain",
  body: `${message}\n`,
});
const html = (body: string): Reply => ({ status: 200, type: "text/html", body });
const json = (value: unknown): Reply => ({
  status: 200,
  type: "application/json",
  body: `${JSON.stringify(value)}\n`,
});

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "content-type": `${type}; charset=utf-8`,
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
  });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(";") ?? []) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) {
      try {
        return decodeURIComponent(v.join("="));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
