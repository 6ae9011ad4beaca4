// `spec.criteria.strength`: v2alpha2 reserved it as arbitrary JSON and no Iter8 component read it.
// iter8 reads it as soon as it holds `confidence`, which turns on decisions with stated error
// rates (docs/decisions.md); any other content stays ignored as before, so old objects stay valid.

import { isRecord } from "../lib/objects.ts";
import type { Problem, Strength } from "./types.ts";

export const STRENGTH_KEYS = ["confidence", "minSamples", "earlyStop", "maxExtraIterations"] as const;

/** The defaults a `strength` with only `confidence` gets. */
export const STRENGTH_DEFAULTS = { minSamples: 0, earlyStop: true, maxExtraIterations: 0 } as const;

export type EffectiveStrength = Required<Strength>;

/** Whether iter8 reads this `strength` value at all (it has a `confidence` key). */
export function strengthIsSet(raw: unknown): boolean {
  return isRecord(raw) && Object.hasOwn(raw, "confidence");
}

/** Problems with a `strength` value iter8 reads, with field paths under `path`. */
export function strengthProblems(raw: unknown, path = "spec.criteria.strength"): Problem[] {
  if (!strengthIsSet(raw)) return [];
  const s = raw as Record<string, unknown>;
  const out: Problem[] = [];
  for (const k of Object.keys(s)) {
    if (!(STRENGTH_KEYS as readonly string[]).includes(k)) {
      out.push({ path: `${path}.${k}`, message: `unknown field (known: ${STRENGTH_KEYS.join(", ")})` });
    }
  }
  const c = s["confidence"];
  if (typeof c !== "number" || !(c >= 0.5 && c < 1)) {
    out.push({
      path: `${path}.confidence`,
      message: `must be a number >= 0.5 and < 1, e.g. 0.95 (got ${JSON.stringify(c)})`,
    });
  }
  for (const k of ["minSamples", "maxExtraIterations"] as const) {
    const v = s[k];
    if (v !== undefined && !(typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 1_000_000)) {
      out.push({
        path: `${path}.${k}`,
        message: `must be an integer from 0 to 1000000 (got ${JSON.stringify(v)})`,
      });
    }
  }
  const e = s["earlyStop"];
  if (e !== undefined && typeof e !== "boolean") {
    out.push({ path: `${path}.earlyStop`, message: `must be true or false (got ${JSON.stringify(e)})` });
  }
  return out;
}

/** The strength in force, defaults filled in; undefined when it is not set (Iter8 v2's rule applies). */
export function effectiveStrength(raw: unknown): EffectiveStrength | undefined {
  if (!strengthIsSet(raw) || strengthProblems(raw).length > 0) return undefined;
  const s = raw as Strength;
  return {
    confidence: s.confidence,
    minSamples: s.minSamples ?? STRENGTH_DEFAULTS.minSamples,
    earlyStop: s.earlyStop ?? STRENGTH_DEFAULTS.earlyStop,
    maxExtraIterations: s.maxExtraIterations ?? STRENGTH_DEFAULTS.maxExtraIterations,
  };
}
