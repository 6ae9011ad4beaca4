// How an experiment ended, read from its status in one place: the facts that the verdict sentence
// (verdict.ts), the outcome lines (outcome.ts) and the closing line of a local run (progress.ts) are
// worded from, so that they cannot disagree on whether it failed, who won, what was promoted, whether
// it rolled back or where the traffic was left.

import { winnerName } from "../analytics/winner.ts";
import type { Condition, Experiment } from "../api/types.ts";
import { historyPoints, splitText } from "../engine/history.ts";
import { type ActionRecord, engineStatus, getCondition, isCompleted } from "../engine/status.ts";

export interface Ending {
  readonly completed: boolean;
  /** The Failed condition, when it is True. */
  readonly failed: Condition | undefined;
  /** The finish action's record; it runs for a normal end (kind `finish`) and for a rollback. */
  readonly finish: ActionRecord | undefined;
  /** The winner's name, when one was found. */
  readonly winner: string | undefined;
  readonly recommended: string | undefined;
  /** The version a finish action that succeeded promoted (a completed experiment only). */
  readonly promoted: string | undefined;
  /** True when the last iteration rolled back, or the engine ended with "Experiment rolled back". */
  readonly rolledBack: boolean;
  /** What the last iteration's history says triggered the rollback (after "rollback: "), if it did. */
  readonly rollbackReason: string | undefined;
  /** The current weights, `v1=80 v2=20`; "" when unknown. */
  readonly split: string;
}

export function endingOf(exp: Experiment): Ending {
  const st = engineStatus(exp);
  const completed = isCompleted(exp);
  const failed = getCondition(exp, "Failed");
  const winner = st.analysis?.winnerAssessment?.data;
  const finish = (st.actions ?? []).find((a) => a.action === "finish");
  const recommended = st.versionRecommendedForPromotion;
  const reason = historyPoints(st).at(-1)?.reason;
  // appendIteration writes "rollback: <why>"; the slice keeps what follows the prefix and its space.
  const rollbackReason = reason?.startsWith("rollback:") ? reason.slice(10) : undefined;
  return {
    completed,
    failed: failed?.status === "True" ? failed : undefined,
    finish,
    winner: winnerName(winner),
    recommended,
    promoted: completed && finish?.state === "Succeeded" && recommended ? recommended : undefined,
    rolledBack: rollbackReason !== undefined || /rolled back/.test(st.message ?? ""),
    rollbackReason,
    split: splitText(st.currentWeightDistribution),
  };
}

/**
 * `reason: message` of a Failed condition, each part only when set; a condition without a reason is
 * named `unnamed` (the outcome lines say "Failed", the verdict sentence nothing).
 */
export function failureText(c: Condition, unnamed = ""): string {
  return [c.reason ?? unnamed, c.message].filter(Boolean).join(": ");
}
