// Effective strategy values the analytics needs, with the controller's defaults (SPEC B §1.1):
// the controller always sends weights 100 / 10, so those are the effective defaults (B §11 item 6).
// Kept local so the analytics stays usable on objects that have not been through API defaulting.
import type { DeploymentPattern, Experiment, Objective } from "../api/types.ts";

export const DEFAULT_MAX_CANDIDATE_WEIGHT = 100;
export const DEFAULT_MAX_CANDIDATE_WEIGHT_INCREMENT = 10;

export function deploymentPatternOf(exp: Experiment): DeploymentPattern {
  return exp.spec.strategy.deploymentPattern ?? "Progressive";
}

export interface WeightLimits {
  maxCandidateWeight: number;
  maxCandidateWeightIncrement: number;
}

export function weightLimitsOf(exp: Experiment): WeightLimits {
  const w = exp.spec.strategy.weights;
  return {
    maxCandidateWeight: w?.maxCandidateWeight ?? DEFAULT_MAX_CANDIDATE_WEIGHT,
    maxCandidateWeightIncrement: w?.maxCandidateWeightIncrement ?? DEFAULT_MAX_CANDIDATE_WEIGHT_INCREMENT,
  };
}

/** `rollback_on_failure` as the controller applies it: explicit value, else true iff BlueGreen (B §11 item 19). */
export function effectiveRollbackOnFailure(exp: Experiment, objective: Objective): boolean {
  return objective.rollback_on_failure ?? deploymentPatternOf(exp) === "BlueGreen";
}
