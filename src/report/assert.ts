// The conditions `iter8 assert` and `iter8 local run --assert` check, as in iter8ctl and the later
// Iter8 CLI: completed, nofailure, winnerFound, winner=NAME, promoted=NAME, slos. Each is judged on
// the experiment's status alone, with a one-line reason, so CI can gate on the outcome.

import type { Experiment } from "../api/types.ts";
import { engineStatus, getCondition, isCompleted } from "../engine/status.ts";
import { outcomeOf, type RunLiveness } from "./outcome.ts";

export type AssertCondition =
  | { kind: "completed" | "nofailure" | "winnerFound" | "slos" }
  | { kind: "winner" | "promoted"; version: string };

export const CONDITION_NAMES = [
  "completed",
  "nofailure",
  "winnerFound",
  "winner=NAME",
  "promoted=NAME",
  "slos",
];

/** Parses `-c` values; throws an Error naming the bad one. */
export function parseConditions(values: readonly string[]): AssertCondition[] {
  if (values.length === 0)
    throw new Error(`give at least one condition with -c (${CONDITION_NAMES.join(", ")})`);
  return values.map((raw) => {
    const text = raw.trim();
    const eq = text.indexOf("=");
    if (eq >= 0) {
      const kind = text.slice(0, eq);
      const version = text.slice(eq + 1).trim();
      if ((kind === "winner" || kind === "promoted") && version !== "") return { kind, version };
      throw new Error(`-c ${JSON.stringify(raw)}: unknown condition (use ${CONDITION_NAMES.join(", ")})`);
    }
    if (text === "completed" || text === "nofailure" || text === "winnerFound" || text === "slos")
      return { kind: text };
    throw new Error(`-c ${JSON.stringify(raw)}: unknown condition (use ${CONDITION_NAMES.join(", ")})`);
  });
}

export function conditionText(c: AssertCondition): string {
  return "version" in c ? `${c.kind}=${c.version}` : c.kind;
}

export interface AssertResult {
  condition: string;
  holds: boolean;
  /** Why it holds or not, one line. */
  reason: string;
}

export function checkCondition(exp: Experiment, c: AssertCondition, liveness?: RunLiveness): AssertResult {
  const st = exp.status;
  const name = conditionText(c);
  const result = (holds: boolean, reason: string): AssertResult => ({ condition: name, holds, reason });
  const winner = st?.analysis?.winnerAssessment?.data;
  switch (c.kind) {
    case "completed": {
      if (isCompleted(exp)) return result(true, st?.message ?? "completed");
      const outcome = outcomeOf(exp, liveness);
      if (outcome.interrupted) return result(false, outcome.reasons[0]!);
      return result(
        false,
        `stage ${st?.stage ?? "not started"}, ${st?.completedIterations ?? 0} iterations completed`,
      );
    }
    case "nofailure": {
      // A failure is the Failed condition, a failed action, or a run that died before it ended.
      const outcome = outcomeOf(exp, liveness);
      const failed = getCondition(exp, "Failed")?.status === "True";
      const actionFailed = engineStatus(exp).actions?.some((a) => a.state === "Failed") === true;
      if (!failed && !actionFailed && !outcome.interrupted) return result(true, "no failure recorded");
      const why = outcome.reasons.find((r) => /^(interrupted|failed|\S+ action)/.test(r));
      return result(false, why ?? "the experiment failed");
    }
    case "winnerFound":
      return winner?.winnerFound
        ? result(true, `winner ${winner.winner}`)
        : result(false, winner ? "no winner found" : "no winner assessment yet");
    case "winner":
      if (!winner?.winnerFound) return result(false, winner ? "no winner found" : "no winner assessment yet");
      return winner.winner === c.version
        ? result(true, `winner ${winner.winner}`)
        : result(false, `the winner is ${winner.winner}`);
    case "promoted": {
      const { promoted } = outcomeOf(exp, liveness);
      if (promoted === c.version) return result(true, `finish action promoted ${promoted}`);
      if (promoted) return result(false, `${promoted} was promoted`);
      if (!isCompleted(exp)) return result(false, "not completed yet");
      return result(false, "nothing was promoted (no finish action succeeded)");
    }
    case "slos":
      return slos(exp, result);
  }
}

function slos(exp: Experiment, result: (holds: boolean, reason: string) => AssertResult): AssertResult {
  const objectives = exp.spec.criteria?.objectives ?? [];
  if (objectives.length === 0) return result(true, "the experiment has no objectives");
  const assessed = exp.status?.analysis?.versionAssessments?.data;
  if (!assessed) return result(false, "no assessment yet");
  const info = exp.spec.versionInfo;
  const versions = info
    ? [info.baseline.name, ...(info.candidates ?? []).map((v) => v.name)]
    : Object.keys(assessed);
  const failing: string[] = [];
  for (const v of versions) {
    const list = assessed[v] ?? [];
    objectives.forEach((o, i) => {
      if (list[i] !== true) failing.push(`${v} does not satisfy ${o.metric}`);
    });
  }
  return failing.length === 0
    ? result(true, `all versions satisfy all ${objectives.length} objectives`)
    : result(false, failing.join("; "));
}

/** One line per result, "holds" / "does not hold", for the terminal. */
export function formatResults(results: readonly AssertResult[]): string {
  return results.map((r) => `${r.holds ? "ok  " : "FAIL"} ${r.condition}: ${r.reason}\n`).join("");
}
