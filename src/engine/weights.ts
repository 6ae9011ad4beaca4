// Small helpers about versions and their weights.

import type { Experiment, VersionDetail, VersionWeight } from "../api/types.ts";

/** Baseline first, then candidates in spec order. */
export function allVersions(exp: Experiment): VersionDetail[] {
  const info = exp.spec.versionInfo;
  if (!info) return [];
  return [info.baseline, ...(info.candidates ?? [])];
}

/** Conformance and FixedSplit never move traffic. */
export function movesTraffic(exp: Experiment): boolean {
  return (
    exp.spec.strategy.testingPattern !== "Conformance" && exp.spec.strategy.deploymentPattern !== "FixedSplit"
  );
}

/**
 * Whether a version's weight lives in a field of some object. A version without a
 * `weightObjRef.fieldPath` has its weight inferred and never written, on every platform.
 */
export function hasWeightField(v: VersionDetail): boolean {
  return Boolean(v.weightObjRef?.fieldPath);
}

/** Versions whose weight lives in a field of some object (the others are inferred, never written). */
export function patchableVersions(exp: Experiment): string[] {
  return allVersions(exp)
    .filter(hasWeightField)
    .map((v) => v.name);
}

/** Whether `observed` shows the `wanted` weight for every version whose weight is written. */
export function weightsMatch(
  exp: Experiment,
  wanted: VersionWeight[],
  observed: VersionWeight[] | undefined,
): boolean {
  if (!observed) return false;
  for (const name of patchableVersions(exp)) {
    const w = wanted.find((x) => x.name === name);
    const o = observed.find((x) => x.name === name);
    if (!w || !o || w.value !== o.value) return false;
  }
  return true;
}

export function formatWeights(weights: VersionWeight[] | undefined): string {
  return `[${(weights ?? []).map((w) => `${w.name}=${w.value}`).join(", ")}]`;
}

/**
 * The remaining-weight rule: a version without a `weightObjRef.fieldPath` has what the others leave
 * of 100 (listed last). At most one version may lack one, except in FixedSplit (nothing is written)
 * or when no version has one (nothing is observable).
 */
export function withRemainingWeight(
  exp: Experiment,
  observed: VersionWeight[],
  missing: string[],
): VersionWeight[] {
  if (missing.length === 1) {
    return [...observed, { name: missing[0]!, value: 100 - observed.reduce((s, w) => s + w.value, 0) }];
  }
  if (missing.length > 1 && exp.spec.strategy.deploymentPattern !== "FixedSplit" && observed.length > 0) {
    throw new Error(`versions ${missing.join(", ")} have no weightObjRef.fieldPath; at most one may omit it`);
  }
  return observed;
}
