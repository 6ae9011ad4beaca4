// Defaults of the Experiment spec. As in the original they are applied in memory when
// the spec is used, never written back, so `describe` and `kubectl get -o yaml` show what the user wrote.

import type { DeploymentPattern, ExperimentSpec, Objective } from "./types.ts";

export const DEFAULTS = {
  deploymentPattern: "Progressive" as DeploymentPattern,
  maxCandidateWeight: 100,
  maxCandidateWeightIncrement: 10,
  intervalSeconds: 20,
  iterationsPerLoop: 15,
  maxLoops: 1,
  namespace: "default",
} as const;

export function deploymentPattern(spec: ExperimentSpec): DeploymentPattern {
  return spec.strategy.deploymentPattern ?? DEFAULTS.deploymentPattern;
}
export function maxCandidateWeight(spec: ExperimentSpec): number {
  return spec.strategy.weights?.maxCandidateWeight ?? DEFAULTS.maxCandidateWeight;
}
export function maxCandidateWeightIncrement(spec: ExperimentSpec): number {
  return spec.strategy.weights?.maxCandidateWeightIncrement ?? DEFAULTS.maxCandidateWeightIncrement;
}
export function intervalSeconds(spec: ExperimentSpec): number {
  return spec.duration?.intervalSeconds ?? DEFAULTS.intervalSeconds;
}
export function iterationsPerLoop(spec: ExperimentSpec): number {
  return spec.duration?.iterationsPerLoop ?? DEFAULTS.iterationsPerLoop;
}
export function maxLoops(spec: ExperimentSpec): number {
  return spec.duration?.maxLoops ?? DEFAULTS.maxLoops;
}
/** Iterations the experiment runs in all: iterationsPerLoop x maxLoops. */
export function totalIterations(spec: ExperimentSpec): number {
  return iterationsPerLoop(spec) * maxLoops(spec);
}
/** An objective's rollback flag; unset means "rollback iff the deployment pattern is BlueGreen". */
export function rollbackOnFailure(spec: ExperimentSpec, objective: Objective): boolean {
  return objective.rollback_on_failure ?? deploymentPattern(spec) === "BlueGreen";
}

/**
 * A copy of `spec` with every default filled in: deploymentPattern, weights, duration, and each
 * objective's rollback_on_failure. This is what the analytics and the engine work from.
 */
export function effectiveSpec(spec: ExperimentSpec): ExperimentSpec {
  const out = structuredClone(spec);
  out.strategy.deploymentPattern = deploymentPattern(spec);
  out.strategy.weights = {
    maxCandidateWeight: maxCandidateWeight(spec),
    maxCandidateWeightIncrement: maxCandidateWeightIncrement(spec),
  };
  out.duration = {
    intervalSeconds: intervalSeconds(spec),
    iterationsPerLoop: iterationsPerLoop(spec),
    maxLoops: maxLoops(spec),
  };
  if (out.criteria?.objectives) {
    for (const o of out.criteria.objectives) o.rollback_on_failure = rollbackOnFailure(spec, o);
  }
  return out;
}
