// Route table: compiles routing objects of the registered traffic kinds (src/kinds/: the seeds'
// unchanged Istio VirtualServices and Knative Services, Gateway API HTTPRoutes), plus an `upstreams`
// map (destination host / revision name -> local address), into an immutable structure the proxy
// consults per request. Pure: no I/O, no clock, no randomness (resolve.ts draws the random numbers).
//
// Model (what each kind means is written in its module):
// - Requests from clients enter through the "entry" gateways (`mesh` and the Knative ingress gateway, as
//   for a client with an Istio sidecar).
// - A destination whose host is a gateway service (the Knative local gateway) re-enters routing through
//   that gateway, with the headers and authority as rewritten so far (seed 004).
// - For one host, rules keep the registry's kind order (explicit routing before a Knative Service's
//   own route), then the order of the objects.

import { TRAFFIC_KINDS, trafficKindOf } from "../kinds/index.ts";
import type { KindCompiler, TrafficKind } from "../kinds/types.ts";
import { CompileContext, ENTRY_GATEWAYS, isRecord } from "./compile.ts";
import { buildIndex, type RouteTable, RouteTableError, type RuleDraft, type VHostIndex } from "./table.ts";

export {
  DEFAULT_GATEWAY_HOSTS,
  ENTRY_GATEWAYS,
  parseAddress,
  parseDuration,
} from "./compile.ts";
export { HOP_BY_HOP_NAMES } from "./hop-by-hop.ts";
export type {
  Choice,
  HeaderOp,
  MatchBlock,
  Plan,
  RouteIssue,
  RouteTable,
  Rule,
  Split,
  StringMatcher,
  Target,
  Upstream,
  VHostIndex,
} from "./table.ts";
export { RouteTableError } from "./table.ts";

/** True for an object of a registered traffic kind. */
export function isRoutingObject(obj: unknown): boolean {
  return trafficKindOf(obj) !== undefined;
}

/**
 * Compile routing objects and an upstreams map into a RouteTable.
 * `upstreams` keys: a destination host (`sample-app-v1.default.svc.cluster.local`, optionally `:port`), a
 * Knative revision name (`sample-app-v1-blue`), or a gateway host; values: `HOST:PORT`,
 * `http://HOST:PORT`, or `gateway:NAMESPACE/NAME` (a host that re-enters routing through that gateway).
 */
export function compileRoutes(objects: unknown[], upstreams: Record<string, string>): RouteTable {
  if (!Array.isArray(objects)) {
    throw new RouteTableError([{ path: "objects", message: "must be a list of routing objects" }]);
  }
  const ctx = new CompileContext(upstreams);
  const compilers = new Map<TrafficKind, KindCompiler>(TRAFFIC_KINDS.map((k) => [k, k.compiler(ctx)]));
  // Pass 1: every object to its kind (kinds that destinations name register those names).
  objects.forEach((obj, index) => {
    ctx.object = undefined;
    if (!isRecord(obj)) {
      ctx.issue(`objects[${index}]`, "must be a Kubernetes object (a mapping)");
      return;
    }
    const kind = trafficKindOf(obj);
    if (!kind) {
      const expected = TRAFFIC_KINDS.map((k) => `${k.title} (${k.group})`).join(", ");
      ctx.issue(
        `objects[${index}].kind`,
        `unsupported object ${JSON.stringify(obj["apiVersion"])} ${JSON.stringify(obj["kind"])}: expected one of ${expected}`,
      );
      return;
    }
    compilers.get(kind)!.add(obj, index);
  });
  // Pass 2: rules, kinds in registry order.
  const drafts: RuleDraft[] = [];
  for (const compiler of compilers.values()) drafts.push(...compiler.rules());
  ctx.object = undefined;
  if (ctx.issues.length > 0) throw new RouteTableError(ctx.issues);

  const gatewayNames = new Set<string>(ENTRY_GATEWAYS);
  for (const d of drafts) for (const g of d.gateways) gatewayNames.add(g);
  for (const g of ctx.gatewayHosts.values()) gatewayNames.add(g);
  const gateways = new Map<string, VHostIndex>();
  for (const g of gatewayNames) {
    gateways.set(g, buildIndex(drafts.filter((d) => d.gateways.includes(g))));
  }
  const entry = buildIndex(drafts.filter((d) => d.gateways.some((g) => ENTRY_GATEWAYS.includes(g))));
  return {
    source: { objects: structuredClone(objects), upstreams: { ...upstreams } },
    entry,
    gateways,
    upstreams: ctx.upstreams,
    versions: [...ctx.versions].sort(),
  };
}
