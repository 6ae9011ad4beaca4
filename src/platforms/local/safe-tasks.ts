// Tasks that run commands (`common/exec`, `common/bash`, `run:` scripts) could reach far beyond this
// machine: a finish task's `kubectl apply` changes whatever cluster the laptop's kube context names.
// A local run therefore runs such a task only when the lab maps its command (helm, played locally),
// lists it in `runTasks`, or the user passed `--run-tasks`; every other one is printed as a dry run
// with its interpolated argv and counts as done, so the experiment completes as it would.

import { evaluateCondition, parseCondition } from "../../api/condition.ts";
import type { Experiment, TaskSpec } from "../../api/types.ts";
import type { ActionName, ActionResult, TaskOutcome, TaskRunner } from "../../engine/ports.ts";
import { quoteForLog } from "../../tasks/exec.ts";
import { CURLY, candidateWon, interpolate, templateData, winnerFound } from "../../tasks/index.ts";
import type { Lab } from "./lab.ts";

type Obj = Record<string, unknown>;

/** What the lab and flags allow: every task, or these command names (`bash` for shell tasks). */
export type TaskPermission = true | ReadonlySet<string>;

export function taskPermission(lab: Lab, runTasks: boolean): TaskPermission {
  if (runTasks || lab.runTasks === true) return true;
  const allowed = new Set(lab.runTasks ?? []);
  if (lab.helm) allowed.add(lab.helm.command);
  return allowed;
}

/** The command a task would run (`kubectl`, `bash`), or undefined for tasks that run none. */
export function taskCommand(spec: TaskSpec): string | undefined {
  if (typeof spec.run === "string") return "bash";
  if (spec.task === "common/bash") return "bash";
  if (spec.task === "common/exec") {
    const cmd = (spec.with as Obj | undefined)?.["cmd"];
    return typeof cmd === "string" ? cmd : undefined;
  }
  return undefined;
}

export function mayRun(spec: TaskSpec, permission: TaskPermission): boolean {
  const cmd = taskCommand(spec);
  return cmd === undefined || permission === true || permission.has(cmd);
}

/** The tasks of the experiment that would only be printed: `finish[0] common/exec kubectl`. */
export function dryRunTasks(exp: Experiment, permission: TaskPermission): string[] {
  const out: string[] = [];
  for (const [action, specs] of Object.entries(exp.spec.strategy.actions ?? {}))
    (specs ?? []).forEach((s, i) => {
      if (!mayRun(s, permission)) out.push(`${action}[${i}] ${s.task ?? "run"} (${taskCommand(s)})`);
    });
  return out;
}

/** The command line a task would run, interpolated as the task would do it. */
export function printedCommand(spec: TaskSpec, exp: Experiment): string {
  const input = (spec.with ?? {}) as Obj;
  try {
    if (typeof spec.run === "string") return spec.run;
    if (spec.task === "common/bash") {
      return interpolate(String(input["script"] ?? ""), templateData(exp, { withThis: true }), CURLY);
    }
    const args = (Array.isArray(input["args"]) ? input["args"] : []).map(String);
    const argv = [String(input["cmd"]), ...args];
    if (input["disableInterpolation"] === true) return argv.map(quoteForLog).join(" ");
    const data = templateData(exp, { withThis: false });
    return argv.map((a) => quoteForLog(interpolate(a, data, CURLY))).join(" ");
  } catch (e) {
    return `${JSON.stringify(spec.with ?? {})} (cannot interpolate: ${(e as Error).message})`;
  }
}

export class SafeTaskRunner implements TaskRunner {
  readonly #inner: TaskRunner;
  readonly #permission: TaskPermission;
  readonly #report: (line: string) => void;

  constructor(inner: TaskRunner, permission: TaskPermission, report: (line: string) => void) {
    this.#inner = inner;
    this.#permission = permission;
    this.#report = report;
  }

  validate(exp: Experiment): string[] {
    return this.#inner.validate?.(exp) ?? [];
  }

  async run(action: ActionName, experiment: Experiment, signal?: AbortSignal): Promise<ActionResult> {
    const specs = experiment.spec.strategy.actions?.[action] ?? [];
    if (specs.every((s) => mayRun(s, this.#permission))) return this.#inner.run(action, experiment, signal);
    const actions = experiment.spec.strategy.actions;
    let working = structuredClone(experiment);
    const tasks: TaskOutcome[] = [];
    let i = 0;
    while (i < specs.length) {
      if (!mayRun(specs[i]!, this.#permission)) {
        tasks.push(this.#dryRun(action, i, specs[i]!, working));
        i++;
        continue;
      }
      let j = i;
      while (j < specs.length && mayRun(specs[j]!, this.#permission)) j++;
      const part = structuredClone(working);
      part.spec.strategy.actions = { ...actions, [action]: specs.slice(i, j) };
      const r = await this.#inner.run(action, part, signal);
      tasks.push(...r.tasks);
      working = r.experiment;
      working.spec.strategy.actions = actions;
      if (!r.ok) return { ...r, tasks, experiment: working };
      i = j;
    }
    return { ok: true, tasks, experiment: working };
  }

  #dryRun(action: ActionName, i: number, spec: TaskSpec, exp: Experiment): TaskOutcome {
    const label = spec.task ?? "run";
    if (spec.if !== undefined) {
      const run = evaluateCondition(parseCondition(spec.if), {
        winnerFound: winnerFound(exp),
        candidateWon: candidateWon(exp),
      });
      if (!run)
        return {
          task: label,
          skipped: true,
          ok: true,
          output: `skipped: condition "${spec.if}" is false\n`,
          durationMs: 0,
        };
    }
    const line = printedCommand(spec, exp);
    this.#report(
      `dry run: ${action}[${i}] ${label} not run on this machine: ${line}\n  (let it run: list ${taskCommand(spec)} in the lab's runTasks, or pass --run-tasks)\n`,
    );
    return {
      task: label,
      skipped: true,
      ok: true,
      output: `dry run (not run locally): ${line}\n`,
      durationMs: 0,
    };
  }
}
