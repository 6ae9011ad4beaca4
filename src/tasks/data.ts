// The data task templates are rendered with: the version recommended for
// promotion (`.name` and its variables, e.g. `.promote`) and `.this`, the experiment as a map.

import { namespaceOf } from "../api/refs.ts";
import type { Experiment, VersionDetail } from "../api/types.ts";
import type { TemplateData } from "./template.ts";

/** The version named by `status.versionRecommendedForPromotion`, if it names one. */
export function recommendedVersion(exp: Experiment): VersionDetail | undefined {
  const name = exp.status?.versionRecommendedForPromotion;
  if (!name) return undefined;
  const info = exp.spec.versionInfo;
  if (!info) return undefined;
  return [info.baseline, ...(info.candidates ?? [])].find((v) => v.name === name);
}

/** `.name` plus every variable of the recommended version (variables may override `name`). */
export function versionValues(exp: Experiment): Record<string, unknown> {
  const v = recommendedVersion(exp);
  const values: Record<string, unknown> = {};
  if (!v) return values;
  values["name"] = v.name;
  for (const variable of v.variables ?? []) values[variable.name] = variable.value;
  return values;
}

export function winnerFound(exp: Experiment): boolean {
  return exp.status?.analysis?.winnerAssessment?.data?.winnerFound === true;
}

/** The single candidate won. */
export function candidateWon(exp: Experiment): boolean {
  const candidates = exp.spec.versionInfo?.candidates ?? [];
  const winner = exp.status?.analysis?.winnerAssessment?.data;
  return candidates.length === 1 && winner?.winnerFound === true && winner.winner === candidates[0]!.name;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/**
 * Go-cased experiment fields as the `run` task's Go templates saw them: `.Spec.Target`,
 * `.Status.VersionRecommendedForPromotion`, `.Name`, `.Namespace`, `.WinnerFound`, `.CandidateWon`.
 */
function goFields(exp: Experiment): (path: string[]) => unknown {
  const root = exp as unknown as Record<string, unknown>;
  return (path) => {
    const [head, ...rest] = path;
    if (!head || !/^[A-Z]/.test(head)) return undefined;
    if (rest.length === 0) {
      if (head === "WinnerFound") return winnerFound(exp);
      if (head === "CandidateWon") return candidateWon(exp);
      if (head === "Name") return exp.metadata.name;
      if (head === "Namespace") return namespaceOf(exp);
    }
    let cur: unknown = root;
    for (const seg of path) {
      if (cur === null || typeof cur !== "object") return undefined;
      const obj = cur as Record<string, unknown>;
      cur = Object.hasOwn(obj, seg) ? obj[seg] : obj[lowerFirst(seg)];
    }
    return cur;
  };
}

export interface DataOptions {
  /** Include `.this` (bash, run, notification/http). */
  withThis: boolean;
  /** Include Go-cased experiment fields (run). */
  goFields?: boolean;
  secret?: Record<string, string>;
}

export function templateData(exp: Experiment, opts: DataOptions): TemplateData {
  const values = versionValues(exp);
  if (opts.withThis) values["this"] = structuredClone(exp);
  if (opts.secret) values["secret"] = opts.secret;
  const data: TemplateData = { values };
  if (opts.secret) data.secret = opts.secret;
  if (opts.goFields) data.fallback = goFields(exp);
  return data;
}
