// In-memory test doubles of the engine's ports (store, actuator, metrics, tasks) and a manual clock.
// They hold state like the real adapters do (resourceVersion conflicts, a target object with
// weights), so the engine's behaviour, not the doubles, is what the tests observe.

import type { Experiment, Metric, VersionWeight } from "../../../src/api/types.ts";
import {
  type ActionEffects,
  type ActionName,
  type ActionResult,
  type Clock,
  ConflictError,
  type ExperimentStore,
  type FieldWrite,
  type MetricQuery,
  type MetricReading,
  type MetricsProvider,
  type ObjectKey,
  type RunOptions,
  type TaskRunner,
  type TrafficActuator,
  type WeightField,
} from "../../../src/engine/ports.ts";

// ------------------------------------------------------------------------------------------------
// Clock

interface Timer {
  at: number;
  resolve: () => void;
}

export class FakeClock implements Clock {
  #now: number;
  #timers: Timer[] = [];

  constructor(start = Date.parse("2021-06-01T00:00:00Z")) {
    this.#now = start;
  }

  now(): Date {
    return new Date(this.#now);
  }

  get ms(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError());
    return new Promise((resolve, reject) => {
      const timer: Timer = { at: this.#now + Math.max(0, ms), resolve };
      this.#timers.push(timer);
      signal?.addEventListener(
        "abort",
        () => {
          this.#timers = this.#timers.filter((t) => t !== timer);
          reject(abortError());
        },
        { once: true },
      );
    });
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      due.resolve();
    }
    this.#now = target;
  }

  nextTimerIn(): number | undefined {
    if (this.#timers.length === 0) return undefined;
    return Math.max(0, Math.min(...this.#timers.map((t) => t.at)) - this.#now);
  }
}

function abortError(): Error {
  const e = new Error("aborted");
  e.name = "AbortError";
  return e;
}

/** Lets pending promise callbacks and I/O callbacks run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

// ------------------------------------------------------------------------------------------------
// Store

export class CrashError extends Error {
  override readonly name = "CrashError";
}

export class MemoryStore implements ExperimentStore {
  readonly experiments = new Map<string, Experiment>();
  readonly metrics = new Map<string, Metric>();
  /** Every status successfully written, in order (deep copies). */
  readonly statusWrites: Experiment[] = [];
  #version = 0;
  /** Called before each status write; throwing simulates a crash or an API error at that point. */
  beforeStatusWrite: ((exp: Experiment, n: number) => void) | undefined;
  /** Called after each successful status write; throwing simulates a crash right after it. */
  afterStatusWrite: ((exp: Experiment, n: number) => void) | undefined;
  /** Conflicts to raise on the next status writes (someone else wrote first). */
  conflicts = 0;

  static key(k: ObjectKey): string {
    return `${k.namespace}/${k.name}`;
  }

  add(exp: Experiment): Experiment {
    const copy = structuredClone(exp);
    copy.metadata.namespace ??= "default";
    copy.metadata.resourceVersion = String(++this.#version);
    this.experiments.set(
      MemoryStore.key({ namespace: copy.metadata.namespace, name: copy.metadata.name }),
      copy,
    );
    return structuredClone(copy);
  }

  addMetric(m: Metric): void {
    this.metrics.set(`${m.metadata.namespace}/${m.metadata.name}`, structuredClone(m));
  }

  async get(key: ObjectKey): Promise<Experiment | undefined> {
    const e = this.experiments.get(MemoryStore.key(key));
    return e ? structuredClone(e) : undefined;
  }

  /** Reads of every experiment (the engine never needs them). */
  listCalls = 0;

  async list(): Promise<Experiment[]> {
    this.listCalls++;
    return [...this.experiments.values()].map((e) => structuredClone(e));
  }

  /** Reads of the target index (target locking must use these, never `list`). */
  targetReads = 0;

  async listByTarget(target: string): Promise<Experiment[]> {
    this.targetReads++;
    return [...this.experiments.values()]
      .filter((e) => e.spec?.target === target)
      .map((e) => structuredClone(e));
  }

  #current(exp: Experiment): Experiment {
    const cur = this.experiments.get(
      MemoryStore.key({ namespace: exp.metadata.namespace ?? "default", name: exp.metadata.name }),
    );
    if (!cur) throw new Error(`experiment ${exp.metadata.name} not found`);
    if (cur.metadata.resourceVersion !== exp.metadata.resourceVersion) {
      throw new ConflictError(`experiment ${exp.metadata.name} was modified`);
    }
    return cur;
  }

  async updateStatus(exp: Experiment): Promise<Experiment> {
    this.beforeStatusWrite?.(exp, this.statusWrites.length);
    if (this.conflicts > 0) {
      this.conflicts--;
      const cur = this.#current(exp);
      cur.metadata.resourceVersion = String(++this.#version);
      throw new ConflictError("conflict injected by test");
    }
    const cur = this.#current(exp);
    if (exp.status) cur.status = structuredClone(exp.status);
    else delete cur.status;
    cur.metadata.resourceVersion = String(++this.#version);
    this.statusWrites.push(structuredClone(cur));
    this.afterStatusWrite?.(cur, this.statusWrites.length - 1);
    return structuredClone(cur);
  }

  async updateSpec(exp: Experiment): Promise<Experiment> {
    const cur = this.#current(exp);
    cur.spec = structuredClone(exp.spec);
    cur.metadata.resourceVersion = String(++this.#version);
    return structuredClone(cur);
  }

  /** Metric reads that fail with a transport error. */
  failGetMetric = 0;

  async getMetric(key: ObjectKey): Promise<Metric | undefined> {
    if (this.failGetMetric > 0) {
      this.failGetMetric--;
      throw new Error("apiserver unavailable");
    }
    const m = this.metrics.get(MemoryStore.key(key));
    return m ? structuredClone(m) : undefined;
  }

  messages(name?: string): string[] {
    return this.statusWrites
      .filter((e) => name === undefined || e.metadata.name === name)
      .map((e) => e.status?.message ?? "");
  }
}

// ------------------------------------------------------------------------------------------------
// Actuator: one target object holding a weight per version that has a weightObjRef.

export class FakeActuator implements TrafficActuator {
  /** Weights currently on the target object, by version name. */
  readonly weights = new Map<string, number>();
  /** Every successful apply, in order. */
  readonly applied: VersionWeight[][] = [];
  /** Applies that throw before any change. */
  failApplies = 0;
  /** Applies that "succeed" but do not change the object (someone reverts it). */
  silentlyIgnore = 0;
  reads = 0;
  /** Reads that throw. */
  failReads = 0;

  constructor(initial: Record<string, number> = {}) {
    for (const [k, v] of Object.entries(initial)) this.weights.set(k, v);
  }

  /** The value at each field is the weight held for its version (undefined when none is). */
  async readFields(fields: readonly WeightField[]): Promise<unknown[]> {
    this.reads++;
    if (this.failReads > 0) {
      this.failReads--;
      throw new Error("target object unreachable");
    }
    return fields.map((f) => this.weights.get(f.version));
  }

  async writeFields(writes: readonly FieldWrite[]): Promise<void> {
    if (this.failApplies > 0) {
      this.failApplies--;
      throw new Error("patch rejected: connection refused");
    }
    this.applied.push(writes.map((w) => ({ name: w.field.version, value: w.value })));
    if (this.silentlyIgnore > 0) {
      this.silentlyIgnore--;
      return;
    }
    for (const w of writes) this.weights.set(w.field.version, w.value);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.weights);
  }
}

// ------------------------------------------------------------------------------------------------
// Metrics: a function of (metric key, version, number of reads of that pair so far).

export type MetricScript = (
  metricKey: string,
  version: string,
  round: number,
  query: MetricQuery,
) => MetricReading;

export class ScriptedMetrics implements MetricsProvider {
  readonly calls: Array<{ metric: string; version: string }> = [];
  #rounds = new Map<string, number>();
  script: MetricScript;

  constructor(script: MetricScript) {
    this.script = script;
  }

  async read(q: MetricQuery): Promise<MetricReading> {
    const id = `${q.metricKey}|${q.version.name}`;
    const round = this.#rounds.get(id) ?? 0;
    this.#rounds.set(id, round + 1);
    this.calls.push({ metric: q.metricKey, version: q.version.name });
    return this.script(q.metricKey, q.version.name, round, q);
  }
}

// ------------------------------------------------------------------------------------------------
// Tasks

export interface RecordedAction {
  action: ActionName;
  experiment: Experiment;
}

export type ActionBehaviour = (
  exp: Experiment,
) => { ok: boolean; experiment?: Experiment; output?: string } | undefined;

/** A behaviour returns the experiment as its tasks would leave it; the engine gets the effects. */
function effectsOf(exp: Experiment | undefined): ActionEffects {
  const effects: ActionEffects = {};
  if (exp?.spec.versionInfo) effects.versionInfo = exp.spec.versionInfo;
  const hists = exp?.status?.analysis?.aggregatedBuiltinHists;
  if (hists) effects.aggregatedBuiltinHists = hists;
  return effects;
}

export class FakeTaskRunner implements TaskRunner {
  readonly calls: RecordedAction[] = [];
  readonly behaviours: Partial<Record<ActionName, ActionBehaviour>> = {};
  /** When set, actions wait until the test releases them. */
  hold = false;
  #held: Array<() => void> = [];
  validateProblems: string[] = [];

  validate(): string[] {
    return this.validateProblems;
  }

  release(): void {
    for (const r of this.#held.splice(0)) r();
  }

  get heldCount(): number {
    return this.#held.length;
  }

  async run(action: ActionName, experiment: Experiment, opts: RunOptions = {}): Promise<ActionResult> {
    const signal = opts.signal;
    this.calls.push({ action, experiment: structuredClone(experiment) });
    if (this.hold) {
      await new Promise<void>((resolve, reject) => {
        this.#held.push(resolve);
        signal?.addEventListener("abort", () => reject(new Error("cancelled")), { once: true });
      });
    }
    const out = this.behaviours[action]?.(structuredClone(experiment)) ?? { ok: true };
    return {
      ok: out.ok,
      tasks: [
        {
          task: `fake/${action}`,
          skipped: false,
          ok: out.ok,
          output: out.output ?? `${action} ran\n`,
          ...(out.ok ? {} : { error: `${action} task failed` }),
          durationMs: 1,
        },
      ],
      effects: effectsOf(out.experiment),
      experiment: out.experiment ?? experiment,
    };
  }

  actions(): ActionName[] {
    return this.calls.map((c) => c.action);
  }
}
