// bench/controller-scale: one `iter8 controller` process against the real kube-apiserver + etcd of
// the k8s tests, driving N Canary/Progressive experiments at once (mock metrics, one VirtualService
// each). Prints per N: iteration jitter, time from create to the first iteration, API requests per
// iteration by verb (from the API server's own apiserver_request_total), the controller's CPU and
// peak RSS, and how many experiments completed, and completed correctly (final weights, promotion).
//
//   ./bench/controller-scale [--n 100,300,1000] [--interval S] [--iterations 10] [--json]
//                            [--concurrency C] [--kube-qps Q] [--kube-burst B] [--iteration-events false]
//                            [--controller-node-options OPTS (default: the chart's nodeOptions; "" for none)]

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { Experiment } from "../src/api/types.ts";
import { experimentsPath } from "../src/platforms/kubernetes/resources.ts";
import { type KubeClient, resourcePath } from "../src/platforms/kubernetes/rest.ts";
import {
  canaryOn,
  finalCandidateWeight,
  twoRouteVirtualService,
  vsWeightsOf,
} from "../test/k8s/experiments.ts";
import { apply, INSTALL_NS, ROOT, SA, startEnv, type TestEnv } from "../test/k8s/support.ts";
import { cpuSecondsOf } from "./lib/procs.ts";

interface Args {
  ns: number[];
  interval?: number;
  iterations: number;
  json: boolean;
  controllerFlags: Record<string, string>;
  /** NODE_OPTIONS of the controller process (e.g. a heap limit). */
  nodeOptions?: string;
  /** Where to write a 30 s CPU profile of the API server, taken from the middle of each run. */
  profileDir?: string;
  /** Where to append the controller's own log (JSON lines from its stderr). */
  controllerLog?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { ns: [100, 300, 1000], iterations: 10, json: false, controllerFlags: {} };
  const passThrough = new Set(["--concurrency", "--kube-qps", "--kube-burst", "--iteration-events"]);
  // The controller runs with the chart's NODE_OPTIONS, as it would in a cluster.
  a.nodeOptions = chartNodeOptions();
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const [name, inline] = flag.includes("=")
      ? [flag.slice(0, flag.indexOf("=")), flag.slice(flag.indexOf("=") + 1)]
      : [flag, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) usage(`${name} needs a value`);
      return v!;
    };
    const num = (v: string, what: string) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) usage(`${what} must be a positive number, got ${JSON.stringify(v)}`);
      return n;
    };
    if (name === "--json") a.json = true;
    else if (name === "--n")
      a.ns = value()
        .split(",")
        .map((s) => Math.round(num(s, "--n")));
    else if (name === "--interval") a.interval = num(value(), "--interval");
    else if (name === "--iterations") a.iterations = Math.round(num(value(), "--iterations"));
    else if (passThrough.has(name)) a.controllerFlags[name] = value();
    else if (name === "--controller-node-options") a.nodeOptions = value();
    else if (name === "--apiserver-profile") a.profileDir = value();
    else if (name === "--controller-log") a.controllerLog = value();
    else usage(`unknown flag ${flag}`);
  }
  return a;
}

/** `nodeOptions` of the Helm chart's values.yaml. */
function chartNodeOptions(): string {
  const values = parse(readFileSync(join(ROOT, "deploy", "helm", "iter8", "values.yaml"), "utf8")) as {
    nodeOptions?: string;
  };
  return values.nodeOptions ?? "";
}

function usage(msg: string): never {
  process.stderr.write(
    `controller-scale: ${msg}\nusage: bench/controller-scale [--n 100,300,1000] [--interval S] [--iterations K] [--json] [--concurrency C] [--kube-qps Q] [--kube-burst B] [--iteration-events true|false] [--controller-node-options OPTS] [--apiserver-profile DIR] [--controller-log FILE]\n`,
  );
  process.exit(2);
}

const log = (msg: string) =>
  process.stderr.write(`[controller-scale ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** The interval the issue's targets name: 5 s up to N = 300, 10 s above. */
const defaultInterval = (n: number) => (n > 300 ? 10 : 5);

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** Runs `fn` over `items` with at most `limit` at once. */
async function pool<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** apiserver_request_total summed by verb and resource, for the kinds the controller touches. */
async function apiserverRequests(admin: KubeClient): Promise<Map<string, number>> {
  const text = await requestText(admin, "/metrics");
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const labels = Object.fromEntries(
      [...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!] as [string, string]),
    );
    const resource = labels["resource"] ?? "";
    if (!["experiments", "virtualservices", "events", "metrics", "secrets"].includes(resource)) continue;
    // The benchmark's own watch is long-running and the controller's watches are not per iteration.
    if (labels["verb"] === "WATCH") continue;
    const key = `${labels["verb"]} ${resource}${labels["subresource"] ? `/${labels["subresource"]}` : ""}`;
    out.set(key, (out.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return out;
}

async function requestText(admin: KubeClient, path: string): Promise<string> {
  return (await requestBytes(admin, path)).toString("utf8");
}

async function requestBytes(admin: KubeClient, path: string): Promise<Buffer> {
  // The JSON client parses bodies; /metrics is text and a profile is gzip, so read them raw.
  const { request } = await import("node:https");
  const kc = admin.kc!;
  const opts: Record<string, unknown> & { headers?: Record<string, string> } = { headers: {} };
  await kc.applyToHTTPSOptions(opts as never);
  const url = new URL(path, kc.getCurrentCluster()!.server);
  return new Promise((resolve, reject) => {
    const req = request(url, { ...opts, method: "GET" }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(Buffer.concat(chunks)));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/**
 * A CPU profile of the API server (its /debug/pprof endpoint) over 30 s from the fourth iteration
 * on, for `go tool pprof -top FILE`: where the requests of the controller cost it the most.
 */
async function profileApiserver(admin: KubeClient, dir: string, n: number, intervalSeconds: number) {
  await new Promise((r) => setTimeout(r, 3 * intervalSeconds * 1000));
  const file = join(dir, `apiserver-n${n}.pprof.gz`);
  log(`N=${n}: profiling the API server for 30 s into ${file}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, await requestBytes(admin, "/debug/pprof/profile?seconds=30"));
}

function procStats(pid: number): { cpuSeconds: number; rssPeakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return { cpuSeconds: cpuSecondsOf(pid), rssPeakMiB: hwm / 1024 };
}

interface Track {
  created?: number;
  ended?: boolean;
  iterationTimes: number[];
  /** For each iteration: from its stamped time to its status arriving on the watch (ms). */
  writeLags: number[];
  lastCount: number;
}

interface RunResult {
  n: number;
  /** From an iteration's stamped time (its metrics read, its decision taken) to its status on the watch. */
  writeLagP50Seconds: number;
  writeLagP99Seconds: number;
  intervalSeconds: number;
  iterations: number;
  jitterP50Seconds: number;
  jitterP99Seconds: number;
  jitterMaxSeconds: number;
  firstIterationSeconds: number;
  firstIterationP99Seconds: number;
  firstIterationMaxSeconds: number;
  requestsPerIteration: number;
  requestsPerIterationByVerb: Record<string, number>;
  iterationsCompleted: number;
  completed: number;
  completedCorrectly: number;
  controllerCpuSeconds: number;
  rssPeakMiB: number;
  heapUsedMiBAtEnd: number;
  /** The controller's own request latencies by verb and resource (its /metrics histogram). */
  controllerApiLatency: Record<string, ApiLatency>;
  staleConnectionsResent: number;
  reconcileErrors: number;
  jitterP99ByIterationSeconds: number[];
  objectBytesP50: number;
  statusBytesP50: number;
  managedFieldsBytesP50: number;
  wallSeconds: number;
  controllerFlags: string[];
  controllerNodeOptions: string;
}

interface ControllerProcess {
  child: ChildProcess;
  healthPort: number;
  /** Its first warnings and errors (JSON lines). */
  log: string[];
  flags: string[];
}

/** `bin/iter8 controller` as the chart's ServiceAccount, watching only `ns`; resolves once ready. */
async function startController(env: TestEnv, ns: string, args: Args): Promise<ControllerProcess> {
  const flags = Object.entries({
    "--concurrency": "1000",
    "--kube-qps": "500",
    "--kube-burst": "1000",
    "--iteration-events": "false",
    "--combined-start-write": "true",
    ...args.controllerFlags,
  }).map(([k, v]) => `${k}=${v}`);
  const { kubeconfigPath } = env.cp.serviceAccountKubeConfig(SA.namespace, SA.name);
  const child = spawn(
    process.execPath,
    [
      join(ROOT, "bin", "iter8"),
      "controller",
      `--kubeconfig=${kubeconfigPath}`,
      `--namespaces=${ns}`,
      `--install-namespace=${INSTALL_NS}`,
      "--health-port=0",
      "--health-address=127.0.0.1",
      ...flags,
    ],
    {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, NODE_OPTIONS: args.nodeOptions ?? "" },
    },
  );
  // However the benchmark ends, the controller goes with it.
  process.once("exit", () => child.kill("SIGKILL"));
  const log: string[] = [];
  const healthPort = await new Promise<number>((resolve, reject) => {
    let buf = "";
    child.stderr!.on("data", (c: Buffer) => {
      if (args.controllerLog) appendFileSync(args.controllerLog, c);
      buf += c.toString("utf8");
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        nl = buf.indexOf("\n");
        if (log.length < 200 && /"level":"(warn|error)"/.test(line)) log.push(line);
        const m = /"msg":"health endpoints","port":(\d+)/.exec(line);
        if (m) resolve(Number(m[1]));
      }
    });
    child.once("exit", (code) => reject(new Error(`controller exited with ${code}: ${log.join("\n")}`)));
  });
  await waitReady(healthPort);
  return { child, healthPort, log, flags };
}

/**
 * Completed, and completed correctly: not Failed, all iterations, candidate recommended for
 * promotion, and the VirtualService holding the final weights that the status reports.
 */
async function checkOutcomes(
  admin: KubeClient,
  ns: string,
  iterations: number,
): Promise<{ completed: number; correct: number; iterationsCompleted: number; sizes: ObjectSizes }> {
  const list = await admin.get<{ items: Experiment[] }>(experimentsPath(ns), { timeoutMs: 300_000 });
  const vsList = await admin.get<{ items: Record<string, unknown>[] }>(
    resourcePath("networking.istio.io/v1alpha3", "virtualservices", ns),
    { timeoutMs: 300_000 },
  );
  const vsByName = new Map(vsList.items.map((o) => [(o["metadata"] as { name: string }).name, o]));
  const want = finalCandidateWeight(iterations);
  let completed = 0;
  let correct = 0;
  for (const e of list.items) {
    const st = e.status;
    if (st?.stage !== "Completed") continue;
    completed++;
    const failed = st.conditions?.find((c) => c.type === "Failed")?.status === "True";
    const vs = vsByName.get(`vs-${e.metadata.name}`);
    const weights = vs ? vsWeightsOf(vs) : [];
    const reported = (st.currentWeightDistribution ?? []).map((w) => w.value);
    if (
      !failed &&
      st.completedIterations === iterations &&
      st.versionRecommendedForPromotion === "candidate" &&
      weights[0] === 100 - want &&
      weights[1] === want &&
      JSON.stringify(reported) === JSON.stringify(weights)
    ) {
      correct++;
    }
  }
  const iterationsCompleted = list.items.reduce((s, e) => s + (e.status?.completedIterations ?? 0), 0);
  return { completed, correct, iterationsCompleted, sizes: objectSizes(list.items) };
}

interface ObjectSizes {
  objectBytesP50: number;
  statusBytesP50: number;
  managedFieldsBytesP50: number;
}

/**
 * How big the ended experiments are as JSON, whole, their status, and the managedFields the API
 * server keeps: what each status write makes it decode, validate and track.
 */
function objectSizes(items: Experiment[]): ObjectSizes {
  const median = (f: (e: Experiment) => unknown) =>
    quantile(
      items.map((e) => JSON.stringify(f(e) ?? null).length).sort((a, b) => a - b),
      0.5,
    );
  return {
    objectBytesP50: median((e) => e),
    statusBytesP50: median((e) => e.status),
    managedFieldsBytesP50: median((e) => (e.metadata as { managedFields?: unknown }).managedFields),
  };
}

/** Jitter of every iteration after the first, and create-to-first-iteration times, sorted. */
function timings(
  tracks: Map<string, Track>,
  intervalSeconds: number,
): { jitters: number[]; firsts: number[]; jitterByIteration: number[][] } {
  const jitters: number[] = [];
  const firsts: number[] = [];
  // Index 0 is the second iteration: where in the run the late ones are.
  const jitterByIteration: number[][] = [];
  for (const t of tracks.values()) {
    if (t.created !== undefined && t.iterationTimes.length > 0)
      firsts.push((t.iterationTimes[0]! - t.created) / 1000);
    for (let i = 1; i < t.iterationTimes.length; i++) {
      const jitter = (t.iterationTimes[i]! - t.iterationTimes[i - 1]!) / 1000 - intervalSeconds;
      jitters.push(jitter);
      const atIndex = jitterByIteration[i - 1] ?? [];
      atIndex.push(jitter);
      jitterByIteration[i - 1] = atIndex;
    }
  }
  for (const xs of jitterByIteration) xs.sort((a, b) => a - b);
  return { jitters: jitters.sort((a, b) => a - b), firsts: firsts.sort((a, b) => a - b), jitterByIteration };
}

/** The API server's request counts over the run, without the benchmark's own `creates`. */
function requestDelta(before: Map<string, number>, after: Map<string, number>, creates: number) {
  const byVerb: Record<string, number> = {};
  let total = 0;
  for (const [k, v] of after) {
    let d = v - (before.get(k) ?? 0);
    if (k === "POST experiments") d -= creates;
    if (d <= 0) continue;
    total += d;
    byVerb[k] = d;
  }
  return { total, byVerb };
}

async function runOnce(env: TestEnv, n: number, intervalSeconds: number, args: Args): Promise<RunResult> {
  const ns = await env.cp.createNamespace(`scale${n}`);
  const admin = env.admin;
  log(`N=${n} interval=${intervalSeconds}s: namespace ${ns}, creating ${n} VirtualServices`);
  const names = Array.from({ length: n }, (_, i) => `exp-${String(i).padStart(4, "0")}`);
  await pool(names, 16, async (name) => {
    await apply(admin, env.discovery, twoRouteVirtualService(ns, `vs-${name}`));
  });
  const controller = await startController(env, ns, args);

  // Iteration times as the controller wrote them (status.lastUpdateTime at each new iteration).
  const tracks = new Map<string, Track>(
    names.map((x) => [x, { iterationTimes: [], writeLags: [], lastCount: 0 }]),
  );
  const stopWatch = new AbortController();
  const watching = watchIterations(admin, ns, tracks, stopWatch.signal);

  const before = await apiserverRequests(admin);
  const t0 = Date.now();
  log(`N=${n}: creating ${n} experiments`);
  await pool(names, 16, async (name) => {
    await admin.request("POST", experimentsPath(ns), {
      timeoutMs: 120_000,
      body: canaryOn(ns, name, `vs-${name}`, args.iterations, intervalSeconds),
    });
    tracks.get(name)!.created = Date.now();
  });
  log(`N=${n}: created in ${((Date.now() - t0) / 1000).toFixed(1)} s; waiting for them to complete`);
  const profiling = args.profileDir
    ? profileApiserver(admin, args.profileDir, n, intervalSeconds)
    : undefined;

  // Progress comes from the watch: LISTing a thousand experiments every few seconds would load the
  // API server the benchmark is measuring.
  const deadline = Date.now() + (args.iterations * intervalSeconds * 3 + 180) * 1000;
  for (;;) {
    const ended = [...tracks.values()].filter((t) => t.ended).length;
    if (ended >= n || Date.now() > deadline) break;
    const full = [...tracks.values()].filter((t) => t.lastCount >= args.iterations).length;
    log(
      `N=${n}: ${ended}/${n} completed, ${full} with all iterations; ${await memoryLine(controller.healthPort)}`,
    );
    await new Promise((r) => setTimeout(r, 5000));
  }
  const wallSeconds = (Date.now() - t0) / 1000;
  await profiling;
  const { cpuSeconds, rssPeakMiB } = procStats(controller.child.pid!);
  const { heapUsedMiB, staleConnections, reconcileErrors, apiLatency } = await controllerMetrics(
    controller.healthPort,
  );
  const after = await apiserverRequests(admin);
  stopWatch.abort();
  await watching;
  await stopChild(controller.child);

  const { completed, correct, iterationsCompleted, sizes } = await checkOutcomes(admin, ns, args.iterations);
  const { jitters, firsts, jitterByIteration } = timings(tracks, intervalSeconds);
  const lags = [...tracks.values()].flatMap((t) => t.writeLags.map((ms) => ms / 1000)).sort((a, b) => a - b);
  const { total, byVerb } = requestDelta(before, after, n);
  const per = (x: number) => (iterationsCompleted > 0 ? x / iterationsCompleted : Number.NaN);
  if (controller.log.length > 0)
    log(`controller warnings (first ${controller.log.length}):\n${controller.log.slice(0, 5).join("\n")}`);
  const seen = [...tracks.values()].reduce((s, t) => s + t.iterationTimes.length, 0);
  log(`N=${n}: ${seen} iterations seen on the watch, ${iterationsCompleted} in status`);
  return {
    n,
    intervalSeconds,
    iterations: args.iterations,
    jitterP50Seconds: round(quantile(jitters, 0.5)),
    jitterP99Seconds: round(quantile(jitters, 0.99)),
    jitterMaxSeconds: round(jitters.at(-1) ?? Number.NaN),
    writeLagP50Seconds: round(quantile(lags, 0.5)),
    writeLagP99Seconds: round(quantile(lags, 0.99)),
    firstIterationSeconds: round(quantile(firsts, 0.5)),
    firstIterationP99Seconds: round(quantile(firsts, 0.99)),
    firstIterationMaxSeconds: round(firsts.at(-1) ?? Number.NaN),
    requestsPerIteration: round(per(total)),
    requestsPerIterationByVerb: Object.fromEntries(
      Object.entries(byVerb).map(([k, v]) => [k, round(per(v))]),
    ),
    iterationsCompleted,
    completed,
    completedCorrectly: correct,
    controllerCpuSeconds: round(cpuSeconds),
    rssPeakMiB: round(rssPeakMiB),
    heapUsedMiBAtEnd: round(heapUsedMiB),
    staleConnectionsResent: staleConnections,
    controllerApiLatency: apiLatency,
    reconcileErrors,
    ...sizes,
    jitterP99ByIterationSeconds: jitterByIteration.map((xs) => round(quantile(xs, 0.99))),
    wallSeconds: round(wallSeconds),
    controllerFlags: controller.flags,
    controllerNodeOptions: args.nodeOptions ?? "",
  };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** From the controller's own /metrics at the end: heap in use, resent requests, failed passes. */
async function controllerMetrics(port: number): Promise<{
  heapUsedMiB: number;
  staleConnections: number;
  reconcileErrors: number;
  apiLatency: Record<string, ApiLatency>;
}> {
  const text = await controllerMetricsText(port);
  const value = (name: string) => metricValue(text, name);
  return {
    heapUsedMiB: value("iter8_controller_nodejs_heap_size_used_bytes") / 2 ** 20,
    staleConnections: value("iter8_controller_api_stale_connections_total"),
    reconcileErrors: value("iter8_controller_reconcile_errors_total"),
    apiLatency: apiLatencyOf(text),
  };
}

const controllerMetricsText = async (port: number) =>
  (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

/** The value of an unlabelled series in a Prometheus text exposition (NaN when absent). */
const metricValue = (text: string, name: string) =>
  Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);

/** How long the controller's own requests took, socket wait included: mean, and the p99's bucket. */
interface ApiLatency {
  count: number;
  meanSeconds: number;
  /** The upper bound of the histogram bucket that holds the 99th percentile. */
  p99AtMostSeconds: number;
}

function apiLatencyOf(text: string): Record<string, ApiLatency> {
  const series = new Map<string, { buckets: Array<[number, number]>; sum: number; count: number }>();
  const re = /^iter8_controller_api_request_duration_seconds_(bucket|sum|count)\{([^}]*)\} (\S+)$/gm;
  for (const m of text.matchAll(re)) {
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    const key = `${labels["verb"]} ${labels["resource"]}`;
    const s = series.get(key) ?? { buckets: [], sum: 0, count: 0 };
    const v = Number(m[3]);
    if (m[1] === "bucket")
      s.buckets.push([labels["le"] === "+Inf" ? Number.POSITIVE_INFINITY : Number(labels["le"]), v]);
    else if (m[1] === "sum") s.sum = v;
    else s.count = v;
    series.set(key, s);
  }
  const out: Record<string, ApiLatency> = {};
  for (const [key, s] of series) {
    if (s.count === 0) continue;
    const p99 = s.buckets.sort((a, b) => a[0] - b[0]).find(([, c]) => c >= 0.99 * s.count)?.[0] ?? Number.NaN;
    out[key] = { count: s.count, meanSeconds: round(s.sum / s.count), p99AtMostSeconds: p99 };
  }
  return out;
}

/** The controller's memory now, from its /metrics: where a peak RSS comes from over the run. */
async function memoryLine(port: number): Promise<string> {
  try {
    const text = await controllerMetricsText(port);
    const mib = (name: string) => (metricValue(text, `iter8_controller_${name}`) / 2 ** 20).toFixed(0);
    return `controller MiB: rss ${mib("process_resident_memory_bytes")}, heap ${mib("nodejs_heap_size_used_bytes")}/${mib("nodejs_heap_size_total_bytes")}, external ${mib("nodejs_external_memory_bytes")}`;
  } catch (err) {
    return `controller memory unknown (${(err as Error).message})`;
  }
}

async function waitReady(port: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("controller never became ready");
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

async function watchIterations(
  admin: KubeClient,
  ns: string,
  tracks: Map<string, Track>,
  signal: AbortSignal,
): Promise<void> {
  let rv: string | undefined;
  while (!signal.aborted) {
    try {
      await admin.watch<Experiment>(
        experimentsPath(ns),
        { allowWatchBookmarks: true, ...(rv ? { resourceVersion: rv } : {}) },
        (ev) => {
          rv = ev.object.metadata?.resourceVersion ?? rv;
          const t = tracks.get(ev.object.metadata?.name);
          const st = ev.object.status;
          if (t && st?.stage === "Completed") t.ended = true;
          const count = st?.completedIterations ?? 0;
          if (!t || count <= t.lastCount || !st?.lastUpdateTime) return;
          t.lastCount = count;
          t.iterationTimes.push(Date.parse(st.lastUpdateTime));
          t.writeLags.push(Date.now() - Date.parse(st.lastUpdateTime));
        },
        signal,
      );
    } catch {
      if (!signal.aborted) await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function table(runs: RunResult[]): string {
  const rows = [
    [
      "N",
      "interval",
      "jitter p50/p99/max",
      "first iteration p50/p99/max",
      "write lag p50/p99",
      "req/iteration",
      "completed (correctly)",
      "CPU s",
      "RSS peak MiB",
    ],
    ...runs.map((r) => [
      String(r.n),
      `${r.intervalSeconds} s`,
      `${r.jitterP50Seconds} / ${r.jitterP99Seconds} / ${r.jitterMaxSeconds} s`,
      `${r.firstIterationSeconds} / ${r.firstIterationP99Seconds} / ${r.firstIterationMaxSeconds} s`,
      `${r.writeLagP50Seconds} / ${r.writeLagP99Seconds} s`,
      String(r.requestsPerIteration),
      `${r.completed}/${r.n} (${r.completedCorrectly})`,
      String(r.controllerCpuSeconds),
      String(r.rssPeakMiB),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
  for (const r of runs) {
    lines.push(
      `N=${r.n} requests per iteration by verb: ${Object.entries(r.requestsPerIterationByVerb)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")} (controller flags ${r.controllerFlags.join(" ")})`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  log(
    `starting the control plane (load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")})`,
  );
  // The controller runs as shipped (bin/iter8 -> dist/), built from this tree first.
  log("building dist/ (tsc -p tsconfig.build.json)");
  execFileSync(
    process.execPath,
    [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "tsconfig.build.json")],
    {
      stdio: "inherit",
    },
  );
  const env = await startEnv();
  const runs: RunResult[] = [];
  try {
    for (const n of args.ns) runs.push(await runOnce(env, n, args.interval ?? defaultInterval(n), args));
  } finally {
    await env.stop();
  }
  const loadavg = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  if (args.json) process.stdout.write(`${JSON.stringify({ runs, loadAverageAtEnd: loadavg })}\n`);
  else process.stdout.write(`${table(runs)}\nload average at the end: ${loadavg}\n`);
}

main().catch((err) => {
  process.stderr.write(
    `controller-scale: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
