// Rollback check: an objective whose effective `rollback_on_failure` is true
// and that some version, baseline included, does not satisfy stops the experiment with a rollback.
// When the aggregated metrics are given, only an *observed* violation counts: a version that has no
// value yet (a candidate that has had no traffic in iteration 1) is inconclusive, not failing, so a
// rollback is never triggered by missing evidence. Without them, every unsatisfied objective counts
// (the original behaviour).
import type { AggregatedMetricsData, Experiment, VersionAssessmentsData } from "../api/types.ts";
import { readQuantity } from "./numbers.ts";
import { effectiveRollbackOnFailure } from "./strategy.ts";
import { findAggregatedMetric, versionNames } from "./versions.ts";

export interface RollbackVerdict {
  rollback: boolean;
  /** Metric (`namespace/name`) of the first objective that triggered the rollback. */
  objective?: string;
  /** First version (spec order) that failed that objective. */
  version?: string;
}

export function rollbackNeeded(
  exp: Experiment,
  assessments: VersionAssessmentsData,
  metrics?: AggregatedMetricsData,
): RollbackVerdict {
  const objectives = exp.spec.criteria?.objectives ?? [];
  const specVersions = versionNames(exp);
  // Spec order first so the verdict names versions predictably; any extra assessed versions after.
  const extra = Object.keys(assessments)
    .filter((v) => !specVersions.includes(v))
    .sort();
  const versions = [...specVersions, ...extra];
  for (const [i, objective] of objectives.entries()) {
    if (!effectiveRollbackOnFailure(exp, objective)) continue;
    const observed = metrics && findAggregatedMetric(metrics, objective.metric, exp.metadata.namespace);
    for (const v of versions) {
      if (assessments[v]?.[i] !== false) continue;
      if (metrics && !readQuantity(observed?.data?.[v]?.value).ok) continue; // no value: inconclusive
      return { rollback: true, objective: objective.metric, version: v };
    }
  }
  return { rollback: false };
}
