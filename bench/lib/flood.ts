// The pipelining flood: one client writes N pipelined GETs through the router and never reads a byte
// of the answers. The router (its own process, run from source) must stop reading that client once its
// answers queue up, so its memory stays flat. Measures the router's RSS (Linux /proc) before and at
// the peak of the flood, and how many of the requests reached the upstream meanwhile.

import { readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Started, start, waitForLine } from "./procs.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface FloodOptions {
  engine: "fast" | "node";
  /** Pipelined requests the client writes (20,000: about 0.6 MB of GETs). */
  requests: number;
  /** Size of each upstream answer: what a non-reading client would make the router hold. */
  responseBytes: number;
  /** The flood is over when the upstream saw no new request for this long (or all of them arrived). */
  quietMs: number;
  /** Upper bound on the whole measurement. */
  maxMs: number;
}

export interface FloodResult {
  engine: string;
  requests: number;
  responseBytes: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  rssGrowthMb: number;
  /** Requests that reached the upstream while the client read nothing. */
  upstreamRequests: number;
  /** The router answered a fresh client normally after the flooding one went away. */
  servesAfterwards: boolean;
  seconds: number;
}

export const FLOOD_DEFAULTS: FloodOptions = {
  engine: "fast",
  requests: 20_000,
  responseBytes: 16 * 1024,
  quietMs: 1_500,
  maxMs: 60_000,
};

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) / 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { host: "flood.test" }, agent: false }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      })
      .on("error", reject);
  });
}

export async function measureFlood(opts: FloodOptions): Promise<FloodResult> {
  const t0 = Date.now();
  const body = Buffer.alloc(opts.responseBytes, 120);
  let seen = 0;
  const upstream = http.createServer((req, res) => {
    seen++;
    req.resume();
    res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
    res.end(body);
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  const upPort = (upstream.address() as net.AddressInfo).port;
  let router: Started | null = null;
  let client: net.Socket | null = null;
  try {
    router = start(process.execPath, [
      path.join(ROOT, "src", "cli", "main.ts"),
      "router",
      "--listen",
      "127.0.0.1:0",
      "--upstream",
      `127.0.0.1:${upPort}`,
      "--engine",
      opts.engine,
    ]);
    const url = await waitForLine(router, /listening on (http:\/\/\S+)/);
    const pid = router.child.pid!;
    // Warm up (JIT, pools) so the baseline is the router at work, not the router at rest.
    for (let i = 0; i < 200; i++) await get(url);
    const before = rssMb(pid);
    seen = 0;
    const port = Number(new URL(url).port);
    client = net.connect(port, "127.0.0.1");
    client.on("error", () => {});
    await new Promise<void>((r) => client!.once("connect", () => r()));
    client.pause(); // never read
    const one = "GET /flood HTTP/1.1\r\nHost: flood.test\r\n\r\n";
    client.write(Buffer.from(one.repeat(opts.requests), "latin1"));
    let peak = before;
    let last = -1;
    let quietSince = Date.now();
    while (Date.now() - t0 < opts.maxMs) {
      await sleep(100);
      peak = Math.max(peak, rssMb(pid));
      if (seen !== last) {
        last = seen;
        quietSince = Date.now();
      }
      if (seen >= opts.requests || Date.now() - quietSince >= opts.quietMs) break;
    }
    peak = Math.max(peak, rssMb(pid));
    client.destroy();
    client = null;
    const servesAfterwards = (await get(url)) === 200;
    return {
      engine: opts.engine,
      requests: opts.requests,
      responseBytes: opts.responseBytes,
      rssBeforeMb: round(before),
      rssPeakMb: round(peak),
      rssGrowthMb: round(peak - before),
      upstreamRequests: seen,
      servesAfterwards,
      seconds: round((Date.now() - t0) / 1000),
    };
  } finally {
    client?.destroy();
    await router?.stop();
    upstream.closeAllConnections();
    await new Promise<void>((r) => upstream.close(() => r()));
  }
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
