// Effective strategy values the analytics needs, with the controller's defaults taken
// from the API layer: the controller always sends weights 100 / 10, so those are the effective
// defaults (its analytics service had others, which the controller always overrode), and
// rollback_on_failure defaults to true iff BlueGreen.
import {
  DEFAULTS,
  maxCandidateWeight,
  maxCandidateWeightIncrement,
  rollbackOnFailure,
} from "../api/defaults.ts";
import type { Experiment, Objective } from "../api/types.ts";

export const DEFAULT_MAX_CANDIDATE_WEIGHT = DEFAULTS.maxCandidateWeight;
export const DEFAULT_MAX_CANDIDATE_WEIGHT_INCREMENT = DEFAULTS.maxCandidateWeightIncrement;

export interface WeightLimits {
  maxCandidateWeight: number;
  maxCandidateWeightIncrement: number;
}

export function weightLimitsOf(exp: Experiment): WeightLimits {
  return {
    maxCandidateWeight: maxCandidateWeight(exp.spec),
    maxCandidateWeightIncrement: maxCandidateWeightIncrement(exp.spec),
  };
}

export function effectiveRollbackOnFailure(exp: Experiment, objective: Objective): boolean {
  return rollbackOnFailure(exp.spec, objective);
}
