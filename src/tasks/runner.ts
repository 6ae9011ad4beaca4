// The in-process TaskRunner: runs an action's tasks in order, each with its own
// timeout; `if:` conditions skip tasks; the first failure ends the action. Every task's output is
// kept in the result for describe/logs. Tasks are all checked before the first one runs, so an
// unknown task or bad input fails the action without side effects (and `validate` lets the engine
// and the API reject such experiments before they start).

import { evaluateCondition, parseCondition } from "../api/condition.ts";
import type { Experiment, TaskSpec } from "../api/types.ts";
import { systemClock } from "../engine/clock.ts";
import type {
  ActionEffects,
  ActionName,
  ActionResult,
  Clock,
  RunOptions,
  TaskOutcome,
  TaskRunner,
} from "../engine/ports.ts";
import { errorText } from "../lib/errors.ts";
import { runScriptTask } from "./bash.ts";
import { candidateWon, winnerFound } from "./data.ts";
import type { KnativeInitTiming } from "./knative-init.ts";
import { IDEMPOTENT_TASKS, isTaskName, RUN_TASK, TASK_NAMES } from "./names.ts";
import { taskRegistry } from "./registry.ts";
import type { TaskContext, TaskImpl, TaskPlatform } from "./types.ts";

export interface TaskRunnerOptions {
  platform: TaskPlatform;
  clock?: Clock;
  /** Environment for child processes (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Upper bound on any single task (default 300 s). */
  maxTaskTimeoutMs?: number;
  /** Most output kept per task (the tail). Default 64 KiB. */
  maxOutputChars?: number;
  knativeTiming?: KnativeInitTiming;
  /**
   * Consulted before each task runs (after its `if:`): an outcome it returns stands in for running
   * the task. The local platform uses it to print, not run, command tasks that could reach beyond the
   * machine.
   */
  standIn?: TaskStandIn;
}

export type TaskStandIn = (
  spec: TaskSpec,
  where: { action: ActionName; index: number },
  experiment: Experiment,
) => TaskOutcome | undefined;

const ACTIONS: ActionName[] = ["start", "loop", "finish"];
/** Time a task gets after its timeout or cancellation to stop its processes (kill grace is 2 s). */
const ABORT_GRACE_MS = 3000;

interface Prepared {
  label: string;
  spec: TaskSpec;
  impl: TaskImpl;
  input: Record<string, unknown>;
}

export class InProcessTaskRunner implements TaskRunner {
  readonly #platform: TaskPlatform;
  readonly #clock: Clock;
  readonly #env: NodeJS.ProcessEnv;
  readonly #maxTaskTimeoutMs: number;
  readonly #maxOutputChars: number;
  readonly #registry: ReturnType<typeof taskRegistry>;
  readonly #standIn: TaskStandIn | undefined;

  constructor(opts: TaskRunnerOptions) {
    this.#platform = opts.platform;
    this.#clock = opts.clock ?? systemClock;
    this.#env = opts.env ?? process.env;
    this.#maxTaskTimeoutMs = opts.maxTaskTimeoutMs ?? 300_000;
    this.#maxOutputChars = opts.maxOutputChars ?? 64 * 1024;
    this.#registry = taskRegistry(opts.knativeTiming ? { knativeTiming: opts.knativeTiming } : {});
    this.#standIn = opts.standIn;
  }

  /** Problems with the experiment's task specs, each naming action and index. */
  validate(experiment: Experiment): string[] {
    const problems: string[] = [];
    for (const [action, specs] of Object.entries(experiment.spec.strategy.actions ?? {})) {
      if (!Array.isArray(specs)) {
        problems.push(`spec.strategy.actions.${action} must be a list of tasks`);
        continue;
      }
      specs.forEach((spec, i) => {
        const where = `spec.strategy.actions.${action}[${i}]`;
        const r = this.#prepare(spec, where);
        if (typeof r === "string") problems.push(r);
        else for (const p of r.impl.validate(r.input)) problems.push(`${where}: ${p}`);
      });
    }
    return problems;
  }

  #prepare(spec: TaskSpec, where: string): Prepared | string {
    const hasTask = typeof spec?.task === "string" && spec.task !== "";
    const hasRun = typeof spec?.run === "string" && spec.run !== "";
    if (hasTask === hasRun) return `${where}: exactly one of task and run must be set`;
    if (spec.if !== undefined) {
      if (typeof spec.if !== "string") return `${where}.if: must be a string`;
      try {
        parseCondition(spec.if);
      } catch (err) {
        return `${where}.if: ${errorText(err)}`;
      }
    }
    const input = spec.with ?? {};
    if (typeof input !== "object" || Array.isArray(input)) return `${where}.with: must be a map`;
    if (hasRun) return { label: RUN_TASK, spec, impl: runScriptTask(spec.run!), input };
    const name = spec.task!;
    if (!isTaskName(name)) return `${where}.task: unknown task "${name}" (known: ${TASK_NAMES.join(", ")})`;
    return { label: name, spec, impl: this.#registry.get(name)!, input };
  }

  /** `idempotent:` as written, else the task's default: readiness, init and notifications are. */
  isIdempotent(spec: TaskSpec): boolean {
    if (typeof spec?.idempotent === "boolean") return spec.idempotent;
    return typeof spec?.task === "string" && IDEMPOTENT_TASKS.includes(spec.task);
  }

  async run(action: ActionName, experiment: Experiment, opts: RunOptions = {}): Promise<ActionResult> {
    if (!ACTIONS.includes(action)) throw new Error(`unknown action ${action}`);
    const { signal, skip, onTask } = opts;
    const working = structuredClone(experiment);
    const effects: ActionEffects = {};
    const specs = working.spec.strategy.actions?.[action] ?? [];
    const outcomes: TaskOutcome[] = [];

    // Build every task first: nothing runs if any entry is unusable.
    const prepared: Prepared[] = [];
    const problems: string[] = [];
    specs.forEach((spec, i) => {
      const where = `spec.strategy.actions.${action}[${i}]`;
      const r = this.#prepare(spec, where);
      if (typeof r === "string") problems.push(r);
      else {
        for (const p of r.impl.validate(r.input)) problems.push(`${where}: ${p}`);
        prepared.push(r);
      }
    });
    if (problems.length > 0) {
      return { ok: false, tasks: [], effects, experiment, error: `invalid tasks: ${problems.join("; ")}` };
    }
    const end = (ok: boolean, error?: string): ActionResult => ({
      ok,
      tasks: outcomes,
      effects,
      experiment: working,
      ...(error === undefined ? {} : { error }),
    });

    for (const [index, task] of prepared.entries()) {
      if (signal?.aborted) return end(false, "action cancelled");
      if (skip?.has(index)) {
        outcomes.push({
          task: task.label,
          skipped: true,
          ok: true,
          output: "completed before the engine restarted; not run again\n",
          durationMs: 0,
        });
        continue;
      }
      const started = performance.now();
      if (task.spec.if !== undefined) {
        const run = evaluateCondition(parseCondition(task.spec.if), {
          winnerFound: winnerFound(working),
          candidateWon: candidateWon(working),
        });
        if (!run) {
          outcomes.push({
            task: task.label,
            skipped: true,
            ok: true,
            output: `skipped: condition "${task.spec.if}" is false\n`,
            durationMs: 0,
          });
          continue;
        }
      }
      const standIn = this.#standIn?.(task.spec, { action, index }, working);
      if (standIn) {
        outcomes.push(standIn);
        continue;
      }
      try {
        await onTask?.({ index, task: task.label, phase: "started" });
      } catch (err) {
        return end(false, `could not record that ${task.label} starts: ${errorText(err)}`);
      }
      const outcome = await this.#runOne(task, action, working, signal);
      outcome.durationMs = Math.round(performance.now() - started);
      outcomes.push(outcome);
      if (!outcome.ok) return end(false);
      for (const field of task.impl.effects ?? []) {
        if (field === "versionInfo" && working.spec.versionInfo)
          effects.versionInfo = working.spec.versionInfo;
        const hists = working.status?.analysis?.aggregatedBuiltinHists;
        if (field === "aggregatedBuiltinHists" && hists) effects.aggregatedBuiltinHists = hists;
      }
      try {
        await onTask?.({ index, task: task.label, phase: "completed" });
      } catch (err) {
        // The task ran; a restart will find it Started and apply the idempotency rule.
        return end(false, `could not record that ${task.label} completed: ${errorText(err)}`);
      }
    }
    return end(true);
  }

  async #runOne(
    task: Prepared,
    action: ActionName,
    working: Experiment,
    signal?: AbortSignal,
  ): Promise<TaskOutcome> {
    let output = "";
    const max = this.#maxOutputChars;
    const log = (text: string) => {
      output += text;
      if (output.length > max) output = `[... output truncated ...]\n${output.slice(output.length - max)}`;
    };
    const timeoutMs = Math.min(this.#maxTaskTimeoutMs, task.impl.timeoutMs(task.input));
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new Error(`timed out after ${timeoutMs / 1000}s`)),
      timeoutMs,
    );
    const taskSignal = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
    const ctx: TaskContext = {
      action,
      experiment: working,
      platform: this.#platform,
      clock: this.#clock,
      signal: taskSignal,
      // As the original action Job's container had them.
      env: {
        ...this.#env,
        EXPERIMENT_NAME: working.metadata.name,
        EXPERIMENT_NAMESPACE: working.metadata.namespace || "default",
        ACTION: action,
      },
      timeoutMs,
      log,
    };
    const why = () =>
      timeout.signal.aborted ? `task timed out after ${timeoutMs / 1000}s` : "task cancelled";
    try {
      // On abort a task gets a short grace to stop its processes and keep their output; one that
      // ignores its signal still cannot outlive timeout + grace.
      const abandoned = new Promise<never>((_, reject) => {
        taskSignal.addEventListener(
          "abort",
          () => setTimeout(() => reject(new Error(`${why()} and did not stop`)), ABORT_GRACE_MS).unref(),
          { once: true },
        );
      });
      abandoned.catch(() => {});
      await Promise.race([task.impl.run(ctx, task.input), abandoned]);
      if (taskSignal.aborted) throw new Error(why());
      return { task: task.label, skipped: false, ok: true, output, durationMs: 0 };
    } catch (err) {
      let message = errorText(err);
      if (taskSignal.aborted && !message.startsWith(why())) message = `${why()}: ${message}`;
      return { task: task.label, skipped: false, ok: false, output, error: message, durationMs: 0 };
    } finally {
      clearTimeout(timer);
    }
  }
}
