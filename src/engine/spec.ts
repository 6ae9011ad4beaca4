// The engine's view of the API layer: defaults applied in memory (never written back) and the
// version checks that run once the start action has had its chance to fill versionInfo.

import { checkStartedExperiment, effectiveSpec, SOURCE_VERSION_ANNOTATION } from "../api/index.ts";
import type { Experiment, ExperimentSpec, SourceVersion } from "../api/types.ts";

export function effectiveSpecOf(exp: Experiment): ExperimentSpec {
  return effectiveSpec(exp.spec);
}

/**
 * Iter8 v2's admission checks, in its order (`No versionInfo in experiment`, `Invalid number of candidates
 * for <P> experiment`, `Version names are not unique`, ...): the messages, first problem first.
 */
export function versionCountProblems(exp: Experiment): string[] {
  return checkStartedExperiment(exp).map((p) => p.message);
}

export function sourceVersionOf(exp: Experiment): SourceVersion {
  return exp.metadata.annotations?.[SOURCE_VERSION_ANNOTATION] === "v2alpha1" ? "v2alpha1" : "v2alpha2";
}

export { SOURCE_VERSION_ANNOTATION };
