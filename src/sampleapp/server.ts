// The sample app: plays the seeds' `gcr.io/knative-samples/knative-route-demo` image, an HTTP
// server whose page names its version (blue, green, ...), with optional injected latency and
// error rate so experiments have something to measure. Seeded, so a run can be replayed.

import { randomInt } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { deriveSeed, mulberry32 } from "../lib/random.ts";
import { type LatencyModel, type LatencySpec, latencyModel } from "./latency.ts";

export interface SampleAppOptions {
  /** Version the page names; default `T_VERSION` from the environment, else "v1". */
  version?: string;
  /** Address to bind; default 127.0.0.1. */
  host?: string;
  /** Port; 0 (default) lets the system pick. */
  port?: number;
  /** Injected latency (ms); none by default. See latency.ts for the model. */
  latency?: LatencySpec;
  /** Fraction of requests answered 500 (0..1); default 0. */
  errorRate?: number;
  /** Seed for latency and error draws; random when absent. */
  seed?: number;
}

export interface SampleAppStats {
  requests: number;
  errors: number;
}

export interface SampleApp {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly version: string;
  readonly seed: number;
  readonly latency: LatencyModel;
  stats(): SampleAppStats;
  close(): Promise<void>;
}

export function resolveVersion(version: string | undefined): string {
  return version ?? process.env["T_VERSION"] ?? "v1";
}

/** Validates options; throws an Error naming the field. */
function check(opts: SampleAppOptions): { latency: LatencyModel; errorRate: number; seed: number } {
  const errorRate = opts.errorRate ?? 0;
  if (!(errorRate >= 0 && errorRate <= 1))
    throw new Error(`error-rate: must be between 0 and 1, got ${opts.errorRate}`);
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`port: must be 0..65535, got ${opts.port}`);
  const seed = opts.seed ?? randomInt(0, 2 ** 32 - 1);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32)
    throw new Error(`seed: must be an integer 0..2^32-1, got ${seed}`);
  const version = resolveVersion(opts.version);
  if (version === "" || /[\r\n<>&"]/.test(version))
    throw new Error(`version: must be non-empty plain text, got ${JSON.stringify(version)}`);
  return { latency: latencyModel(opts.latency ?? { meanMs: 0 }), errorRate, seed };
}

export async function startSampleApp(opts: SampleAppOptions = {}): Promise<SampleApp> {
  const { latency, errorRate, seed } = check(opts);
  const version = resolveVersion(opts.version);
  const host = opts.host ?? "127.0.0.1";
  // Separate streams: whether a request fails does not depend on the latency settings.
  const errorRandom = mulberry32(deriveSeed(seed, 0));
  const latencyRandom = mulberry32(deriveSeed(seed, 1));
  const stats: SampleAppStats = { requests: 0, errors: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const page = htmlPage(version);
  const json = `${JSON.stringify({ version })}\n`;

  const server = http.createServer((req, res) => {
    req.resume(); // drain any body
    if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain", "content-length": "3" });
      res.end("ok\n");
      return;
    }
    stats.requests++;
    const fail = errorRate > 0 && errorRandom() < errorRate;
    const delay = latency.sample(latencyRandom);
    const respond = () => {
      if (res.destroyed) return;
      if (fail) {
        stats.errors++;
        const body = `injected error (version ${version})\n`;
        res.writeHead(500, headers("text/plain", body, version));
        res.end(req.method === "HEAD" ? undefined : body);
        return;
      }
      const wantsJson = (req.headers.accept ?? "").includes("application/json");
      const body = wantsJson ? json : page;
      res.writeHead(200, headers(wantsJson ? "application/json" : "text/html; charset=utf-8", body, version));
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (delay <= 0) respond();
    else {
      const t = setTimeout(() => {
        timers.delete(t);
        respond();
      }, delay);
      timers.add(t);
    }
  });
  server.keepAliveTimeout = 65_000; // outlive load generators' idle gaps; they reconnect anyway

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    version,
    seed,
    latency,
    stats: () => ({ ...stats }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function headers(contentType: string, body: string, version: string): http.OutgoingHttpHeaders {
  return { "content-type": contentType, "content-length": Buffer.byteLength(body), "x-version": version };
}

function htmlPage(version: string): string {
  return `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>sample-app ${version}</title></head>
<body style="background-color: ${/^[a-z]+$/.test(version) ? version : "white"}">
<h1>Hello! This is the ${version} version of the sample app.</h1>
<p id="version">${version}</p>
</body>
</html>
`;
}
