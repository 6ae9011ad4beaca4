// The iter8 resources on the API server: where Experiments and Metrics live.

export const ITER8_GROUP = "iter8.tools";
export const STORAGE_VERSION = "v2alpha2";
export const ITER8_API_VERSION = `${ITER8_GROUP}/${STORAGE_VERSION}`;
export const EXPERIMENTS = "experiments";
export const METRICS = "metrics";
export { DEFAULT_INSTALL_NAMESPACE } from "../../api/refs.ts";
export const LEASE_NAME = "leader.iter8.tools";
/** Component name on Events (the original's event recorder name). */
export const EVENT_SOURCE = "iter8";

export function experimentsPath(namespace?: string, name?: string, subresource?: string): string {
  let p = `/apis/${ITER8_API_VERSION}`;
  if (namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${EXPERIMENTS}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

export function metricsPath(namespace?: string, name?: string): string {
  let p = `/apis/${ITER8_API_VERSION}`;
  if (namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${METRICS}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  return p;
}
