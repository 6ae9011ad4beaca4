// The verdict of an experiment in one sentence: who won, what was promoted or rolled back, and why,
// read from the status alone so it is the same for a live experiment and a finished one.

import { totalIterations } from "../api/defaults.ts";
import type { Experiment } from "../api/types.ts";
import { endingOf, failureText } from "./ending.ts";

export function verdictOf(exp: Experiment): string {
  const { completed, failed, finish, recommended, winner } = endingOf(exp);
  const done = exp.status?.completedIterations ?? 0;

  if (failed) {
    const why = failureText(failed);
    return `Failed${why ? ` (${why})` : ""}; ${recommended ? `${recommended} is the version to keep` : "no version was promoted"}.`;
  }
  if (!completed) {
    const lead = winner ? `${winner} is winning so far` : "no winner yet";
    return `${exp.status?.stage ?? "Waiting"}: ${done} of ${totalIterations(exp.spec)} iterations done; ${lead}.`;
  }
  // Whether the finish action ran as a rollback: its outcome is what this sentence reports.
  if (finish?.kind === "rollback") {
    const ran = finish.state === "Succeeded" ? "the rollback action ran" : "the rollback action failed";
    return `Rolled back to ${recommended ?? "the baseline"}: an objective with rollback_on_failure was violated; ${ran}.`;
  }
  const promotedBy = finish
    ? finish.state === "Succeeded"
      ? "promoted by the finish action"
      : "the finish action failed"
    : "no finish action ran";
  if (winner) return `${winner} won after ${done} iterations and is the version to promote (${promotedBy}).`;
  return `No winner after ${done} iterations: ${recommended ?? "the baseline"} is kept (${promotedBy}).`;
}
