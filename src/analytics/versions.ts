// Version and metric-key helpers shared by the analytics steps.
import { DEFAULTS } from "../api/defaults.ts";
import type { AggregatedMetric, AggregatedMetricsData, Experiment } from "../api/types.ts";

/** Version names in spec order: baseline first, then candidates. Empty when versionInfo is not set yet. */
export function versionNames(exp: Experiment): string[] {
  const info = exp.spec.versionInfo;
  if (!info) return [];
  return [info.baseline.name, ...(info.candidates ?? []).map((c) => c.name)];
}

/**
 * `namespace/name` for a metric reference; a bare name resolves in the experiment's namespace.
 * The API layer already normalises references; this keeps hand-built inputs matching too.
 * Unlike the API's `normaliseRef` it never throws: a malformed key simply matches nothing.
 */
export function normaliseMetricKey(ref: string, namespaceOf: string | undefined): string {
  const trimmed = ref.trim();
  if (trimmed.includes("/")) return trimmed;
  return `${namespaceOf || DEFAULTS.namespace}/${trimmed}`;
}

/**
 * Looks a metric reference up in aggregated metrics: an exact key wins, otherwise keys are compared
 * after normalisation, so `mean-latency` in namespace `ns` matches `ns/mean-latency` (Iter8 v2 looked criteria up by the literal string, so bare names never matched).
 */
export function findAggregatedMetric(
  metrics: AggregatedMetricsData,
  ref: string,
  namespaceOf: string | undefined,
): AggregatedMetric | undefined {
  if (Object.hasOwn(metrics, ref)) return metrics[ref];
  const wanted = normaliseMetricKey(ref, namespaceOf);
  for (const key of Object.keys(metrics).sort()) {
    if (normaliseMetricKey(key, namespaceOf) === wanted) return metrics[key];
  }
  return undefined;
}
