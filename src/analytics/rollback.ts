// Rollback check (SPEC B §3.6 step 6): an objective whose effective `rollback_on_failure` is true
// and that some version, baseline included, does not satisfy stops the experiment with a rollback.
// A version without a value for the objective counts as not satisfying it (B §4.3).
import type { Experiment, VersionAssessmentsData } from "../api/types.ts";
import { effectiveRollbackOnFailure } from "./strategy.ts";
import { versionNames } from "./versions.ts";

export interface RollbackVerdict {
  rollback: boolean;
  /** Metric (`namespace/name`) of the first objective that triggered the rollback. */
  objective?: string;
  /** First version (spec order) that failed that objective. */
  version?: string;
}

export function rollbackNeeded(exp: Experiment, assessments: VersionAssessmentsData): RollbackVerdict {
  const objectives = exp.spec.criteria?.objectives ?? [];
  const specVersions = versionNames(exp);
  // Spec order first so the verdict names versions predictably; any extra assessed versions after.
  const extra = Object.keys(assessments)
    .filter((v) => !specVersions.includes(v))
    .sort();
  const versions = [...specVersions, ...extra];
  for (const [i, objective] of objectives.entries()) {
    if (!effectiveRollbackOnFailure(exp, objective)) continue;
    for (const v of versions) {
      if (assessments[v]?.[i] === false) return { rollback: true, objective: objective.metric, version: v };
    }
  }
  return { rollback: false };
}
