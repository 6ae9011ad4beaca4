// The benchmark run behind `./bench/run`: the router against http-proxy, a plain node:http proxy,
// nginx and direct (wrk throughput), the router's p99 added latency at 1,000 req/s, the load
// generator against autocannon and wrk at max rate, and its pacing error at 10–5,000 qps.
// Everything runs against the same upstream, in one run, on loopback. `--json` prints, as the
// last line, one JSON object with the headline ratios and the machine.

import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startNginx } from "./lib/nginx.ts";
import { installSignalHandlers, runToEnd, type Started, start, stopAll, waitForLine } from "./lib/procs.ts";
import { wrk } from "./lib/wrk.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const NODE = process.execPath;
const READY = /listening on (http:\/\/\S+)/;

interface Args {
  json: boolean;
  upstream: "nginx" | "node";
  seconds: number;
  connections: number;
  workers: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    json: false,
    upstream: "nginx",
    seconds: 5,
    connections: 64,
    workers: Math.min(2, os.cpus().length),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a}: needs a positive integer`);
      return v;
    };
    if (a === "--json") args.json = true;
    else if (a === "--upstream") {
      const u = argv[++i];
      if (u !== "nginx" && u !== "node") throw new Error("--upstream: nginx or node");
      args.upstream = u;
    } else if (a === "--seconds") args.seconds = value();
    else if (a === "--connections") args.connections = value();
    else if (a === "--workers") args.workers = value();
    else if (a === "-h" || a === "--help") {
      process.stdout.write(
        "usage: bench/run [--json] [--upstream nginx|node (static nginx, or a minimal node:http server)] [--seconds S (wrk/max-rate run length, 5)] [--connections C (64)] [--workers N (router and nginx multi-process runs, min(2, cpus))]\n",
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
const notes: string[] = [];
const firstLine = (err: unknown) =>
  String((err as Error).message ?? err)
    .split("\n")[0]!
    .slice(0, 200);
const t0 = Date.now();

async function startNodeServer(script: string, ...argv: string[]): Promise<{ url: string; proc: Started }> {
  const proc = start(NODE, [path.join(ROOT, "bench", "servers", script), ...argv]);
  const url = await waitForLine(proc, READY);
  return { url: url.endsWith("/") ? url : `${url}/`, proc };
}

async function startRouter(upstream: string, workers: number): Promise<{ url: string; proc: Started }> {
  // Same code as ./bin/iter8 (which runs the tsc build of it), run from source so no stale build is measured.
  const argv = [
    path.join(ROOT, "src", "cli", "main.ts"),
    "router",
    "--listen",
    "127.0.0.1:0",
    "--upstream",
    new URL(upstream).host,
  ];
  if (workers > 1) argv.push("--workers", String(workers));
  const proc = start(NODE, argv, { cwd: ROOT });
  const url = await waitForLine(proc, READY);
  return { url: url.endsWith("/") ? url : `${url}/`, proc };
}

/** The peer must proxy correctly before its speed means anything. */
async function checkProxies(url: string): Promise<void> {
  const res = await fetch(url);
  const body = await res.text();
  if (res.status !== 200 || body !== "hello, world\n") {
    throw new Error(`GET ${url} gave ${res.status} ${JSON.stringify(body.slice(0, 80))}`);
  }
}

async function throughput(name: string, url: string): Promise<number | null> {
  try {
    await checkProxies(url);
    await wrk(url, args.connections, 1); // warm-up (JIT, upstream pools)
    const r = await wrk(url, args.connections, args.seconds);
    if (r.non2xx > 0 || r.socketErrors > 0)
      notes.push(`${name}: ${r.non2xx} non-2xx, ${r.socketErrors} socket errors`);
    log(`${name}: ${r.rps.toFixed(0)} req/s`);
    return r.rps;
  } catch (err) {
    notes.push(`${name}: ${firstLine(err)}`);
    log(`${name}: failed: ${firstLine(err)}`);
    return null;
  }
}

interface LoadSummary {
  statusCodes: Record<string, number>;
  elapsedMs: number;
  errorCount: number;
  latencyMs: { p50: number; p99: number };
  pacing: {
    errorPct: number;
    sendRate: number;
    interSendJitterMs: number;
    latenessMs: { p99: number };
  } | null;
}

async function loadgen(opts: Record<string, unknown>): Promise<LoadSummary> {
  const out = await runToEnd(
    NODE,
    [path.join(ROOT, "bench", "drivers", "loadgen.ts"), JSON.stringify(opts)],
    120_000,
  );
  return JSON.parse(out.trim().split("\n").at(-1)!) as LoadSummary;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const ok2xx = (r: LoadSummary) =>
  Object.entries(r.statusCodes).reduce((n, [c, k]) => (c.startsWith("2") ? n + k : n), 0);

const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a != null && b != null && b > 0 ? Math.round((a / b) * 1000) / 1000 : null;

async function main(): Promise<void> {
  installSignalHandlers();
  const cpus = os.cpus();
  const machine = {
    cpu_model: cpus[0]?.model ?? "unknown",
    cpus: cpus.length,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadavg_at_start: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
  log(
    `machine: ${machine.cpus} × ${machine.cpu_model}, node ${machine.node}, load ${machine.loadavg_at_start.join(" ")}`,
  );

  // One core's worth of upstream: static nginx (1 worker) by default, so proxies, not the upstream,
  // are what limits throughput; a minimal node:http server with --upstream node.
  let upstream: { url: string; proc: Started };
  if (args.upstream === "nginx") {
    try {
      upstream = await startNginx(null, 1);
    } catch (err) {
      notes.push(`nginx upstream unavailable (${firstLine(err)}); used the node:http upstream`);
      args.upstream = "node";
      upstream = await startNodeServer("upstream.ts");
    }
  } else upstream = await startNodeServer("upstream.ts");
  log(`upstream (${args.upstream}) ${upstream.url}`);
  await checkProxies(upstream.url);

  // 1. Proxy throughput with wrk, one peer at a time (each stopped before the next starts).
  const rps: Record<string, number | null> = {};
  rps["direct"] = await throughput("direct", upstream.url);
  let p99: { direct: number; router: number } | null = null;
  const routerWorkers = [1, ...(args.workers > 1 ? [args.workers] : [])];
  for (const w of routerWorkers) {
    const name = w === 1 ? "router" : `router_${w}_workers`;
    let router: { url: string; proc: Started } | null = null;
    try {
      router = await startRouter(upstream.url, w);
      rps[name] = await throughput(name, router.url);
      if (w === 1 && rps[name] != null) {
        // 2. Added latency at a fixed 1,000 req/s: router vs direct, p99 from the intended send time.
        // Three alternating 2 s rounds, median of each side, so one scheduler stall on a shared
        // machine does not decide the figure.
        const base = { qps: 1000, duration: "2s", connections: 16 };
        const directP99: number[] = [];
        const routerP99: number[] = [];
        for (let round = 0; round < 3; round++) {
          directP99.push((await loadgen({ ...base, url: upstream.url })).latencyMs.p99);
          routerP99.push((await loadgen({ ...base, url: router.url })).latencyMs.p99);
        }
        p99 = { direct: median(directP99), router: median(routerP99) };
        log(`p99 at 1000 req/s: direct ${p99.direct} ms, router ${p99.router} ms`);
      }
    } catch (err) {
      rps[name] = null;
      notes.push(`${name}: ${firstLine(err)}`);
      log(`${name}: not available: ${firstLine(err)}`);
    } finally {
      await router?.proc.stop();
    }
  }
  for (const [name, script] of [
    ["http_proxy", "http-proxy.ts"],
    ["node_proxy", "node-proxy.ts"],
  ] as const) {
    try {
      const peer = await startNodeServer(script, upstream.url);
      rps[name] = await throughput(name, peer.url);
      await peer.proc.stop();
    } catch (err) {
      rps[name] = null;
      notes.push(`${name}: ${firstLine(err)}`);
    }
  }
  for (const w of routerWorkers) {
    const name = w === 1 ? "nginx" : `nginx_${w}_workers`;
    try {
      const nginx = await startNginx(new URL(upstream.url), w);
      rps[name] = await throughput(name, nginx.url);
      await nginx.proc.stop();
    } catch (err) {
      rps[name] = null;
      notes.push(`${name}: ${firstLine(err)}`);
    }
  }

  // 3. Load generators at max rate against the same upstream, same connection count and length.
  const gen: Record<string, number | null> = {};
  try {
    gen["wrk"] = (await wrk(upstream.url, args.connections, args.seconds)).rps;
  } catch (err) {
    gen["wrk"] = null;
    notes.push(`wrk: ${firstLine(err)}`);
  }
  try {
    const out = await runToEnd(
      NODE,
      [
        path.join(ROOT, "bench", "drivers", "autocannon.ts"),
        upstream.url,
        String(args.connections),
        String(args.seconds),
      ],
      (args.seconds + 30) * 1000,
    );
    gen["autocannon"] = (JSON.parse(out.trim().split("\n").at(-1)!) as { rps: number }).rps;
  } catch (err) {
    gen["autocannon"] = null;
    notes.push(`autocannon: ${firstLine(err)}`);
  }
  try {
    const r = await loadgen({
      url: upstream.url,
      qps: 0,
      duration: args.seconds * 1000,
      connections: args.connections,
    });
    gen["loadgen"] = (ok2xx(r) * 1000) / r.elapsedMs;
    if (r.errorCount > 0) notes.push(`loadgen max rate: ${r.errorCount} errors`);
  } catch (err) {
    gen["loadgen"] = null;
    notes.push(`loadgen: ${firstLine(err)}`);
  }
  log(
    `max rate: wrk ${gen["wrk"]?.toFixed(0)}, autocannon ${gen["autocannon"]?.toFixed(0)}, loadgen ${gen["loadgen"]?.toFixed(0)} req/s`,
  );

  // 4. Pacing: achieved send rate vs target, and inter-send jitter.
  const pacing: Array<{
    qps: number;
    error_pct: number;
    send_rate: number;
    jitter_ms: number;
    lateness_p99_ms: number;
  }> = [];
  for (const [qps, seconds, connections] of [
    [10, 5, 4],
    [100, 3, 4],
    [1000, 3, 8],
    [5000, 3, 16],
  ] as const) {
    try {
      const r = await loadgen({ url: upstream.url, qps, duration: seconds * 1000, connections });
      const p = r.pacing!;
      pacing.push({
        qps,
        error_pct: p.errorPct,
        send_rate: p.sendRate,
        jitter_ms: p.interSendJitterMs,
        lateness_p99_ms: p.latenessMs.p99,
      });
      log(
        `pacing ${qps} qps: sent at ${p.sendRate}/s (error ${p.errorPct} %), jitter ${p.interSendJitterMs} ms`,
      );
    } catch (err) {
      notes.push(`pacing ${qps}: ${firstLine(err)}`);
    }
  }

  await stopAll();

  const routerBest = Math.max(
    ...routerWorkers.map((w) => rps[w === 1 ? "router" : `router_${w}_workers`] ?? -1),
  );
  const routerRps = routerBest > 0 ? routerBest : null;
  const nginxBest = Math.max(
    ...routerWorkers.map((w) => rps[w === 1 ? "nginx" : `nginx_${w}_workers`] ?? -1),
  );
  const summary = {
    router_vs_http_proxy: ratio(routerRps, rps["http_proxy"]),
    router_vs_nginx: ratio(routerRps, nginxBest > 0 ? nginxBest : null),
    router_vs_node_proxy: ratio(routerRps, rps["node_proxy"]),
    router_vs_direct: ratio(routerRps, rps["direct"]),
    router_p99_added_ms_at_1000rps: p99 ? Math.round((p99.router - p99.direct) * 1000) / 1000 : null,
    loadgen_vs_autocannon: ratio(gen["loadgen"], gen["autocannon"]),
    loadgen_vs_wrk: ratio(gen["loadgen"], gen["wrk"]),
    loadgen_qps_error_pct: pacing.length === 4 ? Math.max(...pacing.map((p) => p.error_pct)) : null,
    loadgen_jitter_ms_max: pacing.length > 0 ? Math.max(...pacing.map((p) => p.jitter_ms)) : null,
    targets: {
      router_vs_http_proxy: ">= 2.5",
      router_p99_added_ms_at_1000rps: "<= 1",
      loadgen_vs_autocannon: ">= 1.0",
      loadgen_qps_error_pct: "<= 1",
    },
    throughput_rps: Object.fromEntries(
      Object.entries(rps).map(([k, v]) => [k, v === null ? null : Math.round(v)]),
    ),
    p99_ms_at_1000rps: p99,
    max_rate_rps: Object.fromEntries(
      Object.entries(gen).map(([k, v]) => [k, v == null ? null : Math.round(v)]),
    ),
    pacing,
    settings: {
      upstream: args.upstream,
      wrk: `-t1 -c${args.connections} -d${args.seconds}s`,
      workers: args.workers,
    },
    machine,
    loadavg_at_end: os.loadavg().map((x) => Math.round(x * 100) / 100),
    elapsed_s: Math.round((Date.now() - t0) / 100) / 10,
    notes,
  };

  process.stdout.write(table(summary));
  if (args.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
}

function table(s: {
  throughput_rps: Record<string, number | null>;
  max_rate_rps: Record<string, number | null>;
  pacing: Array<{
    qps: number;
    error_pct: number;
    send_rate: number;
    jitter_ms: number;
    lateness_p99_ms: number;
  }>;
  p99_ms_at_1000rps: { direct: number; router: number } | null;
  [k: string]: unknown;
}): string {
  const fmt = (v: unknown) => (v === null || v === undefined ? "n/a" : String(v));
  const lines = ["", `Proxy throughput (wrk -t1 -c${args.connections} -d${args.seconds}s, req/s):`];
  const direct = s.throughput_rps["direct"];
  for (const [k, v] of Object.entries(s.throughput_rps)) {
    lines.push(
      `  ${k.padEnd(22)} ${fmt(v).padStart(9)}   ${v != null && direct ? `${((v / direct) * 100).toFixed(0)} % of direct` : ""}`,
    );
  }
  lines.push("", "Ratios:");
  for (const k of [
    "router_vs_http_proxy",
    "router_vs_nginx",
    "router_vs_node_proxy",
    "router_vs_direct",
    "router_p99_added_ms_at_1000rps",
    "loadgen_vs_autocannon",
    "loadgen_vs_wrk",
    "loadgen_qps_error_pct",
    "loadgen_jitter_ms_max",
  ]) {
    lines.push(`  ${k.padEnd(32)} ${fmt(s[k])}`);
  }
  if (s.p99_ms_at_1000rps) {
    lines.push(
      "",
      `p99 at 1000 req/s: direct ${s.p99_ms_at_1000rps.direct} ms, via router ${s.p99_ms_at_1000rps.router} ms`,
    );
  }
  lines.push("", "Load generators at max rate (req/s):");
  for (const [k, v] of Object.entries(s.max_rate_rps)) lines.push(`  ${k.padEnd(12)} ${fmt(v).padStart(9)}`);
  lines.push("", "Pacing (target qps: achieved send rate, error %, inter-send jitter ms, lateness p99 ms):");
  for (const p of s.pacing) {
    lines.push(
      `  ${String(p.qps).padStart(5)}: ${p.send_rate} /s, ${p.error_pct} %, ${p.jitter_ms} ms, ${p.lateness_p99_ms} ms`,
    );
  }
  const n = s["notes"] as string[];
  if (n.length > 0) lines.push("", "Notes:", ...n.map((x) => `  - ${x}`));
  const m = s["machine"] as { cpus: number; cpu_model: string; node: string };
  lines.push("", `Machine: ${m.cpus} × ${m.cpu_model}, node ${m.node}; run took ${s["elapsed_s"]} s`, "");
  return lines.join("\n");
}

main().catch(async (err) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
  await stopAll();
  process.exit(1);
});
