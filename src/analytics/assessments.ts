// Version assessments: for every objective and version, whether the version's latest
// value lies within the objective's inclusive limits. Anything missing is "not satisfied", with a
// warning saying what was missing, so no version is ever judged on a value it does not have.
import type { AggregatedMetricsData, Experiment, VersionAssessmentsData } from "../api/types.ts";
import { formatMessages, newMessageLog } from "./messages.ts";
import { readQuantity } from "./numbers.ts";
import { findAggregatedMetric, versionNames } from "./versions.ts";

export function assessVersions(
  exp: Experiment,
  metrics: AggregatedMetricsData,
): { data: VersionAssessmentsData; message: string } {
  const log = newMessageLog();
  const objectives = exp.spec.criteria?.objectives ?? [];
  const versions = versionNames(exp);
  const data: VersionAssessmentsData = {};
  if (objectives.length === 0) return { data, message: formatMessages(log) };
  if (versions.length === 0) {
    log.errors.push("versionInfo is not set; versions cannot be assessed");
    return { data, message: formatMessages(log) };
  }
  for (const v of versions) data[v] = objectives.map(() => false);

  objectives.forEach((objective, i) => {
    const m = objective.metric;
    const upper = readLimit(objective.upperLimit);
    const lower = readLimit(objective.lowerLimit);
    if (!upper.ok) {
      log.errors.push(`Objective for ${m} metric has an invalid upperLimit: ${upper.reason}`);
      return;
    }
    if (!lower.ok) {
      log.errors.push(`Objective for ${m} metric has an invalid lowerLimit: ${lower.reason}`);
      return;
    }
    const aggregated = findAggregatedMetric(metrics, m, exp.metadata.namespace);
    if (!aggregated) {
      log.warnings.push(`Aggregated metric object for ${m} metric is unavailable.`);
      return;
    }
    for (const v of versions) {
      if (!Object.hasOwn(aggregated.data ?? {}, v)) {
        log.warnings.push(`Value for ${m} metric and ${v} version is unavailable.`);
        continue;
      }
      const reading = readQuantity(aggregated.data[v]?.value);
      if (!reading.ok) {
        log.warnings.push(
          reading.missing
            ? `Value for ${m} metric and ${v} version is None.`
            : `Value for ${m} metric and ${v} version is invalid: ${reading.reason}.`,
        );
        continue;
      }
      const x = reading.value;
      // Inclusive bounds: a value exactly at a limit satisfies it.
      const satisfied =
        !(upper.value !== undefined && x > upper.value) && !(lower.value !== undefined && x < lower.value);
      data[v]![i] = satisfied;
    }
  });
  return { data, message: formatMessages(log) };
}

type LimitReading = { ok: true; value: number | undefined } | { ok: false; reason: string };

function readLimit(limit: Parameters<typeof readQuantity>[0]): LimitReading {
  const r = readQuantity(limit);
  if (r.ok) return { ok: true, value: r.value };
  if (r.missing) return { ok: true, value: undefined };
  return { ok: false, reason: r.reason };
}

/**
 * Versions (spec order) that satisfy every objective. With no assessments at all (no objectives),
 * every version is feasible.
 */
export function feasibleVersions(exp: Experiment, assessments: VersionAssessmentsData): string[] {
  const versions = versionNames(exp);
  if (Object.keys(assessments).length === 0) return versions;
  const objectiveCount = exp.spec.criteria?.objectives?.length ?? 0;
  return versions.filter((v) => {
    const row = assessments[v];
    // A row shorter than the objectives list lacks a verdict for some objective: not feasible.
    return row !== undefined && row.length >= objectiveCount && row.every((ok) => ok === true);
  });
}
