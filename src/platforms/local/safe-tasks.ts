// Tasks that run commands (`common/exec`, `common/bash`, `run:` scripts) could reach far beyond this
// machine: a finish task's `kubectl apply` changes whatever cluster the laptop's kube context names.
// A local run therefore runs such a task only when the lab maps its command (helm, played locally),
// lists it in `runTasks`, or the user passed `--run-tasks`; every other one is printed as a dry run
// with its interpolated argv and counts as done, so the experiment completes as it would.

import type { Experiment, TaskSpec } from "../../api/types.ts";
import { quoteForLog } from "../../tasks/exec.ts";
import { CURLY, interpolate, templateData } from "../../tasks/index.ts";
import type { TaskStandIn } from "../../tasks/runner.ts";
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

/**
 * The stand-in the task runner consults before each task: a command task the lab and flags do not
 * allow is printed with its interpolated command line and counts as done.
 */
export function dryRunStandIn(permission: TaskPermission, report: (line: string) => void): TaskStandIn {
  return (spec, { action, index }, exp) => {
    if (mayRun(spec, permission)) return undefined;
    const label = spec.task ?? "run";
    const line = printedCommand(spec, exp);
    report(
      `dry run: ${action}[${index}] ${label} not run on this machine: ${line}\n  (let it run: list ${taskCommand(spec)} in the lab's runTasks, or pass --run-tasks)\n`,
    );
    return {
      task: label,
      skipped: true,
      ok: true,
      output: `dry run (not run locally): ${line}\n`,
      durationMs: 0,
    };
  };
}
