// What happened to an experiment, in sentences a user cannot miss: why it failed (the Failed
// condition, a failed task's exit code and the tail of its output), which metrics could not be read
// for which version and why, a version that got no traffic, a run that is no longer alive, and what
// routing a rollback or an end without a winner left in place. `describe` prints these lines after
// the iter8ctl sections, `get experiments` puts the first one in its MESSAGE column, and `iter8
// local run` prints them at the end of the run. A normal end with a winner adds nothing here (the
// iter8ctl sections say it all), so the iter8ctl text of a successful experiment stays as it was.

import type { Experiment, IterationRecord } from "../api/types.ts";
import { historyPoints } from "../engine/history.ts";
import { type ActionRecord, engineStatus, isCompleted } from "../engine/status.ts";
import { type Ending, endingOf, failureText } from "./ending.ts";

/** Liveness of the process running a local experiment (from the local state directory). */
export interface RunLiveness {
  alive: boolean;
  /** The tutorial directory to resume with. */
  dir?: string;
}

export interface OutcomeReport {
  /** One sentence per thing that went wrong or deserves attention, most important first. */
  reasons: string[];
  /** The experiment was interrupted: its runner is no longer alive. */
  interrupted: boolean;
  /** The version promoted by a finish action that succeeded, if any. */
  promoted?: string;
  rolledBack: boolean;
}

/** Lines of output kept from a failed task. */
const TAIL_LINES = 5;

export function outcomeOf(exp: Experiment, liveness?: RunLiveness): OutcomeReport {
  const st = engineStatus(exp);
  const ending = endingOf(exp);
  const { completed, failed, rolledBack } = ending;
  const reasons: string[] = [];
  const interrupted = !completed && liveness !== undefined && !liveness.alive && st.stage !== undefined;
  if (interrupted) {
    reasons.push(`interrupted: resume with \`iter8 local run ${liveness.dir ?? "DIR"}\``);
  }
  if (failed) reasons.push(`failed: ${failureText(failed, "Failed")}`);
  for (const action of st.actions ?? [])
    if (action.state === "Failed") reasons.push(...actionFailure(action));
  if (st.retry && !completed) {
    reasons.push(`retrying (${st.retry.op}, attempt ${st.retry.attempts}): ${st.retry.lastError}`);
  }
  const points = historyPoints(st);
  if (completed && rolledBack) {
    reasons.push(
      ending.rollbackReason !== undefined ? `rolled back: ${ending.rollbackReason}` : "rolled back",
    );
    reasons.push(routingLeft(ending));
  } else if (completed && !failed && noWinner(exp)) {
    reasons.push(`no winner: ${noWinnerWhy(exp)}`);
    reasons.push(routingLeft(ending));
  }
  reasons.push(...noTraffic(exp, points));
  reasons.push(...readErrors(exp, points.at(-1)));
  const report: OutcomeReport = { reasons, interrupted, rolledBack };
  if (ending.promoted) report.promoted = ending.promoted;
  return report;
}

// STAGE and MESSAGE of an experiment that stopped for a reason, or was interrupted.
/** For `get experiments` (src/report/table.ts annotate). */
export function outcomeAnnotation(
  liveness?: (e: Experiment) => RunLiveness,
): (e: Experiment) => { stage?: string; message?: string } {
  return (e) => {
    const report = outcomeOf(e, liveness?.(e));
    // While a run is under way, missing data is often only early (no scrape yet): rows of a live
    // experiment keep their message unless a retry is pending.
    if (!isCompleted(e) && !report.interrupted && !engineStatus(e).retry) return {};
    // The Failed condition is already in status.message: show the next, more specific reason.
    const message = e.status?.message ?? "";
    const failedText = report.reasons.find((r) => r.startsWith("failed: "));
    const restates = failedText !== undefined && message.includes(failedText.replace(/^failed: [^:]*: /, ""));
    const first = report.reasons.find((r) => !(restates && r === failedText)) ?? report.reasons[0];
    if (first === undefined) return {};
    if (report.interrupted) return { stage: "Interrupted", message: first };
    return { message: e.status?.message ? `${e.status.message}; ${first}` : first };
  };
}

/** The text `describe` appends after the iter8ctl sections ("" when there is nothing to add). */
export function outcomeSection(exp: Experiment, liveness?: RunLiveness): string {
  const { reasons } = outcomeOf(exp, liveness);
  if (reasons.length === 0) return "";
  return `****** Outcome ******\n${reasons.map((r) => `${r}\n`).join("")}\n`;
}

function actionFailure(action: ActionRecord): string[] {
  const what = action.kind === "rollback" ? "finish action (after rollback)" : `${action.action} action`;
  const task = (action.tasks ?? []).find((t) => !t.ok && !t.skipped);
  if (!task) return [`${what} failed: ${action.error ?? "no reason recorded"}`];
  const lines = [`${what} failed: task ${task.task}: ${task.error ?? "failed"}`];
  const tail = task.output
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l !== "")
    .slice(-TAIL_LINES);
  if (tail.length > 0) lines.push(`  output (last ${tail.length} lines):`, ...tail.map((l) => `    ${l}`));
  return lines;
}

function routingLeft({ finish, recommended, split }: Ending): string {
  const left = split || "unknown";
  if (!finish) return `no finish action: traffic left at ${left}`;
  if (finish.state === "Succeeded")
    return `finish action ran (version to promote: ${recommended ?? "-"}); traffic before it: ${left}`;
  return `finish action ${finish.state.toLowerCase()}: traffic left at ${left}`;
}

function noWinner(exp: Experiment): boolean {
  const winner = exp.status?.analysis?.winnerAssessment?.data;
  if (!winner || winner.winnerFound) return false;
  if (exp.spec.strategy.testingPattern !== "Conformance") return true;
  // A conformance test "wins" when the version meets every objective; old analytics never said so.
  const assessed = exp.status?.analysis?.versionAssessments?.data ?? {};
  return Object.values(assessed).some((list) => list.some((ok) => !ok));
}

function noWinnerWhy(exp: Experiment): string {
  const assessed = exp.status?.analysis?.versionAssessments?.data ?? {};
  const objectives = exp.spec.criteria?.objectives ?? [];
  const values = exp.status?.analysis?.aggregatedMetrics?.data ?? {};
  const failing = Object.entries(assessed)
    .map(([version, list]) => {
      const metrics = list.flatMap((ok, i) => (ok ? [] : [objectives[i]?.metric ?? `objective ${i}`]));
      const unread = metrics.filter((m) => values[m]?.data[version]?.value === undefined);
      const violated = metrics.filter((m) => !unread.includes(m));
      const parts = [
        ...(violated.length > 0 ? [`does not satisfy ${violated.join(", ")}`] : []),
        ...(unread.length > 0 ? [`has no value for ${unread.join(", ")}`] : []),
      ];
      return parts.length > 0 ? `${version} ${parts.join(" and ")}` : "";
    })
    .filter(Boolean);
  return failing.length > 0 ? failing.join("; ") : "no version satisfies all objectives";
}

/**
 * The metrics that count requests: `criteria.requestCount`, and the sample-size metric of every
 * metric the experiment uses (`request-count` in the seeds).
 */
export function requestCountMetrics(exp: Experiment): string[] {
  const keys = new Set<string>();
  if (exp.spec.criteria?.requestCount) keys.add(exp.spec.criteria.requestCount);
  for (const m of exp.status?.metrics ?? [])
    if (m.metricObj?.spec?.sampleSize) keys.add(m.metricObj.spec.sampleSize);
  return [...keys];
}

/** Versions whose request count was zero in the last iteration. */
function noTraffic(exp: Experiment, points: IterationRecord[]): string[] {
  const last = points.at(-1);
  if (!last) return [];
  const out: string[] = [];
  for (const key of requestCountMetrics(exp)) {
    for (const [version, cell] of Object.entries(last.values[key] ?? {}))
      if (cell.value === 0)
        out.push(
          `no traffic: version ${version} received no requests (${key} is 0 in iteration ${last.iteration})`,
        );
  }
  return out;
}

const READ_ERROR =
  /Error from metrics backend for metric: (.+?) and version: (.+?): (.*?)(?=, Error from metrics backend for metric: |; Warning: |$)/gs;

/** The latest iteration's unreadable values, from the history or else the analysis message. */
function readErrors(exp: Experiment, last: IterationRecord | undefined): string[] {
  const out: string[] = [];
  if (last) {
    for (const [metric, row] of Object.entries(last.values))
      for (const [version, cell] of Object.entries(row))
        if (cell.error !== undefined) out.push(unreadable(metric, version, cell.error));
    return out;
  }
  const message = exp.status?.analysis?.aggregatedMetrics?.message ?? "";
  for (const m of message.matchAll(READ_ERROR)) out.push(unreadable(m[1]!, m[2]!, m[3]!));
  return out;
}

export function unreadable(metric: string, version: string, why: string): string {
  // Providers often repeat the metric and version; say them once.
  const repeated = `metric ${metric} for version ${version}: `;
  const reason = why.startsWith(repeated) ? why.slice(repeated.length) : why;
  return `metric ${metric} could not be read for version ${version}: ${reason}`;
}
