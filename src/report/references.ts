// Which metric reference the user wrote for each normalised key, so `describe` can label rows the way
// the original iter8ctl did (it printed references exactly as written). The experiment as loaded
// holds `namespace/name` keys; the source document still holds the written strings at the same
// positions (normalisation and the v2alpha1 upgrade keep list order), so they are paired by position.

import type { Experiment } from "../api/types.ts";
import { isRecord } from "../lib/objects.ts";

function at(x: unknown, ...path: Array<string | number>): unknown {
  let cur = x;
  for (const key of path) {
    if (typeof key === "number") cur = Array.isArray(cur) ? cur[key] : undefined;
    else cur = isRecord(cur) ? cur[key] : undefined;
  }
  return cur;
}

function list(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}

/**
 * Normalised key -> reference as written in `source` (the experiment document as parsed, before
 * upgrade and normalisation). Keys whose written form cannot be found are absent. When one key was
 * written two ways, the first occurrence (criteria before metric lists) wins.
 */
export function writtenMetricReferences(source: unknown, exp: Experiment): Map<string, string> {
  const written = new Map<string, string>();
  const pair = (key: string | undefined, ref: unknown): void => {
    if (key !== undefined && typeof ref === "string" && ref !== "" && !written.has(key))
      written.set(key, ref);
  };
  const criteria = exp.spec.criteria;
  const rawCriteria = at(source, "spec", "criteria");

  pair(criteria?.requestCount, at(rawCriteria, "requestCount"));
  for (const [i, o] of (criteria?.objectives ?? []).entries())
    pair(o.metric, at(rawCriteria, "objectives", i, "metric"));
  const rawRewards = at(rawCriteria, "rewards");
  if (Array.isArray(rawRewards)) {
    for (const [i, r] of (criteria?.rewards ?? []).entries()) pair(r.metric, at(rawRewards, i, "metric"));
  } else {
    // v2alpha1: a single `reward`.
    pair(criteria?.rewards?.[0]?.metric, at(rawCriteria, "reward", "metric"));
  }
  for (const [i, key] of (criteria?.indicators ?? []).entries()) pair(key, at(rawCriteria, "indicators", i));

  // The metric snapshot: `status.metrics` (v2alpha2) or `spec.metrics` (v2alpha1).
  const rawMetrics = list(at(source, "status", "metrics")).length
    ? list(at(source, "status", "metrics"))
    : list(at(source, "spec", "metrics"));
  for (const [i, m] of (exp.status?.metrics ?? []).entries()) pair(m.name, at(rawMetrics, i, "name"));
  return written;
}
