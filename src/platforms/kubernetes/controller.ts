// The Kubernetes controller (`iter8 controller`): watches Experiments and drives each through the
// engine's reconcile step with Kubernetes adapters. The watch feeds a cache (informer.ts) that serves
// every read; the controller's own writes come back on the watch and are recognised, so only changes
// made by others, engine wake-ups, finished in-process actions and due times schedule work. Work is
// keyed by namespace/name in a queue ordered by due time (queue.ts): a running experiment is due at
// `status.lastUpdateTime + intervalSeconds`, so its iterations keep time however many others start.
// At most `concurrency` keys are reconciled at once, and one key never twice at once (a key that
// changes while being reconciled runs again after).

import { hostname } from "node:os";
import { namespaceOf } from "../../api/refs.ts";
import type { Experiment } from "../../api/types.ts";
import { validateExperiment } from "../../api/validate.ts";
import { systemClock } from "../../engine/clock.ts";
import { Engine, type EngineLogger } from "../../engine/engine.ts";
import type { Clock, ObjectKey } from "../../engine/ports.ts";
import { isCompleted } from "../../engine/status.ts";
import { keyText } from "../../engine/target.ts";
import { backoffMs } from "../../lib/backoff.ts";
import { errorText } from "../../lib/errors.ts";
import { composeMetrics } from "../../metrics/index.ts";
import type { KnativeInitTiming } from "../../tasks/knative-init.ts";
import { InProcessTaskRunner } from "../../tasks/runner.ts";
import { KubeTrafficActuator } from "./actuator.ts";
import { ControllerMetrics } from "./controller-metrics.ts";
import { Discovery } from "./discovery.ts";
import { EventRecorder } from "./events.ts";
import { type CacheChange, ExperimentCache, type ExperimentHead } from "./informer.ts";
import { LeaderElector } from "./leader.ts";
import { KubeSecretSource, KubeTaskPlatform } from "./platform.ts";
import { DueQueue, type Lane } from "./queue.ts";
import { DEFAULT_INSTALL_NAMESPACE, LEASE_NAME } from "./resources.ts";
import type { KubeClient } from "./rest.ts";
import { KubeExperimentStore } from "./store.ts";

export interface ControllerOptions {
  client: KubeClient;
  /** Watch only these namespaces (default: all). */
  namespaces?: string[];
  installNamespace?: string;
  leaderElect?: boolean;
  /** Lease identity (default hostname-pid). */
  identity?: string;
  leaseDurationMs?: number;
  /** Every watch is restarted from a LIST after this long (default 300 s). */
  relistSeconds?: number;
  /** Environment of task child processes (PATH for `helm`, ...). */
  env?: NodeJS.ProcessEnv;
  knativeTiming?: KnativeInitTiming;
  actionTimeoutMs?: number;
  clock?: Clock;
  logger?: EngineLogger;
  /** Most experiments reconciled at the same time (default 16). */
  concurrency?: number;
  /** Record a Kubernetes Event for each iteration (default true). */
  iterationEvents?: boolean;
  /** A new experiment's start-up steps that need no wait share one status write (default false). */
  combinedStartWrite?: boolean;
  /** Where the controller counts what it does (/metrics); one is made if absent. */
  metrics?: ControllerMetrics;
}

function logLine(level: string, msg: string, fields?: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
}

/** One JSON object per line on stderr. */
export const jsonLogger: EngineLogger = {
  debug: () => {},
  info: (msg, f) => logLine("info", msg, f),
  warn: (msg, f) => logLine("warn", msg, f),
  error: (msg, f) => logLine("error", msg, f),
};

/** When the next iteration of a running experiment is due, from its status (ms since epoch). */
export function nextIterationAt(exp: Readonly<ExperimentHead> | undefined): number | undefined {
  const st = exp?.status;
  if (!exp || st?.stage !== "Running" || !st.lastUpdateTime || (st.completedIterations ?? 0) === 0) {
    return undefined;
  }
  const last = Date.parse(st.lastUpdateTime);
  if (!Number.isFinite(last)) return undefined;
  return last + (exp.spec.duration?.intervalSeconds ?? 20) * 1000;
}

function keyOfId(id: string): ObjectKey {
  const slash = id.indexOf("/");
  return { namespace: id.slice(0, slash), name: id.slice(slash + 1) };
}

/** Admission is pure in the spec: computed once per generation of each experiment. */
class AdmissionCache {
  readonly #installNamespace: string;
  readonly #byKey = new Map<string, { generation: string; problems: string[] }>();

  constructor(installNamespace: string) {
    this.#installNamespace = installNamespace;
  }

  problems(exp: Experiment): string[] {
    const id = keyText({ namespace: namespaceOf(exp), name: exp.metadata.name });
    const generation = `${exp.metadata.uid ?? ""}/${exp.metadata.generation ?? JSON.stringify(exp.spec)}`;
    const hit = this.#byKey.get(id);
    if (hit?.generation === generation) return hit.problems;
    const { status: _status, ...withoutStatus } = exp;
    const result = validateExperiment(withoutStatus, { installNamespace: this.#installNamespace });
    const problems = result.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message));
    this.#byKey.set(id, { generation, problems });
    return problems;
  }

  forget(id: string): void {
    this.#byKey.delete(id);
  }
}

export class Controller {
  readonly #client: KubeClient;
  readonly #opts: ControllerOptions;
  readonly #log: EngineLogger;
  readonly #installNamespace: string;
  readonly #identity: string;
  readonly #concurrency: number;
  readonly metrics: ControllerMetrics;
  #synced = false;
  #leading = false;
  #stop = new AbortController();
  #done: Promise<void> | undefined;
  #term: Term | undefined;

  constructor(opts: ControllerOptions) {
    this.#client = opts.client;
    this.#opts = opts;
    this.#log = opts.logger ?? jsonLogger;
    this.#installNamespace = opts.installNamespace ?? DEFAULT_INSTALL_NAMESPACE;
    this.#identity = opts.identity ?? `${hostname()}-${process.pid}`;
    this.#concurrency = Math.max(1, opts.concurrency ?? 16);
    this.metrics = opts.metrics ?? new ControllerMetrics();
    this.metrics.bind({
      experiments: () => this.#term?.cache.peekAll() ?? [],
      queueDepth: () => this.#term?.queue.size ?? 0,
      queueDue: () => this.#term?.queue.dueCount(Date.now()) ?? 0,
      leading: () => this.#leading,
      throttled: () => this.#client.throttled,
    });
  }

  /** Ready: the watches listed once (as leader), or waiting as a standby replica. */
  get ready(): boolean {
    return this.#leading ? this.#synced : !this.#stop.signal.aborted;
  }
  get leading(): boolean {
    return this.#leading;
  }
  get identity(): string {
    return this.#identity;
  }

  /** Starts campaigning/acting; resolves once `stop()` finished. */
  start(): Promise<void> {
    if (this.#done) return this.#done;
    const stop = this.#stop.signal;
    if (this.#opts.leaderElect) {
      const elector = new LeaderElector(this.#client, {
        namespace: this.#installNamespace,
        name: LEASE_NAME,
        identity: this.#identity,
        ...(this.#opts.leaseDurationMs ? { leaseDurationMs: this.#opts.leaseDurationMs } : {}),
        log: (msg, f) => this.#log.info(msg, f),
      });
      this.#done = (async () => {
        // A replica that lost its term campaigns again, as a fresh leader.
        while (!stop.aborted) await elector.run(stop, (signal) => this.#lead(signal));
      })();
    } else {
      this.#done = this.#lead(stop);
    }
    return this.#done;
  }

  /** Stops watches and timers, abandons in-process actions (recorded Running, for the next leader). */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#done;
  }

  async #lead(signal: AbortSignal): Promise<void> {
    const client = this.#client;
    const discovery = new Discovery(client);
    const admission = new AdmissionCache(this.#installNamespace);
    let term: Term | undefined;
    const cache = new ExperimentCache({
      client,
      ...(this.#opts.namespaces ? { namespaces: this.#opts.namespaces } : {}),
      relistSeconds: this.#opts.relistSeconds ?? 300,
      onChange: (key, change, exp) => term?.changed(key, change, exp),
      onEcho: () => this.metrics.watchEchoes.inc(),
      onError: (ns, err) =>
        this.#log.warn("watch failed; resuming", { namespace: ns ?? "*", error: errorText(err) }),
    });
    const store = new KubeExperimentStore(client, cache);
    const clock = this.#opts.clock ?? systemClock;
    const events = new EventRecorder({
      client,
      host: this.#identity,
      iterationEvents: this.#opts.iterationEvents !== false,
      onError: (experiment, err) =>
        this.#log.warn("could not record event", { experiment, error: errorText(err) }),
      onRecorded: (result) => this.metrics.events.inc({ result }),
    });
    const engine = new Engine({
      store,
      actuator: new KubeTrafficActuator(client, discovery),
      metrics: composeMetrics({
        secrets: new KubeSecretSource(client),
        resolveMetric: (k) => store.getMetric(k),
      }).provider,
      tasks: new InProcessTaskRunner({
        platform: new KubeTaskPlatform(client, discovery),
        clock,
        ...(this.#opts.env ? { env: this.#opts.env } : {}),
        ...(this.#opts.knativeTiming ? { knativeTiming: this.#opts.knativeTiming } : {}),
      }),
      clock,
      logger: this.#log,
      installNamespace: this.#installNamespace,
      ...(this.#opts.actionTimeoutMs ? { actionTimeoutMs: this.#opts.actionTimeoutMs } : {}),
      combinedStartWrite: this.#opts.combinedStartWrite === true,
      admission: (exp) => admission.problems(exp),
      onEvent: (_key, event, experiment) => events.record(experiment, event),
      onWake: (key) => term?.wake(key),
    });
    term = new Term({
      engine,
      cache,
      admission,
      concurrency: this.#concurrency,
      metrics: this.metrics,
      log: this.#log,
    });
    this.#term = term;
    this.#leading = true;
    this.#synced = false;
    try {
      await cache.run(signal, () => {
        this.#synced = true;
      });
    } finally {
      this.#leading = false;
      engine.close();
      events.close();
      // Let reconciles under way finish their current request before a new term starts.
      await term.close();
      if (this.#term === term) this.#term = undefined;
    }
  }
}

interface TermOptions {
  engine: Engine;
  cache: ExperimentCache;
  admission: AdmissionCache;
  concurrency: number;
  metrics: ControllerMetrics;
  log: EngineLogger;
}

/** One term as leader: the queue, the workers and the timer that wakes them. */
class Term {
  readonly cache: ExperimentCache;
  readonly queue = new DueQueue();
  readonly #o: TermOptions;
  readonly #running = new Set<string>();
  /** Keys that changed while being reconciled: run again right after. */
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #closed = false;

  constructor(o: TermOptions) {
    this.#o = o;
    this.cache = o.cache;
  }

  /** A change seen on the watch (never the controller's own writes). */
  changed(key: ObjectKey, change: CacheChange, exp: Experiment | undefined): void {
    const id = keyText(key);
    if (change !== "relisted") this.#o.metrics.watchChanges.inc({ change });
    if (change === "deleted") {
      this.#o.admission.forget(id);
      this.#schedule(id, Date.now(), "asap");
      return;
    }
    if (!exp || isCompleted(exp)) return;
    if (change === "relisted") {
      // Unchanged since we last saw it: only make sure it is still scheduled.
      if (!this.queue.has(id) && !this.#running.has(id)) this.#scheduleFromStatus(id, exp);
      return;
    }
    if (change === "added") this.#scheduleFromStatus(id, exp);
    else this.#schedule(id, Date.now(), "asap");
  }

  wake(key: ObjectKey): void {
    this.#schedule(keyText(key), Date.now(), "asap");
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    while (this.#running.size > 0) await new Promise((r) => setTimeout(r, 20));
  }

  #scheduleFromStatus(id: string, exp: Experiment): void {
    const due = nextIterationAt(exp);
    if (due === undefined) this.#schedule(id, Date.now(), "asap");
    else this.#schedule(id, due, "timed");
  }

  #schedule(id: string, due: number, lane: Lane): void {
    if (this.#closed) return;
    if (this.#running.has(id)) {
      if (due <= Date.now()) this.#dirty.add(id);
      else this.queue.add(id, due, lane);
      return;
    }
    this.queue.add(id, due, lane);
    this.#pump();
  }

  #pump(): void {
    if (this.#closed) return;
    const now = Date.now();
    while (this.#running.size < this.#o.concurrency) {
      const next = this.queue.take(now);
      if (!next) break;
      if (this.#running.has(next.id)) {
        this.#dirty.add(next.id);
        continue;
      }
      this.#running.add(next.id);
      void this.#process(next.id, next.due, next.lane).finally(() => {
        this.#running.delete(next.id);
        if (this.#dirty.delete(next.id)) this.queue.add(next.id, Date.now(), "asap");
        this.#pump();
      });
    }
    this.#arm(now);
  }

  /** One timer, for the earliest due key. */
  #arm(now: number): void {
    const due = this.queue.nextDue();
    if (due === undefined || this.#running.size >= this.#o.concurrency) return;
    if (this.#timer && this.#timerAt <= due) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = due;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Number.POSITIVE_INFINITY;
        this.#pump();
      },
      Math.max(0, due - now),
    );
  }

  async #process(id: string, due: number, lane: Lane): Promise<void> {
    const key = keyOfId(id);
    // Only the few fields read below are kept: the cached object is replaced, never changed in place.
    const before = this.cache.peek(key);
    const started = performance.now();
    try {
      const result = await this.#o.engine.reconcile(key);
      this.#o.metrics.reconciles.inc({ result: "ok" });
      this.#failures.delete(id);
      this.#observeIteration(before, this.cache.peek(key));
      if (result.done) {
        this.queue.delete(id);
        this.#o.admission.forget(id);
        return;
      }
      if (result.pending) void result.pending.then(() => this.#schedule(id, Date.now(), "asap"));
      const after = result.requeueAfterMs;
      if (after === 0) {
        // The next step of the same piece of work keeps its place in line (depth-first start-up,
        // and the end right after the last iteration).
        this.queue.add(id, due, lane);
      } else if (after !== undefined) {
        const now = Date.now();
        const iteration = nextIterationAt(this.cache.peek(key));
        if (iteration !== undefined && iteration > now && iteration <= now + after + 1000) {
          this.queue.add(id, iteration, "timed");
        } else {
          this.queue.add(id, now + after, iteration === undefined ? "asap" : "timed");
        }
      }
    } catch (err) {
      this.#o.metrics.reconciles.inc({ result: "error" });
      this.#o.metrics.reconcileErrors.inc();
      const failures = (this.#failures.get(id) ?? 0) + 1;
      this.#failures.set(id, failures);
      const delay = backoffMs(failures, 250, 30_000);
      this.#o.log.warn("reconcile failed; retrying", { experiment: id, error: errorText(err), delay });
      this.queue.add(id, Date.now() + delay, "asap");
    } finally {
      this.#o.metrics.reconcileSeconds.observe((performance.now() - started) / 1000);
    }
  }

  #observeIteration(
    before: Readonly<ExperimentHead> | undefined,
    after: Readonly<ExperimentHead> | undefined,
  ): void {
    const n0 = before?.status?.completedIterations ?? 0;
    const n1 = after?.status?.completedIterations ?? 0;
    if (n1 <= n0) return;
    this.#o.metrics.iterations.inc(n1 - n0);
    const due = nextIterationAt(before);
    const at = Date.parse(after?.status?.lastUpdateTime ?? "");
    if (due !== undefined && Number.isFinite(at))
      this.#o.metrics.lateness.observe(Math.max(0, at - due) / 1000);
  }
}
