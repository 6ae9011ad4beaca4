// Versions and their weights: which versions have a weight field, and the one interpretation of
// what the actuators read there and write back, for every platform.

import { namespaceOf } from "../api/refs.ts";
import type { Experiment, VersionDetail, VersionWeight } from "../api/types.ts";
import { parseFieldPath } from "../kinds/fieldpath.ts";
import { trafficKindFor } from "../kinds/index.ts";
import type { FieldWrite, TrafficActuator, WeightField } from "./ports.ts";

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

/**
 * The weight field of each version that has one, baseline first. Throws naming the version when its
 * `weightObjRef` does not say which object holds the field, or its fieldPath does not parse.
 */
export function weightFields(exp: Experiment): WeightField[] {
  return allVersions(exp)
    .filter(hasWeightField)
    .map((v) => {
      const ref = v.weightObjRef!;
      if (!ref.kind || !ref.name) throw new Error(`version ${v.name}: weightObjRef needs kind and name`);
      try {
        parseFieldPath(ref.fieldPath!);
      } catch (err) {
        throw new Error(`version ${v.name}: weightObjRef.fieldPath: ${(err as Error).message}`);
      }
      return {
        version: v.name,
        ...(ref.apiVersion ? { apiVersion: ref.apiVersion } : {}),
        kind: ref.kind,
        namespace: ref.namespace || namespaceOf(exp),
        name: ref.name,
        fieldPath: ref.fieldPath!,
      };
    });
}

/** `Service default/sample-app .spec.traffic[1].percent`, for messages. */
const fieldText = (f: WeightField) => `${f.kind} ${f.namespace}/${f.name} ${f.fieldPath}`;

/**
 * The weight `raw` (read at `f`) stands for. An absent field means what its kind says (Istio 0,
 * Gateway API 1, Knative 0), even where its whole entry is gone: a promotion may rewrite a Service's
 * traffic block, and the weights must stay readable after it. A numeric string counts, since some
 * objects carry weights as strings.
 */
function weightAt(f: WeightField, raw: unknown): number {
  let value = raw;
  if (value === undefined) {
    const kind = trafficKindFor({ kind: f.kind, apiVersion: f.apiVersion });
    value = kind?.absentWeight(parseFieldPath(f.fieldPath));
  }
  if (typeof value === "string" && /^-?\d+$/.test(value)) value = Number(value);
  if (typeof value === "number" && Number.isInteger(value)) return value;
  const found = raw === undefined ? "absent" : JSON.stringify(raw);
  throw new Error(`version ${f.version}: ${fieldText(f)} is ${found}, not an integer`);
}

/**
 * The weights as observed now, baseline first, candidates in spec order, the version without a
 * field last (see `withRemainingWeight`).
 */
export async function readWeights(actuator: TrafficActuator, exp: Experiment): Promise<VersionWeight[]> {
  const fields = weightFields(exp);
  const inferred = allVersions(exp)
    .filter((v) => !hasWeightField(v))
    .map((v) => v.name);
  const raw = fields.length > 0 ? await actuator.readFields(fields) : [];
  const observed = fields.map((f, i) => ({ name: f.version, value: weightAt(f, raw[i]) }));
  return withRemainingWeight(exp, observed, inferred);
}

/**
 * Writes `weights` to every version's field. A version with a field but no weight in `weights` is an
 * error before anything is written: leaving its old value would make a split that was never asked for.
 */
export async function writeWeights(
  actuator: TrafficActuator,
  exp: Experiment,
  weights: readonly VersionWeight[],
): Promise<void> {
  const writes: FieldWrite[] = weightFields(exp).map((field) => {
    const w = weights.find((x) => x.name === field.version);
    if (!w) throw new Error(`version ${field.version}: no weight to write at ${fieldText(field)}`);
    return { field, value: w.value };
  });
  if (writes.length > 0) await actuator.writeFields(writes);
}
