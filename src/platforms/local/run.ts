// `iter8 local run DIR`: a seed tutorial on one machine. Everything is read and checked first
// (tutorial.ts); then the versions' processes, the router as the gateway, the traffic generators and
// optionally Prometheus start; the experiment runs with the shared Engine and the local adapters; one
// line is printed per status change (the `kubectl get experiment --watch` columns plus the traffic
// split), `describe` at the end; everything started is stopped, also on Ctrl-C/SIGTERM.
// Progress lives in the state directory: a run killed and started again resumes from the saved
// status and the saved routing objects.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Experiment } from "../../api/types.ts";
import { Engine, type EngineLogger, getCondition, isCompleted, systemClock } from "../../engine/index.ts";
import { sourceVersionOf } from "../../engine/spec.ts";
import { type LoadHandle, startLoad } from "../../loadgen/index.ts";
import { createLocalMetrics } from "../../metrics/index.ts";
import { describeExperiment } from "../../report/describe.ts";
import { writtenMetricReferences } from "../../report/references.ts";
import { ColumnWriter, EXPERIMENT_COLUMNS, experimentCells } from "../../report/table.ts";
import { type Router, startRouter } from "../../router/index.ts";
import { InProcessTaskRunner } from "../../tasks/index.ts";
import { LocalCluster, type Promotion, type RoutingState } from "./cluster.ts";
import { TutorialError } from "./errors.ts";
import { getPath } from "./fieldpath.ts";
import { type CommandShim, startCommandShim } from "./helm-shim.ts";
import type { MetricsBackend } from "./lab.ts";
import { startVersionProcess, type VersionProcess } from "./processes.ts";
import { type LocalPrometheus, startPrometheus } from "./prometheus.ts";
import { FileExperimentStore, keyOf, readJson, writeAtomic } from "./store.ts";
import { loadTutorial, type Tutorial } from "./tutorial.ts";

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
  out: (text: string) => void;
  err: (text: string) => void;
  signal?: AbortSignal;
}

export interface IterationRecord {
  iteration: number;
  time: string;
  weights: Record<string, number>;
  recommended?: string;
}

/** `runs/<namespace>.<name>.json`: what a resumed run needs besides the experiment, and a record. */
export interface RunRecord {
  tutorial: string;
  pid: number;
  startedAt: string;
  metrics: MetricsBackend;
  routing: RoutingState;
  history: IterationRecord[];
  /** The Experiment document as written in the tutorial (metric labels as written, for describe). */
  source?: unknown;
  /** Requests the router answered per version (revision), at the end of the run. */
  counts?: Record<string, number>;
  addresses?: { router: string; admin?: string; prometheus?: string };
}

export interface LocalRunResult {
  exitCode: number;
  experiment?: Experiment;
  promotions: Promotion[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export function runFilePath(stateDir: string, exp: Experiment): string {
  const k = keyOf(exp);
  return join(stateDir, "runs", `${k.namespace}.${k.name}.json`);
}

/** "current=80 candidate=20" from the observed weights. */
export function formatSplit(exp: Experiment): string {
  const w = exp.status?.currentWeightDistribution ?? [];
  return w.map((x) => `${x.name}=${x.value}`).join(" ");
}

/** Revisions the routing objects define, with their container (newest manifest wins). */
function revisionContainers(
  objects: Obj[],
): Map<string, { container: Obj; namespace: string; service: string }> {
  const out = new Map<string, { container: Obj; namespace: string; service: string }>();
  const counts = new Map<string, number>();
  for (const o of objects) {
    if (o["kind"] !== "Service" || !String(o["apiVersion"]).startsWith("serving.knative.dev/")) continue;
    const md = isObj(o["metadata"]) ? o["metadata"] : {};
    const name = String(md["name"]);
    const ns = (md["namespace"] as string) || "default";
    const n = (counts.get(`${ns}/${name}`) ?? 0) + 1;
    counts.set(`${ns}/${name}`, n);
    const t = getPath(o, ["spec", "template", "metadata", "name"]);
    const rev = typeof t === "string" ? t : `${name}-${String(n).padStart(5, "0")}`;
    const c = getPath(o, ["spec", "template", "spec", "containers", 0]);
    out.set(rev, { container: isObj(c) ? c : {}, namespace: ns, service: name });
  }
  return out;
}

function envOf(container: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of Array.isArray(container["env"]) ? container["env"] : [])
    if (isObj(e) && typeof e["name"] === "string") env[e["name"]] = String(e["value"] ?? "");
  return env;
}

export async function runLocal(opts: LocalRunOptions): Promise<LocalRunResult> {
  const tutorial = loadTutorial(opts.dir, {
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.labFile ? { labFile: opts.labFile } : {}),
  });
  if (opts.intervalSeconds !== undefined && !(opts.intervalSeconds > 0))
    throw new TutorialError([
      `--interval: must be a positive number of seconds, got ${opts.intervalSeconds}`,
    ]);
  mkdirSync(join(opts.stateDir, "runs"), { recursive: true });
  return new LocalRun(tutorial, opts).run();
}

class LocalRun {
  readonly #t: Tutorial;
  readonly #o: LocalRunOptions;
  readonly #processes = new Map<string, VersionProcess>();
  readonly #loads: LoadHandle[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  #router: Router | undefined;
  #shim: CommandShim | undefined;
  #prometheus: LocalPrometheus | undefined;
  #engine: Engine | undefined;
  #record!: RunRecord;
  #runFile = "";
  #writer = new ColumnWriter();
  #printedHeader = false;
  #lastRow = "";

  constructor(t: Tutorial, o: LocalRunOptions) {
    this.#t = t;
    this.#o = o;
  }

  async run(): Promise<LocalRunResult> {
    const o = this.#o;
    const store = new FileExperimentStore({
      stateDir: o.stateDir,
      metrics: this.#t.metrics,
      onWrite: (e) => this.#onWrite(e),
    });
    const key = keyOf(this.#t.experiment);
    this.#runFile = runFilePath(o.stateDir, this.#t.experiment);
    const stored = await store.get(key);
    const previous = readJson<RunRecord>(this.#runFile);
    const resume = stored !== undefined && !isCompleted(stored) && !o.fresh && previous !== undefined;
    if (
      stored !== undefined &&
      !isCompleted(stored) &&
      previous &&
      previous.pid !== process.pid &&
      alive(previous.pid)
    ) {
      throw new TutorialError([
        `${store.pathOf(key)}: experiment ${key.namespace}/${key.name} is being run by process ${previous.pid}; stop it or use another --state-dir`,
      ]);
    }

    let experiment: Experiment;
    let routing: RoutingState;
    if (resume) {
      experiment = stored;
      routing = previous.routing;
      // The saved state is announced below; print rows again only when it changes.
      this.#lastRow = rowKey(stored);
      o.out(
        `resuming ${key.namespace}/${key.name} from ${store.pathOf(key)}: stage ${stored.status?.stage ?? "-"}, ${stored.status?.completedIterations ?? 0} iterations completed\n`,
      );
    } else {
      experiment = structuredClone(this.#t.experiment);
      delete experiment.status;
      delete experiment.metadata.resourceVersion;
      routing = { objects: structuredClone(this.#t.routing), promotions: [] };
    }
    if (o.intervalSeconds !== undefined) {
      experiment.spec.duration = { ...experiment.spec.duration, intervalSeconds: o.intervalSeconds };
    }
    this.#record = {
      tutorial: this.#t.dir,
      pid: process.pid,
      startedAt: new Date().toISOString(),
      metrics: this.#t.metricsBackend,
      routing,
      history: resume ? previous.history : [],
      source: this.#t.experimentSource,
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

    const abort = new AbortController();
    const onAbort = () => abort.abort(o.signal?.reason);
    o.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await this.#runStarted(store, experiment, routing, resume, abort.signal);
    } finally {
      o.signal?.removeEventListener("abort", onAbort);
      await this.#stopAll();
    }
  }

  async #runStarted(
    store: FileExperimentStore,
    experiment: Experiment,
    routing: RoutingState,
    resume: boolean,
    signal: AbortSignal,
  ): Promise<LocalRunResult> {
    const o = this.#o;
    const t = this.#t;
    const lab = t.lab;
    // 1. The versions' processes.
    const upstreams: Record<string, string> = {};
    const start = async (rev: string, container: Obj): Promise<string> => {
      const image = String(container["image"] ?? "").trim();
      const mapped = lab.images[image];
      if (!mapped) throw new Error(`revision ${rev}: image ${image} is not mapped in ${lab.file} images`);
      const extra = lab.revisions[rev];
      const p = await startVersionProcess({
        revision: rev,
        argv: [...mapped.command, ...mapped.args, ...(extra?.args ?? [])],
        env: { ...envOf(container), ...(extra?.env ?? {}) },
      });
      this.#processes.set(rev, p);
      o.out(`started revision ${rev} (${image}) on ${p.address}\n`);
      return p.address;
    };
    const revs = revisionContainers(routing.objects);
    await Promise.all(
      [...revs].map(async ([rev, r]) => {
        upstreams[rev] = await start(rev, r.container);
      }),
    );
    signal.throwIfAborted();

    // 2. The router, as the gateway, with the held routing objects.
    const cluster = new LocalCluster({
      state: routing,
      upstreams,
      revisionReady: (rev) => this.#processes.get(rev)?.ready ?? false,
      setRoutes: (table) => this.#router!.setRoutes(table),
      onChange: async (state) => {
        this.#record.routing = state;
        this.#saveRecord();
      },
      startRevision: (rev, _ns, _svc, container) => start(rev, container),
      ...(lab.helm ? { helm: lab.helm } : {}),
    });
    this.#router = await startRouter({
      listen: { host: "127.0.0.1", port: 0 },
      admin: { host: "127.0.0.1", port: 0 },
      table: cluster.table(),
    });
    o.out(`router (gateway) on ${this.#router.url}, admin ${this.#router.adminUrl}\n`);
    this.#record.addresses = {
      router: this.#router.url,
      ...(this.#router.adminUrl ? { admin: this.#router.adminUrl } : {}),
    };

    // 3. The Helm stand-in on the tasks' PATH.
    let taskEnv: NodeJS.ProcessEnv = process.env;
    if (lab.helm) {
      this.#shim = await startCommandShim(lab.helm.command, async (argv) => {
        const out = await cluster.helm(argv);
        o.out(`promotion: ${lab.helm!.command} ${argv.join(" ")}\n  ${out}`);
        return out;
      });
      taskEnv = this.#shim.env(process.env);
    }

    // 4. Metrics: the router's statistics, or a real Prometheus scraping the router.
    let prometheusUrl: string | undefined;
    if (t.metricsBackend === "prometheus") {
      this.#prometheus = await startPrometheus({ targets: [`${this.#router.adminUrl}/metrics`] });
      await this.#prometheus.waitForTargetsUp();
      prometheusUrl = this.#prometheus.url;
      this.#record.addresses.prometheus = prometheusUrl;
      o.out(`prometheus on ${prometheusUrl}, scraping ${this.#router.adminUrl}/metrics\n`);
    }
    const metrics = createLocalMetrics({
      routerStats: this.#router.metrics,
      ...(prometheusUrl ? { prometheusUrl } : {}),
      resolveMetric: (k) => store.getMetric(k),
    });

    // 5. Traffic.
    for (const g of t.generators) {
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
      o.out(`traffic ${g.name}: ${g.url}${hdrs} at ${round(g.qps)} req/s\n`);
    }
    this.#saveRecord();

    // 6. The experiment.
    const logger: EngineLogger = {
      debug() {},
      // Progress is already on stdout, one line per status change; info is for ITER8_DEBUG.
      info: (msg, f) => {
        if (process.env["ITER8_DEBUG"]) o.err(`iter8: ${msg}${f ? ` ${JSON.stringify(f)}` : ""}\n`);
      },
      warn: (msg, f) => o.err(`iter8: warning: ${msg}${f ? ` ${JSON.stringify(f)}` : ""}\n`),
      error: (msg, f) => o.err(`iter8: error: ${msg}${f ? ` ${JSON.stringify(f)}` : ""}\n`),
    };
    this.#engine = new Engine({
      store,
      actuator: cluster,
      metrics: metrics.provider,
      tasks: new InProcessTaskRunner({
        platform: cluster,
        env: taskEnv,
        knativeTiming: { attempts: 20, intervalMs: 500 },
      }),
      clock: systemClock,
      logger,
      onRunning: (exp) => void metrics.builtin?.markStart(exp),
    });
    if (resume) {
      if (this.#o.intervalSeconds !== undefined) await store.updateSpec(experiment);
      // The router's statistics restart with it; the built-in metrics are cumulative over what it
      // saw. Let the versions serve one interval before the next iteration so that iteration has
      // data (on a cluster, Prometheus would have kept the history).
      if (experiment.status?.stage === "Running") {
        const seconds = experiment.spec.duration?.intervalSeconds ?? 20;
        o.out(`waiting ${seconds} s for traffic before the next iteration\n`);
        await systemClock.sleep(seconds * 1000, signal);
      }
    } else {
      await store.put(experiment);
    }
    const final = await this.#engine.runExperiment(keyOf(experiment), { signal });

    // 7. Report.
    await this.#router.metrics.sync();
    const counts: Record<string, number> = {};
    for (const v of this.#router.metrics.versions()) counts[v] = this.#router.metrics.snapshot(v)?.count ?? 0;
    this.#record.counts = counts;
    this.#saveRecord();
    if (!final)
      throw new Error(`experiment ${experiment.metadata.name} disappeared from the state directory`);
    o.out("\n");
    o.out(
      describeExperiment(final, {
        layout: sourceVersionOf(final),
        writtenReferences: writtenMetricReferences(t.experimentSource, final),
      }),
    );
    const promotions = cluster.state.promotions;
    for (const p of promotions)
      o.out(
        `promoted: release ${p.release} with ${p.values.join(", ")} -> Knative Service ${p.service} revision ${p.revision} (${Object.entries(
          p.traffic,
        )
          .map(([r, v]) => `${r}=${v}%`)
          .join(" ")})\n`,
      );
    o.out(
      `requests per revision: ${Object.entries(counts)
        .map(([v, n]) => `${v}=${n}`)
        .join(" ")}\n`,
    );
    const failed = getCondition(final, "Failed")?.status === "True";
    return { exitCode: isCompleted(final) && !failed ? 0 : 1, experiment: final, promotions };
  }

  #onWrite(exp: Experiment): void {
    const cells = [...experimentCells(exp), formatSplit(exp)];
    const row = rowKey(exp);
    const st = exp.status;
    const n = st?.completedIterations ?? 0;
    const last = this.#record.history[this.#record.history.length - 1];
    if (n > 0 && (!last || last.iteration < n)) {
      const weights: Record<string, number> = {};
      for (const w of st?.currentWeightDistribution ?? []) weights[w.name] = w.value;
      this.#record.history.push({
        iteration: n,
        time: new Date().toISOString(),
        weights,
        ...(st?.versionRecommendedForPromotion ? { recommended: st.versionRecommendedForPromotion } : {}),
      });
      this.#saveRecord();
    }
    if (row === this.#lastRow) return;
    this.#lastRow = row;
    const rows: string[][] = [];
    if (!this.#printedHeader) {
      rows.push([...EXPERIMENT_COLUMNS, "TRAFFIC"]);
      this.#printedHeader = true;
      // Size STAGE and TRAFFIC for their widest values now, so later rows line up under the header.
      const names = [exp.spec.versionInfo?.baseline, ...(exp.spec.versionInfo?.candidates ?? [])];
      const widestSplit = names.map((v) => `${v?.name}=100`).join(" ");
      this.#writer = new ColumnWriter([0, 0, 0, "Initializing".length + 3, 0, widestSplit.length + 3]);
    }
    // The split goes before the free-text message so the columns stay aligned.
    const ordered = (r: string[]) => [...r.slice(0, 5), r[6]!, r[5]!];
    rows.push(cells);
    this.#o.out(this.#writer.format(rows.map(ordered)));
  }

  #saveRecord(): void {
    if (!this.#runFile) return;
    try {
      writeAtomic(this.#runFile, `${JSON.stringify(this.#record, null, 2)}\n`);
    } catch (e) {
      this.#o.err(`iter8: warning: cannot write ${this.#runFile}: ${(e as Error).message}\n`);
    }
  }

  async #stopAll(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#engine?.close();
    await Promise.allSettled(this.#loads.map((l) => l.stop()));
    await Promise.allSettled([
      this.#shim?.close(),
      this.#prometheus?.stop(),
      this.#router?.close(),
      ...[...this.#processes.values()].map((p) => p.stop()),
    ]);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** What a printed progress line shows, to print only changes. */
function rowKey(exp: Experiment): string {
  return [...experimentCells(exp), formatSplit(exp)].join("\u0000");
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}
