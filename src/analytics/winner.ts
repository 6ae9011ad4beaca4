// Winner assessment per testing pattern.
import type {
  AggregatedMetricsData,
  Experiment,
  VersionAssessmentsData,
  WinnerAssessmentData,
} from "../api/types.ts";
import { feasibleVersions } from "./assessments.ts";
import { formatMessages, type MessageLog, newMessageLog } from "./messages.ts";
import { readQuantity } from "./numbers.ts";
import { findAggregatedMetric, versionNames } from "./versions.ts";

export interface WinnerOptions {
  /** API version the experiment was written in; v2alpha1 Conformance experiments have no winner. */
  sourceVersion?: "v2alpha1" | "v2alpha2" | undefined;
}

export interface WinnerResult {
  data: WinnerAssessmentData;
  message: string;
}

function noWinner(): WinnerAssessmentData {
  return { winnerFound: false, bestVersions: [] };
}

function won(version: string): WinnerAssessmentData {
  return { winnerFound: true, winner: version, bestVersions: [version] };
}

export function assessWinner(
  exp: Experiment,
  assessments: VersionAssessmentsData,
  metrics: AggregatedMetricsData,
  opts: WinnerOptions = {},
): WinnerResult {
  const log = newMessageLog();
  const versions = versionNames(exp);
  if (versions.length === 0) {
    log.errors.push("versionInfo is not set; no winner can be assessed");
    return { data: noWinner(), message: formatMessages(log) };
  }
  const feasible = new Set(feasibleVersions(exp, assessments));
  const baseline = versions[0]!;
  let data: WinnerAssessmentData;
  switch (exp.spec.strategy.testingPattern) {
    case "Conformance":
      data = conformanceWinner(baseline, feasible, opts, log);
      break;
    case "Canary":
      data = canaryWinner(baseline, versions[1], feasible, log);
      break;
    default:
      data = rewardWinner(exp, versions, feasible, metrics, log);
  }
  return { data, message: formatMessages(log) };
}

function conformanceWinner(
  baseline: string,
  feasible: Set<string>,
  opts: WinnerOptions,
  log: MessageLog,
): WinnerAssessmentData {
  if (opts.sourceVersion === "v2alpha1") {
    // iter8-analytics 1.2.0 refused to name a winner for conformance experiments.
    log.errors.push("conformance tests cannot have winner assessments");
    return noWinner();
  }
  if (feasible.has(baseline)) {
    log.infos.push("baseline satisfies all objectives");
    return won(baseline);
  }
  log.infos.push("baseline does not satisfy all objectives");
  return noWinner();
}

/** Only the first candidate takes part in a Canary experiment, as in Iter8 v2. */
function canaryWinner(
  baseline: string,
  candidate: string | undefined,
  feasible: Set<string>,
  log: MessageLog,
): WinnerAssessmentData {
  if (candidate !== undefined && feasible.has(candidate)) {
    log.infos.push("candidate satisfies all objectives");
    return won(candidate);
  }
  if (feasible.has(baseline)) {
    log.infos.push(
      candidate === undefined
        ? "baseline satisfies all objectives; there is no candidate"
        : "baseline satisfies all objectives; candidate does not",
    );
    return won(baseline);
  }
  log.infos.push("no version satisfies all objectives");
  return noWinner();
}

/** A/B and A/B/N: the feasible version with the best value of `rewards[0]`; ties mean no winner. */
function rewardWinner(
  exp: Experiment,
  versions: string[],
  feasible: Set<string>,
  metrics: AggregatedMetricsData,
  log: MessageLog,
): WinnerAssessmentData {
  const reward = exp.spec.criteria?.rewards?.[0];
  if (!reward) {
    log.warnings.push(
      "No reward metric in experiment. Winner assessment cannot be computed for ab or abn experiments without reward metric.",
    );
    return noWinner();
  }
  const rewardMetric = findAggregatedMetric(metrics, reward.metric, exp.metadata.namespace);
  if (!rewardMetric) {
    log.warnings.push("reward metric values are not available");
    return noWinner();
  }
  const higherIsBetter = reward.preferredDirection !== "Low";
  const candidates = versions.filter((v) => feasible.has(v));
  if (candidates.length === 0) log.infos.push("no version satisfies all objectives");
  let top = higherIsBetter ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  let best: string[] = [];
  for (const v of candidates) {
    const reading = readQuantity(rewardMetric.data?.[v]?.value);
    if (!reading.ok) {
      log.warnings.push(`reward value for feasible version ${v} is not available`);
      continue;
    }
    const r = reading.value;
    if (r === top) best.push(v);
    else if (higherIsBetter ? r > top : r < top) {
      top = r;
      best = [v];
    }
  }
  if (best.length === 1) {
    log.infos.push("found unique winner");
    return { winnerFound: true, winner: best[0]!, bestVersions: best };
  }
  if (best.length > 1)
    log.infos.push("no unique winner; two or more feasible versions with same reward value");
  if (best.length === 0 && candidates.length > 0) log.infos.push("no feasible version has a reward value");
  return { winnerFound: false, bestVersions: best };
}

/** The winning version's name, when the assessment found one (a found winner without a name counts as none). */
export function winnerName(data: WinnerAssessmentData | undefined): string | undefined {
  return data?.winnerFound && data.winner ? data.winner : undefined;
}
