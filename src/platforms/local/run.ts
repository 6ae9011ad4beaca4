// `iter8 local run DIR`: an experiment on one machine. Everything is read and checked first
// (tutorial.ts, preflight.ts); then the versions' processes, the router as the gateway, the traffic
// generators and optionally Prometheus start; the experiment runs with the shared Engine and the
// local adapters; one line is printed per status change, `describe` at the end; everything started
// is stopped, also on Ctrl-C/SIGTERM. Progress lives in the state directory: a run killed and
// started again resumes from the saved status, routing objects and router statistics.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Experiment } from "../../api/types.ts";
import { Engine, type EngineLogger, getCondition, isCompleted, systemClock } from "../../engine/index.ts";
import { type LoadHandle, startLoad } from "../../loadgen/index.ts";
import { createLocalMetrics, type LocalMetrics, type VersionStatsSource } from "../../metrics/index.ts";
import { describeEvidence } from "../../report/evidence.ts";
import { outcomeSection } from "../../report/outcome.ts";
import { endLine, type LogFormat, RunProgress } from "../../report/progress.ts";
import { describeText, renderReport } from "../../report/render.ts";
import { MetricsStore, type Router, startRouter } from "../../router/index.ts";
import { restoreMetrics, serialiseMetrics } from "../../router/metrics.ts";
import { InProcessTaskRunner } from "../../tasks/index.ts";
import { LocalCluster, type Promotion, type RoutingState } from "./cluster.ts";
import { TutorialError } from "./errors.ts";
import { type CommandShim, startCommandShim } from "./helm-shim.ts";
import type { MetricsBackend } from "./lab.ts";
import { preflight } from "./preflight.ts";
import { DEFAULT_READY_TIMEOUT_MS } from "./processes.ts";
import { finalReport, ProgressPrinter } from "./progress.ts";
import { type LocalPrometheus, startPrometheus } from "./prometheus.ts";
import {
  checkStoredExperiment,
  type RunRecord,
  readRunRecord,
  readStoredExperiment,
  runHistory,
} from "./run-state.ts";
import { dryRunStandIn, dryRunTasks, taskPermission } from "./safe-tasks.ts";
import { FileExperimentStore, keyOf, startHeartbeat, writeAtomic } from "./store.ts";
import { loadTutorial, type Tutorial } from "./tutorial.ts";
import { VersionSet } from "./version-set.ts";
import { knativeRevisions, knativeWorkload, type Workload } from "./workloads.ts";

export { formatSplit } from "./progress.ts";
export type { IterationRecord, RunRecord } from "./run-state.ts";

export interface LocalRunOptions {
  dir: string;
  stateDir: string;
  /** Overrides `spec.duration.intervalSeconds`. */
  intervalSeconds?: number;
  metrics?: MetricsBackend;
  /** Another lab file instead of DIR/lab.yaml. */
  labFile?: string;
  /** Start afresh even if the state directory holds an unfinished run of this experiment. */
  fresh?: boolean;
  /** Run the checks only. */
  dryRun?: boolean;
  /** Run every command task (common/exec, common/bash) instead of printing the unmapped ones. */
  runTasks?: boolean;
  /** Fixed loopback ports for the gateway and the admin endpoint (default: free ones). */
  gatewayPort?: number;
  adminPort?: number;
  /** Overrides the lab's readyTimeout. */
  readyTimeoutMs?: number;
  /** A Prometheus that already runs (and scrapes the admin endpoint): none is started. */
  prometheusUrl?: string;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Draws the live status line (src/report/progress.ts); absent: none. */
  status?: (line: string) => void;
  /** Engine log lines as sentences (text) or JSON lines. */
  logFormat?: LogFormat;
  signal?: AbortSignal;
}

export interface LocalRunResult {
  exitCode: number;
  experiment?: Experiment;
  promotions: Promotion[];
}

export function runFilePath(stateDir: string, exp: Experiment): string {
  const k = keyOf(exp);
  return join(stateDir, "runs", `${k.namespace}.${k.name}.json`);
}

/** Reads and checks everything, then (unless `dryRun`) runs the experiment. */
export async function runLocal(opts: LocalRunOptions): Promise<LocalRunResult> {
  const tutorial = loadTutorial(opts.dir, {
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.labFile ? { labFile: opts.labFile } : {}),
  });
  if (opts.intervalSeconds !== undefined && !(opts.intervalSeconds > 0))
    throw new TutorialError([
      `--interval: must be a positive number of seconds, got ${opts.intervalSeconds}`,
    ]);
  const permission = taskPermission(tutorial.lab, opts.runTasks ?? false);
  const ports: Record<string, number> = {};
  if (opts.gatewayPort !== undefined) ports["--gateway-port"] = opts.gatewayPort;
  if (opts.adminPort !== undefined) ports["--admin-port"] = opts.adminPort;
  const problems = await preflight(tutorial, {
    permission,
    ports,
    startsPrometheus: tutorial.metricsBackend === "prometheus" && opts.prometheusUrl === undefined,
  });
  if (problems.length > 0) throw new TutorialError(problems);
  for (const w of tutorial.warnings) opts.err(`iter8: warning: ${w}\n`);
  const dry = dryRunTasks(tutorial.experiment, permission);
  if (dry.length > 0)
    opts.out(
      `tasks printed, not run (a dry run; list their commands in runTasks or pass --run-tasks): ${dry.join(", ")}\n`,
    );
  if (opts.dryRun) {
    opts.out(
      `${opts.dir}: ready to run: experiment ${tutorial.experiment.metadata.name}, versions ${tutorial.workloads.map((w) => w.name).join(", ")}, ${tutorial.generators.length} load generator(s), ${tutorial.metricsBackend} metrics\n`,
    );
    return { exitCode: 0, promotions: [] };
  }
  mkdirSync(join(opts.stateDir, "runs"), { recursive: true });
  return new LocalRun(tutorial, opts).run();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The router's statistics, or for a moment (taking a saved zero point) another store's. */
class SwitchableStats implements VersionStatsSource {
  readonly #live: VersionStatsSource;
  #other: VersionStatsSource | undefined;
  constructor(live: VersionStatsSource) {
    this.#live = live;
  }
  use(other: VersionStatsSource | undefined): void {
    this.#other = other;
  }
  snapshot(version: string) {
    return (this.#other ?? this.#live).snapshot(version);
  }
  async sync(): Promise<void> {
    if (!this.#other) await this.#live.sync?.();
  }
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

interface Prepared {
  experiment: Experiment;
  routing: RoutingState;
  resume: boolean;
}

class LocalRun {
  readonly #t: Tutorial;
  readonly #o: LocalRunOptions;
  readonly #loads: LoadHandle[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #abort = new AbortController();
  readonly #versions: VersionSet;
  readonly #progress: ProgressPrinter;
  #fatal: string | undefined;
  #stats: SwitchableStats | undefined;
  #router: Router | undefined;
  #shim: CommandShim | undefined;
  #prometheus: LocalPrometheus | undefined;
  #engine: Engine | undefined;
  /** The live status line, warnings and engine logs (src/report/progress.ts). */
  #live: RunProgress | undefined;
  #record!: RunRecord;
  #runFile = "";

  constructor(t: Tutorial, o: LocalRunOptions) {
    this.#t = t;
    this.#o = o;
    this.#progress = new ProgressPrinter(o.out);
    this.#versions = new VersionSet({
      readyTimeoutMs: o.readyTimeoutMs ?? t.lab.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      report: (line) => o.out(line),
      onFatal: (reason) => {
        this.#fatal = reason;
        this.#abort.abort(new Error(reason));
      },
    });
  }

  async run(): Promise<LocalRunResult> {
    const store = new FileExperimentStore({
      stateDir: this.#o.stateDir,
      metrics: this.#t.metrics,
      onWrite: (e) => this.#onWrite(e),
    });
    const prepared = await this.#prepare(store);
    const onAbort = () => this.#abort.abort(this.#o.signal?.reason);
    this.#o.signal?.addEventListener("abort", onAbort, { once: true });
    // Lets other terminals tell a live run from an interrupted one (store.ts, runnerLiveness).
    const key = keyOf(prepared.experiment);
    const stopHeartbeat = startHeartbeat(this.#o.stateDir, key, this.#t.dir);
    try {
      return await this.#runStarted(store, prepared);
    } catch (e) {
      if (this.#fatal === undefined) throw e;
      this.#o.err(`iter8: ${this.#fatal}\n`);
      this.#saveRecord();
      return { exitCode: 1, promotions: [] };
    } finally {
      this.#o.signal?.removeEventListener("abort", onAbort);
      await this.#stopAll();
      stopHeartbeat();
    }
  }

  /** A fresh experiment, or the saved one of an unfinished run (checked before it is trusted). */
  async #prepare(store: FileExperimentStore): Promise<Prepared> {
    const o = this.#o;
    const key = keyOf(this.#t.experiment);
    this.#runFile = runFilePath(o.stateDir, this.#t.experiment);
    const stored = readStoredExperiment(store.pathOf(key));
    const unfinished = stored !== undefined && !isCompleted(stored);
    const previous = unfinished ? readRunRecord(this.#runFile) : undefined;
    if (unfinished && previous && previous.pid !== process.pid && alive(previous.pid))
      throw new TutorialError([
        `${store.pathOf(key)}: experiment ${key.namespace}/${key.name} is being run by process ${previous.pid}; stop it or use another --state-dir`,
      ]);
    const resume = unfinished && previous !== undefined && !o.fresh;
    if (resume) checkStoredExperiment(store.pathOf(key), stored);
    if (o.fresh && stored !== undefined && !isCompleted(stored))
      o.out(
        `--fresh: discarding the unfinished run of ${key.namespace}/${key.name} in ${store.pathOf(key)} (stage ${stored.status?.stage ?? "-"}, ${stored.status?.completedIterations ?? 0} iterations completed)\n`,
      );
    let experiment: Experiment;
    let routing: RoutingState;
    if (resume) {
      experiment = stored;
      routing = previous.routing;
      this.#progress.seen(stored);
      o.out(
        `resuming ${key.namespace}/${key.name} from ${store.pathOf(key)}: stage ${stored.status?.stage ?? "-"}, ${stored.status?.completedIterations ?? 0} iterations completed\n`,
      );
    } else {
      experiment = structuredClone(this.#t.experiment);
      delete experiment.status;
      delete experiment.metadata.resourceVersion;
      routing = { objects: structuredClone(this.#t.routing), promotions: [] };
    }
    if (o.intervalSeconds !== undefined)
      experiment.spec.duration = { ...experiment.spec.duration, intervalSeconds: o.intervalSeconds };
    this.#record = {
      tutorial: this.#t.dir,
      pid: process.pid,
      startedAt: new Date().toISOString(),
      metrics: this.#t.metricsBackend,
      routing,
      history: runHistory(experiment),
      source: this.#t.experimentSource,
      ...(resume && previous.routerMetrics !== undefined ? { routerMetrics: previous.routerMetrics } : {}),
      ...(resume && previous.routerMetricsAtStart !== undefined
        ? { routerMetricsAtStart: previous.routerMetricsAtStart }
        : {}),
    };
    // Last check before starting anything: the weights the experiment names must be readable.
    const probe = new LocalCluster({ state: routing, upstreams: {}, revisionReady: () => false });
    try {
      await probe.read(experiment);
    } catch (e) {
      throw new TutorialError([
        `${this.#t.experimentFile}: Experiment ${experiment.metadata.name}: spec.versionInfo weightObjRef: ${(e as Error).message}`,
      ]);
    }
    return { experiment, routing, resume };
  }

  /** The workloads of the routing objects to start now (on resume: including promoted revisions). */
  #workloads(routing: RoutingState): Workload[] {
    if (this.#t.lab.versions) return this.#t.workloads;
    const out: Workload[] = [];
    for (const rev of knativeRevisions(routing.objects)) {
      const w = knativeWorkload(rev, this.#t.lab);
      if (typeof w === "string") throw new Error(w);
      out.push(w);
    }
    return out;
  }

  async #startVersion(w: Workload): Promise<string> {
    const address = await this.#versions.start(w);
    const kind = this.#t.lab.versions ? "version" : "revision";
    this.#o.out(`${w.argv ? "started" : "using"} ${kind} ${w.name} (${w.origin}) on ${address}\n`);
    return address;
  }

  async #runStarted(store: FileExperimentStore, p: Prepared): Promise<LocalRunResult> {
    const signal = this.#abort.signal;
    const upstreams: Record<string, string> = {};
    await Promise.all(
      this.#workloads(p.routing).map(async (w) => {
        upstreams[w.name] = await this.#startVersion(w);
      }),
    );
    signal.throwIfAborted();
    const cluster = await this.#startRouter(p.routing, upstreams);
    const taskEnv = await this.#startShim(cluster);
    const metrics = await this.#startMetrics(store);
    this.#startTraffic(signal);
    this.#saveRecord();
    const final = await this.#runExperiment(store, p, cluster, metrics, taskEnv, signal);
    return this.#finish(final, cluster);
  }

  async #startRouter(routing: RoutingState, upstreams: Record<string, string>): Promise<LocalCluster> {
    const lab = this.#t.lab;
    const cluster = new LocalCluster({
      state: routing,
      upstreams,
      revisionReady: (rev) => this.#versions.ready(rev),
      setRoutes: (table) => this.#router!.setRoutes(table),
      onChange: async (state) => {
        this.#record.routing = state;
        this.#saveRecord();
      },
      startRevision: async (rev, namespace, service, container) => {
        const w = knativeWorkload({ name: rev, namespace, service, container }, lab);
        if (typeof w === "string") throw new Error(w);
        return this.#startVersion(w);
      },
      ...(lab.helm ? { helm: lab.helm } : {}),
    });
    this.#router = await startRouter({
      listen: { host: "127.0.0.1", port: this.#o.gatewayPort ?? 0 },
      admin: { host: "127.0.0.1", port: this.#o.adminPort ?? 0 },
      table: cluster.table(),
    });
    const saved = this.#record.routerMetrics;
    if (saved !== undefined && this.#router.metrics instanceof MetricsStore) {
      try {
        restoreMetrics(this.#router.metrics, saved);
        const counts = this.#router.metrics
          .versions()
          .map((v) => `${v}=${this.#router!.metrics.snapshot(v)?.count}`);
        this.#o.out(`router statistics restored from ${this.#runFile}: ${counts.join(" ")}\n`);
      } catch (e) {
        throw new TutorialError([
          `${this.#runFile}: routerMetrics.${(e as Error).message}; remove the file or use --fresh`,
        ]);
      }
    }
    this.#o.out(`router (gateway) on ${this.#router.url}, admin ${this.#router.adminUrl}\n`);
    this.#record.addresses = {
      router: this.#router.url,
      ...(this.#router.adminUrl ? { admin: this.#router.adminUrl } : {}),
    };
    return cluster;
  }

  /** The Helm stand-in first on the tasks' PATH (when the lab maps helm). */
  async #startShim(cluster: LocalCluster): Promise<NodeJS.ProcessEnv> {
    const helm = this.#t.lab.helm;
    if (!helm) return process.env;
    this.#shim = await startCommandShim(helm.command, async (argv) => {
      const out = await cluster.helm(argv);
      this.#o.out(`promotion: ${helm.command} ${argv.join(" ")}\n  ${out}`);
      return out;
    });
    return this.#shim.env(process.env);
  }

  /** The router's statistics, or a Prometheus scraping the router (started here or given). */
  async #startMetrics(store: FileExperimentStore): Promise<LocalMetrics> {
    const router = this.#router!;
    let prometheusUrl = this.#o.prometheusUrl;
    if (this.#t.metricsBackend === "prometheus" && prometheusUrl === undefined) {
      this.#prometheus = await startPrometheus({ targets: [`${router.adminUrl}/metrics`] });
      await this.#prometheus.waitForTargetsUp();
      prometheusUrl = this.#prometheus.url;
      this.#o.out(`prometheus on ${prometheusUrl}, scraping ${router.adminUrl}/metrics\n`);
    } else if (prometheusUrl !== undefined) {
      this.#o.out(`prometheus at ${prometheusUrl} (it must scrape ${router.adminUrl}/metrics)\n`);
    }
    if (prometheusUrl !== undefined) this.#record.addresses!.prometheus = prometheusUrl;
    this.#stats = new SwitchableStats(router.metrics);
    return createLocalMetrics({
      routerStats: this.#stats,
      ...(prometheusUrl && this.#t.metricsBackend === "prometheus" ? { prometheusUrl } : {}),
      resolveMetric: (k) => store.getMetric(k),
    });
  }

  #startTraffic(signal: AbortSignal): void {
    for (const g of this.#t.generators) {
      const u = new URL(g.url);
      const begin = () => {
        if (signal.aborted) return;
        this.#loads.push(
          startLoad({
            url: `${this.#router!.url}${u.pathname}${u.search}`,
            headers: { Host: u.host, ...g.headers },
            qps: g.qps,
            connections: g.connections,
            ...(g.durationMs !== undefined ? { duration: g.durationMs } : {}),
          }),
        );
      };
      if (g.delayMs > 0) this.#timers.push(setTimeout(begin, g.delayMs));
      else begin();
      const hdrs = Object.entries(g.headers)
        .map(([k, v]) => ` -H "${k}: ${v}"`)
        .join("");
      this.#o.out(`traffic ${g.name}: ${g.url}${hdrs} at ${round(g.qps)} req/s\n`);
    }
  }

  /** Starts the live progress line; its logger turns engine logs into sentences (or JSON lines). */
  #startProgress(): EngineLogger {
    const o = this.#o;
    const router = this.#router!;
    this.#live = new RunProgress({
      err: o.err,
      ...(o.status ? { status: o.status } : {}),
      logFormat: o.logFormat ?? "text",
      debug: Boolean(process.env["ITER8_DEBUG"]),
      requests: () =>
        Object.fromEntries(router.metrics.versions().map((v) => [v, router.metrics.snapshot(v)?.count ?? 0])),
    });
    this.#live.start();
    return this.#live.logger();
  }

  async #runExperiment(
    store: FileExperimentStore,
    p: Prepared,
    cluster: LocalCluster,
    metrics: LocalMetrics,
    taskEnv: NodeJS.ProcessEnv,
    signal: AbortSignal,
  ): Promise<Experiment | undefined> {
    const tasks = new InProcessTaskRunner({
      platform: cluster,
      env: taskEnv,
      knativeTiming: { attempts: 20, intervalMs: 500 },
      standIn: dryRunStandIn(taskPermission(this.#t.lab, this.#o.runTasks ?? false), (l) => this.#o.out(l)),
    });
    this.#engine = new Engine({
      store,
      actuator: cluster,
      metrics: metrics.provider,
      tasks,
      clock: systemClock,
      logger: this.#startProgress(),
      // The built-in metrics count from here; the router's statistics of this moment are saved so a
      // resumed run takes the same zero point.
      onRunning: (exp) => {
        const m = this.#router?.metrics;
        if (m instanceof MetricsStore) this.#record.routerMetricsAtStart = serialiseMetrics(m);
        void metrics.builtin?.markStart(exp);
      },
    });
    if (p.resume) {
      if (this.#o.intervalSeconds !== undefined) await store.updateSpec(p.experiment);
      await this.#restoreBaseline(p.experiment, metrics);
      // Without saved statistics (a run record of an older iter8), let the versions serve one
      // interval so the next iteration has data.
      if (p.experiment.status?.stage === "Running" && this.#record.routerMetrics === undefined) {
        const seconds = p.experiment.spec.duration?.intervalSeconds ?? 20;
        this.#o.out(`waiting ${seconds} s for traffic before the next iteration\n`);
        await systemClock.sleep(seconds * 1000, signal);
      }
    } else {
      await store.put(p.experiment);
    }
    return this.#engine.runExperiment(keyOf(p.experiment), { signal });
  }

  /**
   * The built-in metrics count from the experiment's start: on resume, that zero point is the saved
   * statistics of the moment it entered Running (the router's own statistics continue from the saved
   * state, so readings go on where they stopped).
   */
  async #restoreBaseline(exp: Experiment, metrics: LocalMetrics): Promise<void> {
    const saved = this.#record.routerMetricsAtStart;
    if (saved === undefined || !metrics.builtin || !this.#stats || exp.status?.stage !== "Running") return;
    const atStart = new MetricsStore();
    try {
      restoreMetrics(atStart, saved);
    } catch (e) {
      throw new TutorialError([
        `${this.#runFile}: routerMetricsAtStart.${(e as Error).message}; remove the file or use --fresh`,
      ]);
    }
    this.#stats.use(atStart);
    try {
      await metrics.builtin.markStart(exp);
    } finally {
      this.#stats.use(undefined);
    }
  }

  async #finish(final: Experiment | undefined, cluster: LocalCluster): Promise<LocalRunResult> {
    const router = this.#router!;
    await router.metrics.sync();
    const counts: Record<string, number> = {};
    for (const v of router.metrics.versions()) counts[v] = router.metrics.snapshot(v)?.count ?? 0;
    this.#record.counts = counts;
    this.#saveRecord();
    if (!final)
      throw new Error(`experiment ${this.#t.experiment.metadata.name} disappeared from the state directory`);
    const promotions = cluster.state.promotions;
    this.#live?.stop();
    this.#o.status?.("");
    const described =
      describeText(final, this.#t.experimentSource) + describeEvidence(final) + outcomeSection(final);
    this.#o.out(finalReport(described, promotions, counts));
    const reportPath = join(this.#o.stateDir, "report.html");
    writeFileSync(reportPath, renderReport(final, described, "html", new Date()));
    this.#o.out(`report: ${reportPath}\n`);
    this.#o.out(endLine(final));
    const failed = getCondition(final, "Failed")?.status === "True";
    return { exitCode: isCompleted(final) && !failed ? 0 : 1, experiment: final, promotions };
  }

  #onWrite(exp: Experiment): void {
    this.#live?.onWrite(exp);
    this.#record.history = runHistory(exp);
    // Every status write also saves the router's statistics, so a killed run resumes with them.
    this.#saveRecord();
    this.#progress.row(exp);
  }

  #saveRecord(): void {
    if (!this.#runFile) return;
    const m = this.#router?.metrics;
    if (m instanceof MetricsStore) this.#record.routerMetrics = serialiseMetrics(m);
    try {
      writeAtomic(this.#runFile, `${JSON.stringify(this.#record, null, 2)}\n`);
    } catch (e) {
      this.#o.err(`iter8: warning: cannot write ${this.#runFile}: ${(e as Error).message}\n`);
    }
  }

  async #stopAll(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#engine?.close();
    this.#live?.stop();
    await Promise.allSettled(this.#loads.map((l) => l.stop()));
    await Promise.allSettled([
      this.#shim?.close(),
      this.#prometheus?.stop(),
      this.#router?.close(),
      this.#versions.close(),
    ]);
  }
}
