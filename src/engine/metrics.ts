// Resolving the metrics an experiment references into `status.metrics`: every reference becomes `namespace/name`; a bare name is looked up in the experiment's
// namespace, then in the install namespace; `sampleSize` references are followed (relative to the
// metric's own namespace). Read once, before Running.

import type { SampleDetails } from "../analytics/stats/sample.ts";
import { namespaceOf } from "../api/refs.ts";
import type {
  AggregatedMetricsData,
  Criteria,
  Experiment,
  Metric,
  MetricInfo,
  VersionDetail,
} from "../api/types.ts";
import { errorText } from "../lib/errors.ts";
import type { ExperimentStore, MetricReading, MetricsProvider } from "./ports.ts";

/** Every metric reference in the criteria, in the original reading order. */
export function criteriaRefs(criteria: Criteria | undefined): string[] {
  if (!criteria) return [];
  const refs: string[] = [];
  if (criteria.requestCount) refs.push(criteria.requestCount);
  for (const r of criteria.rewards ?? []) refs.push(r.metric);
  for (const i of criteria.indicators ?? []) refs.push(i);
  for (const o of criteria.objectives ?? []) refs.push(o.metric);
  return refs;
}

/** The keys a reference may denote, in lookup order. */
export function candidateKeys(ref: string, ownNamespace: string, installNamespace: string): string[] {
  const trimmed = ref.trim();
  const slash = trimmed.indexOf("/");
  if (slash >= 0) return [trimmed];
  const keys = [`${ownNamespace}/${trimmed}`];
  if (installNamespace !== ownNamespace) keys.push(`${installNamespace}/${trimmed}`);
  return keys;
}

function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export type MetricResolution =
  | { ok: true; metrics: MetricInfo[] }
  | { ok: false; reason: "MetricUnavailable"; message: string };

/** Reads every referenced metric (and their sampleSize metrics) once, duplicates once. */
export async function resolveMetrics(
  exp: Experiment,
  store: ExperimentStore,
  installNamespace: string,
): Promise<MetricResolution> {
  const expNs = namespaceOf(exp);
  const metrics: MetricInfo[] = [];
  const seen = new Set<string>();
  const queue: Array<{ ref: string; ns: string }> = criteriaRefs(exp.spec.criteria).map((ref) => ({
    ref,
    ns: expNs,
  }));
  while (queue.length > 0) {
    const { ref, ns } = queue.shift()!;
    const keys = candidateKeys(ref, ns, installNamespace);
    let found: { key: string; metric: Metric } | undefined;
    for (const key of keys) {
      if (seen.has(key)) {
        found = { key, metric: metrics.find((m) => m.name === key)!.metricObj };
        break;
      }
      let metric: Metric | undefined;
      try {
        metric = await store.getMetric(splitKey(key));
      } catch (err) {
        // A transport error is not a missing metric: the reconcile fails and is retried with backoff.
        throw new Error(`Unable to load metric ${key}: ${errorText(err)}`);
      }
      if (metric) {
        found = { key, metric };
        break;
      }
    }
    if (!found)
      return { ok: false, reason: "MetricUnavailable", message: `Unable to find metric ${keys[0]}` };
    if (seen.has(found.key)) continue;
    seen.add(found.key);
    metrics.push({ name: found.key, metricObj: metricCopy(found.metric) });
    const sampleSize = found.metric.spec?.sampleSize;
    if (sampleSize) queue.push({ ref: sampleSize, ns: splitKey(found.key).namespace });
  }
  return { ok: true, metrics };
}

/** Annotations that are tooling bookkeeping, not part of what the Metric means. */
const BOOKKEEPING_ANNOTATIONS = ["kubectl.kubernetes.io/last-applied-configuration"];

/**
 * The Metric as `status.metrics` keeps it: without `managedFields` and kubectl's copy of the last
 * applied object, which carry nothing the analysis or a reader uses and would double its size on
 * every status write.
 */
export function metricCopy(metric: Metric): Metric {
  const { managedFields: _, ...metadata } = metric.metadata as Metric["metadata"] & {
    managedFields?: unknown;
  };
  if (metadata.annotations) {
    const kept = Object.entries(metadata.annotations).filter(([k]) => !BOOKKEEPING_ANNOTATIONS.includes(k));
    if (kept.length > 0) metadata.annotations = Object.fromEntries(kept);
    else delete metadata.annotations;
  }
  return { ...metric, metadata };
}

/**
 * The key a criteria reference resolved to, given the resolved `status.metrics`; references that
 * resolved nowhere keep their experiment-namespace key (so they stay visibly unavailable).
 */
export function resolvedKey(ref: string, exp: Experiment, installNamespace: string): string {
  const keys = candidateKeys(ref, namespaceOf(exp), installNamespace);
  const known = new Set((exp.status?.metrics ?? []).map((m) => m.name));
  return keys.find((k) => known.has(k)) ?? keys[0]!;
}

/**
 * The experiment with every criteria reference rewritten to its resolved `namespace/name` key, so
 * analytics and reports look values up by exactly the keys under which they were stored.
 */
export function withResolvedCriteria(exp: Experiment, installNamespace: string): Experiment {
  const c = exp.spec.criteria;
  if (!c) return exp;
  const r = (ref: string) => resolvedKey(ref, exp, installNamespace);
  const criteria: Criteria = { ...c };
  if (c.requestCount) criteria.requestCount = r(c.requestCount);
  if (c.rewards) criteria.rewards = c.rewards.map((x) => ({ ...x, metric: r(x.metric) }));
  if (c.indicators) criteria.indicators = c.indicators.map(r);
  if (c.objectives) criteria.objectives = c.objectives.map((x) => ({ ...x, metric: r(x.metric) }));
  return { ...exp, spec: { ...exp.spec, criteria } };
}

export interface MetricsReading {
  data: AggregatedMetricsData;
  /** In memory only: the observations behind each value, where the backend describes them. */
  details: SampleDetails;
  /** One line per value that could not be read, naming metric, version and reason. */
  errors: string[];
}

/** Reads every metric in `status.metrics` for every version, concurrently; failures leave gaps. */
export async function readAllMetrics(
  exp: Experiment,
  versions: VersionDetail[],
  provider: MetricsProvider,
  now: Date,
): Promise<MetricsReading> {
  const data: AggregatedMetricsData = {};
  const details: SampleDetails = {};
  const errors: string[] = [];
  const jobs: Promise<void>[] = [];
  for (const info of exp.status?.metrics ?? []) {
    const entry = { data: {} as AggregatedMetricsData[string]["data"] };
    data[info.name] = entry;
    for (const version of versions) {
      // Cells are created in version order so the stored object is deterministic.
      const cell: AggregatedMetricsData[string]["data"][string] = {};
      entry.data[version.name] = cell;
      jobs.push(
        (async () => {
          let reading: MetricReading;
          try {
            reading = await provider.read({
              experiment: exp,
              metricKey: info.name,
              metric: info.metricObj,
              version,
              now,
            });
          } catch (err) {
            reading = { error: errorText(err) };
          }
          const value = reading.value;
          if (typeof value === "number" && Number.isFinite(value) && reading.error === undefined) {
            cell.value = value;
          } else {
            const why =
              reading.error ?? (value === undefined ? "no value" : `value ${value} is not a number`);
            errors.push(
              `Error from metrics backend for metric: ${info.name} and version: ${version.name}: ${why}`,
            );
          }
          if (typeof reading.sampleSize === "number" && Number.isFinite(reading.sampleSize)) {
            cell.sampleSize = reading.sampleSize;
          }
          if (reading.distribution !== undefined && cell.value !== undefined) {
            details[info.name] ??= {};
            details[info.name]![version.name] = reading.distribution;
          }
        })(),
      );
    }
  }
  await Promise.all(jobs);
  errors.sort();
  return { data, details, errors };
}
