// The registry of traffic kinds. Adding a kind is one module in this folder (a TrafficKind, see
// types.ts) and one entry below. The order is the router's precedence for a host that several
// kinds declare: explicit routing (VirtualService, HTTPRoute) first, a Knative Service's own route
// (which matches everything) last.

import { isRecord } from "../router/compile.ts";
import { httpRoute } from "./httproute.ts";
import { virtualService } from "./istio.ts";
import { knativeService } from "./knative.ts";
import type { TrafficKind } from "./types.ts";

export type { KindCompiler, TrafficKind } from "./types.ts";

export const TRAFFIC_KINDS: readonly TrafficKind[] = [virtualService, httpRoute, knativeService];

/** The traffic kind of a Kubernetes object (by `apiVersion` group and `kind`), or undefined. */
export function trafficKindOf(obj: unknown): TrafficKind | undefined {
  if (!isRecord(obj)) return undefined;
  const api = typeof obj["apiVersion"] === "string" ? obj["apiVersion"] : "";
  return TRAFFIC_KINDS.find((k) => obj["kind"] === k.kind && api.startsWith(`${k.group}/`));
}

/**
 * The traffic kind a reference names: `kind` is a Kind (`Service`), a resource name (`ksvc`,
 * `virtualservices`) or a kubectl `resource.version.group` (`virtualservice.v1beta1.networking.istio.io`);
 * `apiVersion`, when given, decides between kinds that share a name (a Knative vs a core Service).
 */
export function trafficKindFor(ref: {
  kind: string;
  apiVersion?: string | undefined;
}): TrafficKind | undefined {
  const k = ref.kind.toLowerCase();
  const first = k.split(".")[0]!;
  // `resource.version.group` or `resource.group`: the group is what follows the resource and version.
  const rest = k.split(".").slice(1);
  if (rest[0] !== undefined && /^v\d/.test(rest[0])) rest.shift();
  const group = ref.apiVersion?.split("/")[0] ?? rest.join(".");
  const short = TRAFFIC_KINDS.find((t) => t.shortNames.includes(first));
  if (short) return short;
  return TRAFFIC_KINDS.find(
    (t) =>
      (first === t.kind.toLowerCase() || first === t.plural) && (group === "" || group.startsWith(t.group)),
  );
}

/** "Knative Service, Istio VirtualService, ..." for messages. */
export function trafficKindTitles(): string {
  return TRAFFIC_KINDS.map((k) => k.title).join(", ");
}
