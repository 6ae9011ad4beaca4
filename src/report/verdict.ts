// The verdict of an experiment in one sentence: who won, what was promoted or rolled back, and why,
// read from the status alone so it is the same for a live experiment and a finished one.

import { totalIterations } from "../api/defaults.ts";
import type { Experiment } from "../api/types.ts";
import { engineStatus, getCondition, isCompleted } from "../engine/status.ts";

export function verdictOf(exp: Experiment): string {
  const st = engineStatus(exp);
  const failed = getCondition(exp, "Failed");
  const recommended = st.versionRecommendedForPromotion;
  const winner = st.analysis?.winnerAssessment?.data;
  const finish = st.actions?.find((a) => a.action === "finish");
  const total = totalIterations(exp.spec);
  const done = st.completedIterations ?? 0;

  if (failed?.status === "True") {
    const why = [failed.reason, failed.message].filter(Boolean).join(": ");
    return `Failed${why ? ` (${why})` : ""}; ${recommended ? `${recommended} is the version to keep` : "no version was promoted"}.`;
  }
  if (!isCompleted(exp)) {
    const lead =
      winner?.winnerFound && winner.winner ? `${winner.winner} is winning so far` : "no winner yet";
    return `${st.stage ?? "Waiting"}: ${done} of ${total} iterations done; ${lead}.`;
  }
  if (finish?.kind === "rollback") {
    const ran = finish.state === "Succeeded" ? "the rollback action ran" : "the rollback action failed";
    return `Rolled back to ${recommended ?? "the baseline"}: an objective with rollback_on_failure was violated; ${ran}.`;
  }
  const promotedBy = finish
    ? finish.state === "Succeeded"
      ? "promoted by the finish action"
      : "the finish action failed"
    : "no finish action ran";
  if (winner?.winnerFound && winner.winner) {
    return `${winner.winner} won after ${done} iterations and is the version to promote (${promotedBy}).`;
  }
  return `No winner after ${done} iterations: ${recommended ?? "the baseline"} is kept (${promotedBy}).`;
}
