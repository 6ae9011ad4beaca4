// Pure analytics: metric values -> version assessments -> winner -> next weights.
// No I/O and no clock reads: time is passed in.
export { type AnalyzeOptions, analyze, PROVENANCE } from "./analyze.ts";
export { assessVersions, feasibleVersions } from "./assessments.ts";
export { formatMessages } from "./messages.ts";
export { type RollbackVerdict, rollbackNeeded } from "./rollback.ts";
export {
  DEFAULT_MAX_CANDIDATE_WEIGHT,
  DEFAULT_MAX_CANDIDATE_WEIGHT_INCREMENT,
  effectiveRollbackOnFailure,
  weightLimitsOf,
} from "./strategy.ts";
export { findAggregatedMetric, normaliseMetricKey, versionNames } from "./versions.ts";
export {
  alignWeights,
  CONFORMANCE_WEIGHTS_MESSAGE,
  EXPLORATION_PERCENT,
  mixWeights,
  recommendWeights,
  roundToHundred,
} from "./weights.ts";
export { assessWinner, type WinnerOptions, type WinnerResult } from "./winner.ts";
