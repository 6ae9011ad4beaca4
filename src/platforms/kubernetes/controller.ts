// The Kubernetes controller (`iter8 controller`): watches Experiments and drives each through the
// engine's reconcile step with Kubernetes adapters. Work is keyed by namespace/name: watch events,
// engine wake-ups, finished in-process actions and requeue timers all enqueue the key; one key is
// never reconciled twice at once (a key that changes while being reconciled runs again after).
// Watches end on purpose every `relistSeconds` and after any error (410 Gone, disconnects), and
// restart from a fresh LIST, so missed events are picked up by the relist.

import { hostname } from "node:os";
import type { Experiment } from "../../api/types.ts";
import { validateExperiment } from "../../api/validate.ts";
import { systemClock } from "../../engine/clock.ts";
import { Engine, type EngineLogger } from "../../engine/engine.ts";
import type { Clock, ObjectKey } from "../../engine/ports.ts";
import { failExperiment, initialiseStatus, isCompleted, StatusDraft } from "../../engine/status.ts";
import { keyText } from "../../engine/target.ts";
import { HttpMetricsProvider } from "../../metrics/http-provider.ts";
import type { KnativeInitTiming } from "../../tasks/knative-init.ts";
import { InProcessTaskRunner } from "../../tasks/runner.ts";
import { KubeTrafficActuator } from "./actuator.ts";
import { Discovery } from "./discovery.ts";
import { recordEvent } from "./events.ts";
import { LeaderElector } from "./leader.ts";
import { KubeSecretSource, KubeTaskPlatform } from "./platform.ts";
import { DEFAULT_INSTALL_NAMESPACE, experimentsPath, LEASE_NAME } from "./resources.ts";
import { KubeApiError, type KubeClient } from "./rest.ts";
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
  /** Most experiments reconciled at the same time. */
  concurrency?: number;
}

interface KeyState {
  running: boolean;
  dirty: boolean;
  timer?: NodeJS.Timeout;
  dueAt?: number;
  failures: number;
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

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

export class Controller {
  readonly #client: KubeClient;
  readonly #opts: ControllerOptions;
  readonly #log: EngineLogger;
  readonly #installNamespace: string;
  readonly #identity: string;
  #synced = false;
  #leading = false;
  #stop = new AbortController();
  #done: Promise<void> | undefined;
  #engine: Engine | undefined;
  #store: KubeExperimentStore | undefined;
  readonly #keys = new Map<string, KeyState>();
  #active = 0;
  readonly #ready: string[] = [];

  constructor(opts: ControllerOptions) {
    this.#client = opts.client;
    this.#opts = opts;
    this.#log = opts.logger ?? jsonLogger;
    this.#installNamespace = opts.installNamespace ?? DEFAULT_INSTALL_NAMESPACE;
    this.#identity = opts.identity ?? `${hostname()}-${process.pid}`;
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
    const store = new KubeExperimentStore(
      client,
      this.#opts.namespaces ? { namespaces: this.#opts.namespaces } : {},
    );
    const platform = new KubeTaskPlatform(client, discovery);
    const clock = this.#opts.clock ?? systemClock;
    const engine = new Engine({
      store,
      actuator: new KubeTrafficActuator(client, discovery),
      metrics: new HttpMetricsProvider({
        secrets: new KubeSecretSource(client),
        resolveMetric: (k) => store.getMetric(k),
        installNamespace: this.#installNamespace,
      }),
      tasks: new InProcessTaskRunner({
        platform,
        clock,
        ...(this.#opts.env ? { env: this.#opts.env } : {}),
        ...(this.#opts.knativeTiming ? { knativeTiming: this.#opts.knativeTiming } : {}),
      }),
      clock,
      logger: this.#log,
      installNamespace: this.#installNamespace,
      ...(this.#opts.actionTimeoutMs ? { actionTimeoutMs: this.#opts.actionTimeoutMs } : {}),
      onEvent: (key, event, experiment) => {
        recordEvent(client, experiment, event, this.#identity).catch((err) =>
          this.#log.warn("could not record event", { experiment: keyText(key), error: errorText(err) }),
        );
      },
      onWake: (key) => this.#enqueue(key, 0),
    });
    this.#engine = engine;
    this.#store = store;
    this.#leading = true;
    this.#synced = false;
    const scopes = this.#opts.namespaces ?? [undefined];
    const syncedScopes = new Set<string>();
    try {
      await Promise.all(
        scopes.map((ns) =>
          this.#watchLoop(ns, signal, () => {
            syncedScopes.add(ns ?? "");
            if (syncedScopes.size === scopes.length) this.#synced = true;
          }),
        ),
      );
    } finally {
      this.#leading = false;
      for (const st of this.#keys.values()) if (st.timer) clearTimeout(st.timer);
      this.#keys.clear();
      this.#ready.length = 0;
      engine.close();
      this.#engine = undefined;
      // Let reconciles under way finish their current request before a new term starts.
      while (this.#active > 0) await new Promise((r) => setTimeout(r, 20));
    }
  }

  async #watchLoop(namespace: string | undefined, signal: AbortSignal, onSynced: () => void): Promise<void> {
    const relist = this.#opts.relistSeconds ?? 300;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const list = await this.#client.get<{ metadata: { resourceVersion: string }; items: Experiment[] }>(
          experimentsPath(namespace),
        );
        for (const e of list.items) this.#enqueue(keyOfObject(e), 0);
        onSynced();
        await this.#client.watch<Experiment>(
          experimentsPath(namespace),
          {
            resourceVersion: list.metadata.resourceVersion,
            timeoutSeconds: relist,
            allowWatchBookmarks: true,
          },
          (ev) => {
            if (ev.type === "BOOKMARK") return;
            this.#enqueue(keyOfObject(ev.object), 0);
          },
          signal,
        );
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        const gone = err instanceof KubeApiError && err.status === 410;
        failures = gone ? 0 : failures + 1;
        if (!gone)
          this.#log.warn("watch failed; relisting", { namespace: namespace ?? "*", error: errorText(err) });
        await sleep(gone ? 0 : Math.min(10_000, 200 * 2 ** Math.min(failures, 6)), signal);
      }
    }
  }

  #state(id: string): KeyState {
    let st = this.#keys.get(id);
    if (!st) {
      st = { running: false, dirty: false, failures: 0 };
      this.#keys.set(id, st);
    }
    return st;
  }

  #enqueue(key: ObjectKey, delayMs: number): void {
    if (!this.#engine) return;
    const id = keyText(key);
    const st = this.#state(id);
    if (delayMs > 0) {
      const due = Date.now() + delayMs;
      if (st.timer && st.dueAt !== undefined && st.dueAt <= due) return;
      if (st.timer) clearTimeout(st.timer);
      st.dueAt = due;
      st.timer = setTimeout(() => {
        st.timer = undefined;
        st.dueAt = undefined;
        this.#enqueue(key, 0);
      }, delayMs);
      return;
    }
    if (st.running) {
      st.dirty = true;
      return;
    }
    if (!this.#ready.includes(id)) this.#ready.push(id);
    this.#pump();
  }

  #pump(): void {
    const limit = this.#opts.concurrency ?? 16;
    while (this.#active < limit && this.#ready.length > 0) {
      const id = this.#ready.shift()!;
      const st = this.#state(id);
      if (st.running) {
        st.dirty = true;
        continue;
      }
      const [namespace, name] = [id.slice(0, id.indexOf("/")), id.slice(id.indexOf("/") + 1)];
      st.running = true;
      this.#active++;
      void this.#process({ namespace, name }, st).finally(() => {
        st.running = false;
        this.#active--;
        if (st.dirty && this.#engine) {
          st.dirty = false;
          this.#enqueue({ namespace, name }, 0);
        }
        this.#pump();
      });
    }
  }

  async #process(key: ObjectKey, st: KeyState): Promise<void> {
    const engine = this.#engine;
    if (!engine) return;
    try {
      if (await this.#failIfInvalid(key)) {
        st.failures = 0;
        return;
      }
      const result = await engine.reconcile(key);
      st.failures = 0;
      if (result.done) {
        if (st.timer) clearTimeout(st.timer);
        this.#keys.delete(keyText(key));
        return;
      }
      if (result.pending) void result.pending.then(() => this.#enqueue(key, 0));
      if (result.requeueAfterMs !== undefined) {
        if (result.requeueAfterMs === 0) st.dirty = true;
        else this.#enqueue(key, result.requeueAfterMs);
      }
    } catch (err) {
      st.failures++;
      const delay = Math.min(30_000, 250 * 2 ** Math.min(st.failures - 1, 7));
      this.#log.warn("reconcile failed; retrying", {
        experiment: keyText(key),
        error: errorText(err),
        delay,
      });
      this.#enqueue(key, delay);
    }
  }

  /**
   * Experiments the API server accepted but iter8 cannot run (a rule the CRD schema cannot express:
   * unknown task, comparisons in `if:`, bad references) end Failed with the problems in the message.
   */
  async #failIfInvalid(key: ObjectKey): Promise<boolean> {
    const store = this.#store;
    if (!store) return false;
    const exp = await store.get(key);
    if (!exp || isCompleted(exp)) return false;
    const { status: _status, ...withoutStatus } = exp;
    const result = validateExperiment(withoutStatus, { installNamespace: this.#installNamespace });
    if (result.problems.length === 0) return false;
    const message = result.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join("; ");
    const draft = new StatusDraft(exp, (this.#opts.clock ?? systemClock).now());
    if (!exp.status?.initTime) initialiseStatus(draft);
    failExperiment(draft, "InvalidExperiment", `Invalid experiment: ${message}`);
    const written = await store.updateStatus({ ...exp, status: draft.status });
    for (const event of draft.events) {
      recordEvent(this.#client, written, event, this.#identity).catch(() => {});
    }
    this.#log.warn("invalid experiment failed", { experiment: keyText(key), problems: message });
    return true;
  }
}

function keyOfObject(e: { metadata?: { namespace?: string; name?: string } }): ObjectKey {
  return { namespace: e.metadata?.namespace ?? "default", name: e.metadata?.name ?? "" };
}
