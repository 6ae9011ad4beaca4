// Metric references (`name` or `namespace/name`) normalised to `namespace/name` everywhere:
// objectives, rewards, indicators, requestCount, a Metric's sampleSize, and the keys the status uses
// for metrics, so that a lookup by reference can never silently miss.
//
// A bare name resolves in the experiment's namespace, then in the install namespace. Only a caller
// that can see Metric objects can apply that fallback, so resolution takes a lookup function;
// without one, a bare name resolves in the experiment's namespace.

import type { Experiment, Metric } from "./types.ts";

/** Namespace iter8 is installed in; bare metric names fall back to it. */
export const DEFAULT_INSTALL_NAMESPACE = "iter8-system";
/** Namespace of an object whose metadata names none (what kubectl does with the default context). */
export const DEFAULT_NAMESPACE = "default";

/** Does Metric `namespace/name` exist? */
export type MetricLookup = (namespace: string, name: string) => boolean;

export class RefError extends Error {
  override readonly name = "RefError";
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Why `ref` is not a metric reference, or undefined when it is one. */
export function refProblem(ref: string): string | undefined {
  const parts = ref.split("/");
  if (parts.length > 2) return `"${ref}" is not a metric reference: use "name" or "namespace/name"`;
  const [nsOrName, maybeName] = parts as [string, string | undefined];
  const ns = maybeName === undefined ? undefined : nsOrName;
  const name = maybeName ?? nsOrName;
  if (ns !== undefined && (ns.length > 63 || !DNS_LABEL.test(ns))) {
    return `"${ref}": namespace "${ns}" is not a valid namespace name (lower-case letters, digits and -)`;
  }
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    return `"${ref}": "${name}" is not a valid object name (lower-case letters, digits, - and .)`;
  }
  return undefined;
}

/** Splits a reference into namespace (undefined for a bare name) and name. */
export function splitRef(ref: string): { namespace: string | undefined; name: string } {
  const problem = refProblem(ref);
  if (problem) throw new RefError(problem);
  const i = ref.indexOf("/");
  return i < 0 ? { namespace: undefined, name: ref } : { namespace: ref.slice(0, i), name: ref.slice(i + 1) };
}

/** `name` -> `defaultNs/name`; `ns/name` unchanged. Throws `RefError` for a malformed reference. */
export function normaliseRef(ref: string, defaultNs: string): string {
  const { namespace, name } = splitRef(ref);
  return `${namespace ?? defaultNs}/${name}`;
}

export interface ResolverOptions {
  /** Namespace of the object holding the reference. */
  namespace: string;
  /** Where iter8 is installed (default `iter8-system`). */
  installNamespace?: string;
  /** When given, a bare name that is not in `namespace` but is in the install namespace resolves there. */
  metricExists?: MetricLookup;
}

/** A function mapping each reference to `namespace/name` by the rule above. */
export function makeRefResolver(opts: ResolverOptions): (ref: string) => string {
  const installNs = opts.installNamespace ?? DEFAULT_INSTALL_NAMESPACE;
  return (ref) => {
    const { namespace, name } = splitRef(ref);
    if (namespace !== undefined) return `${namespace}/${name}`;
    const exists = opts.metricExists;
    if (exists && !exists(opts.namespace, name) && exists(installNs, name)) return `${installNs}/${name}`;
    return `${opts.namespace}/${name}`;
  };
}

/** The namespace of an object, `default` when its metadata names none. */
export function namespaceOf(obj: { metadata?: { name?: string; namespace?: string | undefined } }): string {
  const ns = obj.metadata?.namespace;
  return typeof ns === "string" && ns !== "" ? ns : DEFAULT_NAMESPACE;
}

/** A copy of `metric` with `sampleSize` as `namespace/name` (a bare name means the metric's namespace). */
export function normaliseMetricRefs(metric: Metric): Metric {
  const out = structuredClone(metric);
  if (typeof out.spec?.sampleSize === "string")
    out.spec.sampleSize = normaliseRef(out.spec.sampleSize, namespaceOf(out));
  return out;
}

/**
 * A copy of `exp` with every metric reference resolved by `resolve` (see `makeRefResolver`):
 * criteria, the keys of `status.analysis.aggregatedMetrics.data`, `status.metrics[].name`, and the
 * sampleSize of each embedded Metric.
 */
export function normaliseExperimentRefs(exp: Experiment, resolve: (ref: string) => string): Experiment {
  const out = structuredClone(exp);
  const c = out.spec?.criteria;
  if (c) {
    if (typeof c.requestCount === "string") c.requestCount = resolve(c.requestCount);
    for (const r of c.rewards ?? []) r.metric = resolve(r.metric);
    for (const o of c.objectives ?? []) o.metric = resolve(o.metric);
    if (c.indicators) c.indicators = c.indicators.map(resolve);
  }
  // Status is written by iter8, not by the user: a key that is not a reference is kept as it is.
  const resolveKey = (key: string) => (refProblem(key) === undefined ? resolve(key) : key);
  const status = out.status;
  if (status?.metrics) {
    status.metrics = status.metrics.map((m) => ({
      name: resolveKey(m.name),
      metricObj:
        refProblem(m.metricObj?.spec?.sampleSize ?? "x") === undefined
          ? normaliseMetricRefs(m.metricObj)
          : m.metricObj,
    }));
  }
  const agg = status?.analysis?.aggregatedMetrics;
  if (agg?.data) {
    const data: typeof agg.data = {};
    for (const [key, value] of Object.entries(agg.data)) data[resolveKey(key)] = value;
    agg.data = data;
  }
  return out;
}
