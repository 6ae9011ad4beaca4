// A real Prometheus server for local runs and tests (issue 5 items 4-5): the `prometheus` binary
// (Debian package `prometheus`; `ITER8_PROMETHEUS_BIN` overrides the path) on a free loopback port,
// with a generated config scraping the given targets and its TSDB in a temporary directory.
//
// No Prometheus outlives us: it runs under a small shell watchdog whose stdin is a pipe from this
// process; when the pipe closes (stop(), or this process dies even by SIGKILL) the watchdog stops
// Prometheus. `stop()` closes that pipe and waits for Prometheus to exit (SIGKILL to the process group
// it created if it takes more than 5 s).
//
// Prometheus 2.x hands new scrape targets to its scrape loop about 5 s after start (the discovery
// manager's fixed update period), so the first sample arrives 5-6 s after `startPrometheus`
// resolves: start it before the traffic that matters and `waitForTargetsUp()`.

import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, signalGroup, spawnSupervised } from "./supervise.ts";

export interface PrometheusOptions {
  /** Scrape targets as URLs, e.g. `http://127.0.0.1:8081/metrics` (path defaults to /metrics). */
  targets: string[];
  /** Seconds between scrapes; default 1 (short local runs need several samples quickly). */
  scrapeIntervalSeconds?: number;
  /** The binary; default `$ITER8_PROMETHEUS_BIN`, else `prometheus` from PATH. */
  bin?: string;
  /** How long to wait for `/-/ready`; default 30 s. */
  readyTimeoutMs?: number;
  /** Receives Prometheus's log lines (stderr), e.g. for a lab's log file. */
  onLog?: (line: string) => void;
}

export class PrometheusStartError extends Error {
  override readonly name = "PrometheusStartError";
}

interface Job {
  job_name: string;
  scheme: string;
  metrics_path: string;
  static_configs: { targets: string[] }[];
}

/** The scrape config for `targets` (exported for tests and for showing in lab logs). */
export function prometheusConfig(targets: string[], scrapeIntervalSeconds: number): string {
  if (!(scrapeIntervalSeconds > 0 && Number.isInteger(scrapeIntervalSeconds))) {
    throw new RangeError(`scrapeIntervalSeconds must be a positive integer, got ${scrapeIntervalSeconds}`);
  }
  const jobs = new Map<string, Job>();
  for (const t of targets) {
    let u: URL;
    try {
      u = new URL(t.includes("://") ? t : `http://${t}`);
    } catch {
      throw new RangeError(`scrape target ${JSON.stringify(t)} is not a URL or host:port`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") {
      throw new RangeError(`scrape target ${JSON.stringify(t)} must be http or https`);
    }
    const scheme = u.protocol.slice(0, -1);
    const path = u.pathname === "/" ? "/metrics" : u.pathname;
    const key = `${scheme} ${path}`;
    let job = jobs.get(key);
    if (job === undefined) {
      job = {
        job_name: `iter8-${jobs.size + 1}`,
        scheme,
        metrics_path: path,
        static_configs: [{ targets: [] }],
      };
      jobs.set(key, job);
    }
    job.static_configs[0]?.targets.push(u.host);
  }
  // JSON is valid YAML, and needs no quoting rules of our own.
  return JSON.stringify(
    {
      global: {
        scrape_interval: `${scrapeIntervalSeconds}s`,
        evaluation_interval: `${scrapeIntervalSeconds}s`,
      },
      scrape_configs: [...jobs.values()],
    },
    null,
    2,
  );
}

export class LocalPrometheus {
  /** Base URL, e.g. `http://127.0.0.1:40123` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  readonly targets: readonly string[];
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly #exited: Promise<number | null>;
  #stopped: Promise<void> | undefined;

  constructor(
    url: string,
    port: number,
    targets: string[],
    child: ChildProcess,
    dir: string,
    exited: Promise<number | null>,
  ) {
    this.url = url;
    this.port = port;
    this.targets = targets;
    this.#child = child;
    this.#dir = dir;
    this.#exited = exited;
  }

  /** The query API endpoint Metric resources should use (`…/api/v1/query`). */
  get queryUrl(): string {
    return `${this.url}/api/v1/query`;
  }

  /** Runs an instant query and returns Prometheus's JSON answer. */
  async query(promql: string): Promise<unknown> {
    const res = await fetch(`${this.queryUrl}?${new URLSearchParams({ query: promql })}`);
    return res.json();
  }

  /**
   * Resolves once every configured target has been scraped successfully (health `up`); rejects
   * after `timeoutMs` with the targets' last errors. Expect 5-6 s after start (see the top).
   */
  async waitForTargetsUp(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "no answer yet";
    for (;;) {
      try {
        const res = await fetch(`${this.url}/api/v1/targets?state=active`);
        const body = (await res.json()) as {
          data?: { activeTargets?: { scrapeUrl: string; health: string; lastError: string }[] };
        };
        const active = body.data?.activeTargets ?? [];
        const down = active.filter((t) => t.health !== "up");
        if (active.length >= this.targets.length && down.length === 0) return;
        last =
          down
            .map((t) => `${t.scrapeUrl}: ${t.health}${t.lastError ? ` (${t.lastError})` : ""}`)
            .join("; ") || `${active.length} of ${this.targets.length} targets known`;
      } catch (e) {
        last = (e as Error).message;
      }
      if (Date.now() > deadline)
        throw new PrometheusStartError(`Prometheus targets not up after ${timeoutMs} ms: ${last}`);
      await pause(200);
    }
  }

  /** Stops Prometheus and removes its data directory. Safe to call more than once. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      // EOF on the watchdog's stdin: it sends Prometheus SIGTERM, and the shell exits only once
      // Prometheus has (signalling the group directly would end the shell first).
      this.#child.stdin?.end();
      const killer = setTimeout(() => signalGroup(this.#child, "SIGKILL"), 5000);
      await this.#exited;
      clearTimeout(killer);
      await rm(this.#dir, { recursive: true, force: true });
    })();
    return this.#stopped;
  }
}

/** Starts Prometheus scraping `targets` and resolves when it answers `/-/ready`. */
export async function startPrometheus(options: PrometheusOptions): Promise<LocalPrometheus> {
  const config = prometheusConfig(options.targets, options.scrapeIntervalSeconds ?? 1);
  const bin = options.bin ?? process.env.ITER8_PROMETHEUS_BIN ?? "prometheus";
  // A port we just saw free can be taken before Prometheus binds it; try a few.
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), "iter8-prometheus-"));
    try {
      const configFile = join(dir, "prometheus.yml");
      await writeFile(configFile, config);
      return await launch(bin, dir, configFile, await freePort(), options);
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      lastError = e as Error;
      if (!/address already in use/i.test(lastError.message)) break;
    }
  }
  throw lastError as Error;
}

async function launch(
  bin: string,
  dir: string,
  configFile: string,
  port: number,
  options: PrometheusOptions,
): Promise<LocalPrometheus> {
  const url = `http://127.0.0.1:${port}`;
  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn",
  ];
  // Supervised: stopped, and its data directory removed, even if iter8 itself is killed.
  const child = spawnSupervised([bin, ...args], {
    name: "iter8-prometheus",
    output: ["ignore", "pipe"],
    cleanupDir: dir,
  });
  const stderrTail: string[] = [];
  let partial = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      stderrTail.push(line);
      if (stderrTail.length > 20) stderrTail.shift();
      options.onLog?.(line);
    }
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", () => resolve(null));
  });
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  const instance = new LocalPrometheus(url, port, options.targets, child, dir, exited);

  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let exitedEarly: number | null | "spawn-error" | undefined;
  void exited.then((code) => {
    exitedEarly = code;
  });
  void spawnError.then(() => {
    exitedEarly = "spawn-error";
  });
  for (;;) {
    if (exitedEarly !== undefined) {
      const tail = stderrTail.join("\n").trim();
      child.stdin?.end();
      const hint = exitedEarly === 127 ? ` (is ${bin} installed? set ITER8_PROMETHEUS_BIN)` : "";
      throw new PrometheusStartError(
        `Prometheus (${bin}) exited with status ${exitedEarly}${hint}${tail ? `: ${tail}` : ""}`,
      );
    }
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return instance;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await instance.stop();
      throw new PrometheusStartError(
        `Prometheus not ready at ${url} after ${timeoutMs} ms: ${stderrTail.join("\n").trim()}`,
      );
    }
    await pause(100);
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
