// Route table: compiles the seeds' unchanged Istio VirtualService and Knative Service objects, plus an
// `upstreams` map (destination host / revision name -> local address), into an immutable structure the
// proxy consults per request. Pure: no I/O, no clock, no randomness (resolve.ts draws the random numbers).
//
// Model (the subset of Istio + Knative semantics the seeds rely on):
// - Requests from clients enter through the "entry" gateways (`mesh` and the Knative ingress gateway, as
//   for a client with an Istio sidecar). A VirtualService with no `gateways` is bound to `mesh`.
// - A destination whose host is a gateway service (the Knative local gateway) re-enters routing through
//   that gateway, with the headers and authority as rewritten so far (seed 004).
// - Knative Services contribute their own routes (hosts `name.ns`, `name.ns.svc`,
//   `name.ns.svc.cluster.local`, `name.ns.example.com`, and `tag-name...` for tagged traffic) that split
//   by `spec.traffic`; a destination host naming a Knative Service splits the same way, one naming a
//   revision goes to that revision.

export interface Upstream {
  /** "host:port" as written in the upstreams map (normalised), also the agent-pool key. */
  readonly key: string;
  readonly host: string;
  readonly port: number;
}

export type HeaderOp =
  | { readonly kind: "set"; readonly name: string; readonly value: string }
  | { readonly kind: "add"; readonly name: string; readonly value: string }
  | { readonly kind: "remove"; readonly name: string };

/** What a request is finally sent to: fixed for a chain of chosen destinations, so shared, never per request. */
export interface Plan {
  readonly upstream: Upstream;
  /** Version label for metrics (Knative revision name when known). */
  readonly version: string;
  /** Headers to append, flat [name, value, ...], the net effect of the chain's set/add/remove operations. */
  readonly addHeaders: readonly string[];
  /** Names (lower case) set or removed along the chain: the client's values of these are dropped. */
  readonly touched: ReadonlySet<string>;
  /** Authority to send, or null to keep the client's Host. */
  readonly authority: string | null;
  /** Suffix the authority sent (rewritten or the client's) with "-shadow": a mirrored copy. */
  readonly shadow: boolean;
  readonly timeoutMs: number | null;
}

export type StringMatcher =
  | { readonly kind: "exact"; readonly value: string }
  | { readonly kind: "prefix"; readonly value: string }
  | { readonly kind: "regex"; readonly re: RegExp };

export interface MatchBlock {
  readonly headers: ReadonlyArray<{ readonly name: string; readonly match: StringMatcher }>;
  readonly withoutHeaders: ReadonlyArray<{ readonly name: string; readonly match: StringMatcher }>;
  readonly authority: StringMatcher | null;
  readonly uri: StringMatcher | null;
  readonly method: StringMatcher | null;
}

/** A step of routing: either a final upstream, a re-entry through a gateway, or a Knative split. */
export type Target =
  | {
      readonly kind: "upstream";
      readonly upstream: Upstream;
      /** Revision name, or the Knative-Serving-Revision this route sets, or null. */
      readonly version: string | null;
      /** True when the target is a Knative revision (its name is then the version, whatever headers say). */
      readonly revision: boolean;
      readonly host: string;
    }
  | { readonly kind: "gateway"; readonly gateway: string }
  | { readonly kind: "split"; readonly split: Split };

export interface Split {
  /** Cumulative weights (last = total, 100 when valid) and their targets. */
  readonly cumulative: readonly number[];
  readonly choices: readonly Choice[];
  readonly total: number;
}

export interface Choice {
  readonly weight: number;
  readonly target: Target;
  readonly headerOps: readonly HeaderOp[];
  readonly authority: string | null;
  /** Where this choice came from, for messages and for tests. */
  readonly origin: string;
  readonly timeoutMs: number | null;
  /** A mirror: Istio suffixes the authority with "-shadow". */
  readonly shadow: boolean;
}

export interface Rule {
  readonly origin: string;
  /** OR of blocks; empty = matches everything. */
  readonly match: readonly MatchBlock[];
  readonly split: Split;
  readonly mirror: { readonly choice: Choice; readonly percent: number } | null;
  readonly timeoutMs: number | null;
}

export interface VHostIndex {
  readonly exact: ReadonlyMap<string, readonly Rule[]>;
  /** `*.suffix` hosts, longest suffix first; `suffix` includes the leading dot. */
  readonly wildcard: ReadonlyArray<{ readonly suffix: string; readonly rules: readonly Rule[] }>;
  readonly any: readonly Rule[] | null;
}

export interface RouteTable {
  /** The inputs, deep-copied: used to rebuild the table in worker processes. */
  readonly source: { readonly objects: unknown[]; readonly upstreams: Record<string, string> };
  readonly entry: VHostIndex;
  readonly gateways: ReadonlyMap<string, VHostIndex>;
  readonly upstreams: readonly Upstream[];
  /** Every version label a request can be attributed to. */
  readonly versions: readonly string[];
}

export interface RouteIssue {
  readonly path: string;
  readonly message: string;
  /** "VirtualService default/name" or "Service default/name" when the issue is inside an object. */
  readonly object?: string;
}

export class RouteTableError extends Error {
  override readonly name = "RouteTableError";
  readonly issues: readonly RouteIssue[];
  constructor(issues: RouteIssue[]) {
    super(
      `invalid route table: ${issues
        .map((i) => `${i.object ? `${i.object}: ` : ""}${i.path}: ${i.message}`)
        .join("; ")}`,
    );
    this.issues = issues;
  }
}

/** Gateway names (namespace/name) the client's requests enter through. */
export const ENTRY_GATEWAYS: readonly string[] = ["mesh", "knative-serving/knative-ingress-gateway"];

/** Service hosts that are Istio gateways, so routing to them re-enters the router. */
export const DEFAULT_GATEWAY_HOSTS: Readonly<Record<string, string>> = {
  "knative-local-gateway.istio-system.svc.cluster.local": "knative-serving/knative-local-gateway",
  "istio-ingressgateway.istio-system.svc.cluster.local": "knative-serving/knative-ingress-gateway",
};

const KNATIVE_DOMAIN = "example.com";
const REVISION_HEADER = "knative-serving-revision";

export function isRoutingObject(obj: unknown): boolean {
  if (!isRecord(obj)) return false;
  return kindOf(obj) !== null;
}

type Kind = "VirtualService" | "KnativeService";

function kindOf(obj: Record<string, unknown>): Kind | null {
  const api = typeof obj["apiVersion"] === "string" ? obj["apiVersion"] : "";
  if (obj["kind"] === "VirtualService" && api.startsWith("networking.istio.io/")) return "VirtualService";
  if (obj["kind"] === "Service" && api.startsWith("serving.knative.dev/")) return "KnativeService";
  return null;
}

/**
 * Compile routing objects and an upstreams map into a RouteTable.
 * `upstreams` keys: a destination host (`sample-app-v1.default.svc.cluster.local`, optionally `:port`), a
 * Knative revision name (`sample-app-v1-blue`), or a gateway host; values: `HOST:PORT`,
 * `http://HOST:PORT`, or `gateway:NAMESPACE/NAME` (a host that re-enters routing through that gateway).
 */
export function compileRoutes(objects: unknown[], upstreams: Record<string, string>): RouteTable {
  return new Compiler(objects, upstreams).compile();
}

interface KService {
  readonly name: string;
  readonly namespace: string;
  readonly label: string;
  readonly pathPrefix: string;
  /** Revision names in creation order (later manifests of the same service are newer revisions). */
  readonly revisions: string[];
  traffic: unknown;
  trafficPath: string;
}

interface RuleDraft {
  readonly rule: Rule;
  readonly hosts: readonly string[];
  readonly gateways: readonly string[];
}

class Compiler {
  private readonly issues: RouteIssue[] = [];
  private readonly objects: unknown[];
  private readonly upstreamsIn: Record<string, string>;
  private readonly upstreamByKey = new Map<string, Upstream>();
  private readonly upstreamMap = new Map<string, Upstream>();
  private readonly gatewayHosts = new Map<string, string>();
  private readonly ksvcs = new Map<string, KService>(); // "ns/name"
  private readonly revisionOwner = new Map<string, KService>(); // "ns/revision"
  private readonly ksvcSplits = new Map<string, Split | null>();
  private readonly versions = new Set<string>();
  private object: string | undefined;

  constructor(objects: unknown[], upstreams: Record<string, string>) {
    this.objects = objects;
    this.upstreamsIn = upstreams;
  }

  compile(): RouteTable {
    if (!Array.isArray(this.objects)) {
      throw new RouteTableError([{ path: "objects", message: "must be a list of routing objects" }]);
    }
    this.readUpstreams();
    // Pass 1: Knative services (their revisions are needed to resolve VirtualService destinations).
    const vsList: Array<{ obj: Record<string, unknown>; index: number }> = [];
    this.objects.forEach((obj, index) => {
      this.object = undefined;
      if (!isRecord(obj)) {
        this.issue(`objects[${index}]`, "must be a Kubernetes object (a mapping)");
        return;
      }
      const kind = kindOf(obj);
      if (kind === null) {
        this.issue(
          `objects[${index}].kind`,
          `unsupported object ${JSON.stringify(obj["apiVersion"])} ${JSON.stringify(obj["kind"])}: expected an Istio VirtualService (networking.istio.io) or a Knative Service (serving.knative.dev)`,
        );
        return;
      }
      if (kind === "KnativeService") this.readKService(obj, index);
      else vsList.push({ obj, index });
    });
    // VirtualService rules come first so that, for a host both declare, the user's routing wins and the
    // Knative route (which matches everything) is the fallback.
    const drafts: RuleDraft[] = [];
    for (const { obj, index } of vsList) drafts.push(...this.virtualServiceRules(obj, index));
    for (const svc of this.ksvcs.values()) drafts.push(...this.kserviceRules(svc));
    this.object = undefined;
    if (this.issues.length > 0) throw new RouteTableError(this.issues);

    const gatewayNames = new Set<string>(ENTRY_GATEWAYS);
    for (const d of drafts) for (const g of d.gateways) gatewayNames.add(g);
    for (const g of this.gatewayHosts.values()) gatewayNames.add(g);
    const gateways = new Map<string, VHostIndex>();
    for (const g of gatewayNames) {
      gateways.set(g, buildIndex(drafts.filter((d) => d.gateways.includes(g))));
    }
    const entry = buildIndex(drafts.filter((d) => d.gateways.some((g) => ENTRY_GATEWAYS.includes(g))));
    return {
      source: { objects: structuredClone(this.objects), upstreams: { ...this.upstreamsIn } },
      entry,
      gateways,
      upstreams: [...this.upstreamByKey.values()],
      versions: [...this.versions].sort(),
    };
  }

  private issue(path: string, message: string): void {
    this.issues.push(this.object ? { path, message, object: this.object } : { path, message });
  }

  private readUpstreams(): void {
    for (const [host, gw] of Object.entries(DEFAULT_GATEWAY_HOSTS)) this.gatewayHosts.set(host, gw);
    if (!isRecord(this.upstreamsIn)) {
      this.issue("upstreams", "must be a mapping of destination host or revision name to HOST:PORT");
      return;
    }
    for (const [rawKey, value] of Object.entries(this.upstreamsIn)) {
      const path = `upstreams[${JSON.stringify(rawKey)}]`;
      const key = rawKey.trim().toLowerCase();
      if (key === "") {
        this.issue(path, "empty destination name");
        continue;
      }
      if (typeof value !== "string") {
        this.issue(path, "must be a string HOST:PORT or gateway:NAMESPACE/NAME");
        continue;
      }
      if (value.startsWith("gateway:")) {
        const gw = value.slice("gateway:".length).trim();
        if (gw === "") this.issue(path, "gateway name missing after 'gateway:'");
        else this.gatewayHosts.set(key, gw === "mesh" || gw.includes("/") ? gw : `default/${gw}`);
        continue;
      }
      const addr = parseAddress(value);
      if (typeof addr === "string") {
        this.issue(path, addr);
        continue;
      }
      let up = this.upstreamByKey.get(addr.key);
      if (!up) {
        up = addr;
        this.upstreamByKey.set(addr.key, up);
      }
      this.gatewayHosts.delete(key);
      this.upstreamMap.set(key, up);
    }
  }

  // ---- Knative ---------------------------------------------------------------------------------------

  private readKService(obj: Record<string, unknown>, index: number): void {
    const meta = isRecord(obj["metadata"]) ? obj["metadata"] : {};
    const name = meta["name"];
    const namespace =
      typeof meta["namespace"] === "string" && meta["namespace"] ? meta["namespace"] : "default";
    if (typeof name !== "string" || !DNS_LABEL.test(name)) {
      this.issue(`objects[${index}].metadata.name`, "must be a DNS label (Knative Service name)");
      return;
    }
    const key = `${namespace}/${name}`;
    let svc = this.ksvcs.get(key);
    if (!svc) {
      svc = {
        name,
        namespace,
        label: `Service ${key}`,
        pathPrefix: `objects[${index}]`,
        revisions: [],
        traffic: undefined,
        trafficPath: "",
      };
      this.ksvcs.set(key, svc);
    }
    this.object = svc.label;
    const spec = isRecord(obj["spec"]) ? obj["spec"] : {};
    const template = isRecord(spec["template"]) ? spec["template"] : {};
    const tmeta = isRecord(template["metadata"]) ? template["metadata"] : {};
    let revision = tmeta["name"];
    if (revision === undefined) {
      // Knative names unnamed revisions <service>-00001, -00002, ... in creation order.
      revision = `${name}-${String(svc.revisions.length + 1).padStart(5, "0")}`;
    } else if (typeof revision !== "string" || !DNS_LABEL.test(revision)) {
      this.issue("spec.template.metadata.name", "must be a DNS label (the revision name)");
      return;
    } else if (!revision.startsWith(`${name}-`)) {
      this.issue("spec.template.metadata.name", `revision name must start with "${name}-" (Knative rule)`);
      return;
    }
    const rev = revision as string;
    if (!svc.revisions.includes(rev)) svc.revisions.push(rev);
    const owner = this.revisionOwner.get(`${namespace}/${rev}`);
    if (owner && owner !== svc)
      this.issue("spec.template.metadata.name", `revision ${rev} already belongs to ${owner.label}`);
    this.revisionOwner.set(`${namespace}/${rev}`, svc);
    // The latest manifest's traffic block (or its absence) is the service's routing.
    svc.traffic = spec["traffic"];
    svc.trafficPath = "spec.traffic";
  }

  private revisionTarget(svc: KService, revision: string, path: string): Target | null {
    const up =
      this.upstreamMap.get(revision.toLowerCase()) ?? this.upstreamMap.get(`${revision}.${svc.namespace}`);
    if (!up) {
      this.issue(path, `no upstream for revision "${revision}": add it to upstreams`);
      return null;
    }
    this.versions.add(revision);
    return { kind: "upstream", upstream: up, version: revision, revision: true, host: revision };
  }

  /** The Knative traffic split of a service (compiled once, shared by its routes and by destinations). */
  private kserviceSplit(svc: KService): Split | null {
    const key = `${svc.namespace}/${svc.name}`;
    if (this.ksvcSplits.has(key)) return this.ksvcSplits.get(key) ?? null;
    const saved = this.object;
    this.object = svc.label;
    const split = this.compileTraffic(svc, null);
    this.object = saved;
    this.ksvcSplits.set(key, split);
    return split;
  }

  /** tag = null: the service's default split; else the single target of that tag. */
  private compileTraffic(svc: KService, tag: string | null): Split | null {
    // No valid revision: its manifest's problem has been reported already.
    if (svc.revisions.length === 0) return null;
    const latest = svc.revisions[svc.revisions.length - 1]!;
    if (svc.traffic === undefined || svc.traffic === null) {
      if (tag !== null) return null;
      const t = this.revisionTarget(svc, latest, "spec.template.metadata.name");
      return t ? makeSplit([choice(100, t, [], null, `${svc.label} latest`)]) : null;
    }
    if (!Array.isArray(svc.traffic)) {
      this.issue("spec.traffic", "must be a list of traffic targets");
      return null;
    }
    const choices: Choice[] = [];
    let sum = 0;
    let ok = true;
    const tags = new Set<string>();
    svc.traffic.forEach((entry, i) => {
      const p = `spec.traffic[${i}]`;
      if (!isRecord(entry)) {
        this.issue(p, "must be a mapping");
        ok = false;
        return;
      }
      const percent = entry["percent"] ?? 0;
      if (!Number.isInteger(percent) || (percent as number) < 0 || (percent as number) > 100) {
        this.issue(`${p}.percent`, "must be an integer 0..100");
        ok = false;
        return;
      }
      const entryTag = entry["tag"];
      if (entryTag !== undefined && (typeof entryTag !== "string" || !DNS_LABEL.test(entryTag))) {
        this.issue(`${p}.tag`, "must be a DNS label");
        ok = false;
      } else if (typeof entryTag === "string") {
        if (tags.has(entryTag)) this.issue(`${p}.tag`, `duplicate tag "${entryTag}"`);
        tags.add(entryTag);
      }
      const revName = entry["revisionName"];
      const latestFlag = entry["latestRevision"];
      let revision: string;
      if (latestFlag === true) {
        if (revName !== undefined) {
          this.issue(p, "revisionName and latestRevision: true are mutually exclusive");
          ok = false;
          return;
        }
        revision = latest;
      } else if (typeof revName === "string" && revName !== "") {
        if (latestFlag !== undefined && latestFlag !== false) {
          this.issue(`${p}.latestRevision`, "must be a boolean");
          ok = false;
          return;
        }
        if (!svc.revisions.includes(revName) && !this.upstreamMap.has(revName.toLowerCase())) {
          this.issue(`${p}.revisionName`, `unknown revision "${revName}" of ${svc.label}`);
          ok = false;
          return;
        }
        revision = revName;
      } else {
        this.issue(p, "needs revisionName or latestRevision: true");
        ok = false;
        return;
      }
      const target = this.revisionTarget(svc, revision, `${p}.revisionName`);
      if (!target) {
        ok = false;
        return;
      }
      sum += percent as number;
      if (tag === null || entryTag === tag)
        choices.push(choice(percent as number, target, [], null, `${svc.label} ${p}`));
    });
    if (!ok) return null;
    if (sum !== 100) {
      this.issue("spec.traffic", `percents must sum to 100 (they sum to ${sum})`);
      return null;
    }
    if (tag !== null) {
      // A tag route sends everything to its revision regardless of its percent.
      const first = choices[0];
      return first ? makeSplit([{ ...first, weight: 100 }]) : null;
    }
    return makeSplit(choices);
  }

  private kserviceRules(svc: KService): RuleDraft[] {
    this.object = svc.label;
    const split = this.kserviceSplit(svc);
    if (!split) return [];
    const drafts: RuleDraft[] = [];
    const allGateways = [
      "mesh",
      "knative-serving/knative-ingress-gateway",
      "knative-serving/knative-local-gateway",
    ];
    const rule = (s: Split, origin: string): Rule => ({
      origin,
      match: [],
      split: s,
      mirror: null,
      timeoutMs: null,
    });
    drafts.push({
      rule: rule(split, `${svc.label} traffic`),
      hosts: knativeHosts(svc.name, svc.namespace),
      gateways: allGateways,
    });
    if (Array.isArray(svc.traffic)) {
      for (const entry of svc.traffic) {
        if (!isRecord(entry) || typeof entry["tag"] !== "string") continue;
        const tagSplit = this.compileTraffic(svc, entry["tag"]);
        if (tagSplit) {
          drafts.push({
            rule: rule(tagSplit, `${svc.label} tag ${entry["tag"]}`),
            hosts: knativeHosts(`${entry["tag"]}-${svc.name}`, svc.namespace),
            gateways: allGateways,
          });
        }
      }
    }
    return drafts;
  }

  // ---- Istio -----------------------------------------------------------------------------------------

  private virtualServiceRules(obj: Record<string, unknown>, index: number): RuleDraft[] {
    const meta = isRecord(obj["metadata"]) ? obj["metadata"] : {};
    const name = typeof meta["name"] === "string" ? meta["name"] : `#${index}`;
    const namespace =
      typeof meta["namespace"] === "string" && meta["namespace"] ? meta["namespace"] : "default";
    this.object = `VirtualService ${namespace}/${name}`;
    if (typeof meta["name"] !== "string" || meta["name"] === "") this.issue("metadata.name", "required");
    const spec = obj["spec"];
    if (!isRecord(spec)) {
      this.issue("spec", "required");
      return [];
    }
    for (const key of Object.keys(spec)) {
      if (!["hosts", "gateways", "http", "exportTo"].includes(key)) {
        this.issue(`spec.${key}`, "not supported by the local router (only hosts, gateways, http)");
      }
    }
    const hosts: string[] = [];
    if (!Array.isArray(spec["hosts"]) || spec["hosts"].length === 0) {
      this.issue("spec.hosts", "must be a non-empty list of hosts");
    } else {
      spec["hosts"].forEach((h, i) => {
        if (typeof h !== "string" || h === "" || (h.includes("*") && h !== "*" && !h.startsWith("*."))) {
          this.issue(`spec.hosts[${i}]`, `invalid host ${JSON.stringify(h)}`);
        } else hosts.push(h.toLowerCase());
      });
    }
    let gateways: string[] = ["mesh"];
    if (spec["gateways"] !== undefined) {
      if (!Array.isArray(spec["gateways"])) this.issue("spec.gateways", "must be a list of gateway names");
      else {
        gateways = [];
        spec["gateways"].forEach((g, i) => {
          if (typeof g !== "string" || g === "") this.issue(`spec.gateways[${i}]`, "must be a gateway name");
          else gateways.push(g === "mesh" || g.includes("/") ? g : `${namespace}/${g}`);
        });
      }
    }
    if (!Array.isArray(spec["http"]) || spec["http"].length === 0) {
      this.issue("spec.http", "must be a non-empty list of HTTP routes");
      return [];
    }
    const drafts: RuleDraft[] = [];
    spec["http"].forEach((http, i) => {
      const rule = this.httpRule(http, `spec.http[${i}]`, namespace);
      if (rule) drafts.push({ rule, hosts, gateways });
    });
    return drafts;
  }

  private httpRule(http: unknown, path: string, namespace: string): Rule | null {
    if (!isRecord(http)) {
      this.issue(path, "must be a mapping");
      return null;
    }
    const allowed = [
      "name",
      "match",
      "route",
      "rewrite",
      "mirror",
      "mirrorPercent",
      "mirrorPercentage",
      "headers",
      "timeout",
      "retries",
    ];
    for (const key of Object.keys(http)) {
      if (!allowed.includes(key))
        this.issue(`${path}.${key}`, `not supported by the local router (supported: ${allowed.join(", ")})`);
    }
    const issuesBefore = this.issues.length;
    const match = this.matchBlocks(http["match"], `${path}.match`);
    // Rule-level header operations and authority rewrite apply to every destination of the rule.
    const ruleHeaders = this.headerOps(http["headers"], `${path}.headers`);
    let authority: string | null = ruleHeaders.authority;
    if (http["rewrite"] !== undefined) {
      const rw = http["rewrite"];
      if (!isRecord(rw)) this.issue(`${path}.rewrite`, "must be a mapping");
      else {
        for (const key of Object.keys(rw)) {
          if (key !== "authority")
            this.issue(`${path}.rewrite.${key}`, "not supported by the local router (only authority)");
        }
        if (rw["authority"] !== undefined) {
          if (typeof rw["authority"] !== "string" || rw["authority"] === "") {
            this.issue(`${path}.rewrite.authority`, "must be a non-empty string");
          } else authority = rw["authority"];
        }
      }
    }
    let timeoutMs: number | null = null;
    if (http["timeout"] !== undefined) {
      timeoutMs = parseDuration(http["timeout"]);
      if (timeoutMs === null) this.issue(`${path}.timeout`, 'must be a duration such as "1.5s" or "300ms"');
    }
    const routes = http["route"];
    const choices: Choice[] = [];
    if (!Array.isArray(routes) || routes.length === 0) {
      this.issue(`${path}.route`, "must be a non-empty list of destinations");
    } else {
      let sum = 0;
      routes.forEach((r, j) => {
        const rp = `${path}.route[${j}]`;
        if (!isRecord(r)) {
          this.issue(rp, "must be a mapping");
          return;
        }
        for (const key of Object.keys(r)) {
          if (!["destination", "weight", "headers"].includes(key))
            this.issue(`${rp}.${key}`, "not supported by the local router");
        }
        let weight = 100;
        if (r["weight"] !== undefined) {
          const w = r["weight"];
          if (!Number.isInteger(w) || (w as number) < 0 || (w as number) > 100) {
            this.issue(`${rp}.weight`, "must be an integer 0..100");
            return;
          }
          weight = w as number;
        } else if (routes.length > 1) {
          weight = 0; // Istio: an omitted weight among several destinations is 0
        }
        sum += weight;
        const ops = this.headerOps(r["headers"], `${rp}.headers`);
        const target = this.destination(r["destination"], `${rp}.destination`, namespace, [
          ...ruleHeaders.ops,
          ...ops.ops,
        ]);
        if (!target) return;
        choices.push(
          choice(weight, target, [...ruleHeaders.ops, ...ops.ops], ops.authority ?? authority, rp, timeoutMs),
        );
      });
      if (routes.length > 1 && choices.length === routes.length && sum !== 100) {
        this.issue(`${path}.route`, `weights must sum to 100 (they sum to ${sum})`);
      }
    }
    let mirror: Rule["mirror"] = null;
    if (http["mirror"] !== undefined) {
      const target = this.destination(http["mirror"], `${path}.mirror`, namespace, ruleHeaders.ops);
      let percent = 100;
      if (http["mirrorPercent"] !== undefined && http["mirrorPercentage"] !== undefined) {
        this.issue(`${path}.mirrorPercentage`, "use either mirrorPercent or mirrorPercentage, not both");
      } else if (http["mirrorPercent"] !== undefined) {
        const p = http["mirrorPercent"];
        if (!Number.isInteger(p) || (p as number) < 0 || (p as number) > 100) {
          this.issue(`${path}.mirrorPercent`, "must be an integer 0..100");
        } else percent = p as number;
      } else if (http["mirrorPercentage"] !== undefined) {
        const mp = http["mirrorPercentage"];
        const v = isRecord(mp) ? mp["value"] : undefined;
        if (typeof v !== "number" || !(v >= 0 && v <= 100)) {
          this.issue(`${path}.mirrorPercentage.value`, "must be a number 0..100");
        } else percent = v;
      }
      if (target)
        mirror = {
          choice: choice(100, target, ruleHeaders.ops, authority, `${path}.mirror`, timeoutMs, true),
          percent,
        };
    } else if (http["mirrorPercent"] !== undefined || http["mirrorPercentage"] !== undefined) {
      this.issue(`${path}.mirror`, "mirrorPercent is set but mirror is missing");
    }
    if (this.issues.length > issuesBefore) return null;
    return { origin: path, match, split: makeSplit(choices), mirror, timeoutMs };
  }

  private matchBlocks(raw: unknown, path: string): MatchBlock[] {
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) {
      this.issue(path, "must be a list of match conditions");
      return [];
    }
    const blocks: MatchBlock[] = [];
    raw.forEach((m, k) => {
      const mp = `${path}[${k}]`;
      if (!isRecord(m)) {
        this.issue(mp, "must be a mapping");
        return;
      }
      const supported = ["name", "headers", "withoutHeaders", "authority", "uri", "method", "ignoreUriCase"];
      for (const key of Object.keys(m)) {
        if (!supported.includes(key))
          this.issue(
            `${mp}.${key}`,
            `not supported by the local router (supported: ${supported.join(", ")})`,
          );
      }
      const headerList = (field: string) => {
        const out: Array<{ name: string; match: StringMatcher }> = [];
        const h = m[field];
        if (h === undefined) return out;
        if (!isRecord(h)) {
          this.issue(`${mp}.${field}`, "must be a mapping of header name to string match");
          return out;
        }
        for (const [name, sm] of Object.entries(h)) {
          const matcher = this.stringMatch(sm, `${mp}.${field}.${name}`, false);
          if (matcher) out.push({ name: name.toLowerCase(), match: matcher });
        }
        return out;
      };
      const ignoreCase = m["ignoreUriCase"] === true;
      blocks.push({
        headers: headerList("headers"),
        withoutHeaders: headerList("withoutHeaders"),
        authority:
          m["authority"] === undefined ? null : this.stringMatch(m["authority"], `${mp}.authority`, false),
        uri: m["uri"] === undefined ? null : this.stringMatch(m["uri"], `${mp}.uri`, ignoreCase),
        method: m["method"] === undefined ? null : this.stringMatch(m["method"], `${mp}.method`, false),
      });
    });
    return blocks;
  }

  private stringMatch(raw: unknown, path: string, ignoreCase: boolean): StringMatcher | null {
    if (!isRecord(raw)) {
      this.issue(path, "must be a string match: one of exact, prefix, regex");
      return null;
    }
    const keys = Object.keys(raw);
    if (keys.length !== 1 || !["exact", "prefix", "regex"].includes(keys[0]!)) {
      this.issue(path, `must have exactly one of exact, prefix, regex (got ${keys.join(", ") || "none"})`);
      return null;
    }
    const kind = keys[0] as "exact" | "prefix" | "regex";
    const value = raw[kind];
    if (typeof value !== "string") {
      this.issue(`${path}.${kind}`, "must be a string");
      return null;
    }
    if (kind === "regex") {
      try {
        // Envoy's safe_regex must match the whole value.
        return { kind, re: new RegExp(`^(?:${value})$`, ignoreCase ? "i" : "") };
      } catch (err) {
        this.issue(`${path}.regex`, `invalid regular expression: ${(err as Error).message}`);
        return null;
      }
    }
    if (ignoreCase)
      return { kind: "regex", re: new RegExp(`^${escapeRegExp(value)}${kind === "prefix" ? "" : "$"}`, "i") };
    return { kind, value };
  }

  private headerOps(raw: unknown, path: string): { ops: HeaderOp[]; authority: string | null } {
    const ops: HeaderOp[] = [];
    let authority: string | null = null;
    if (raw === undefined) return { ops, authority };
    if (!isRecord(raw)) {
      this.issue(path, "must be a mapping with request");
      return { ops, authority };
    }
    for (const key of Object.keys(raw)) {
      if (key !== "request") this.issue(`${path}.${key}`, "not supported by the local router (only request)");
    }
    const req = raw["request"];
    if (req === undefined) return { ops, authority };
    if (!isRecord(req)) {
      this.issue(`${path}.request`, "must be a mapping with set, add, remove");
      return { ops, authority };
    }
    for (const key of Object.keys(req)) {
      if (!["set", "add", "remove"].includes(key))
        this.issue(`${path}.request.${key}`, "must be one of set, add, remove");
    }
    for (const kind of ["set", "add"] as const) {
      const m = req[kind];
      if (m === undefined) continue;
      if (!isRecord(m)) {
        this.issue(`${path}.request.${kind}`, "must be a mapping of header name to value");
        continue;
      }
      for (const [name, value] of Object.entries(m)) {
        const p = `${path}.request.${kind}.${name}`;
        if (!HEADER_NAME.test(name)) this.issue(p, "invalid header name");
        else if (typeof value !== "string" || /[\r\n\0]/.test(value))
          this.issue(p, "must be a string without line breaks");
        else if (HOP_BY_HOP_NAMES.has(name.toLowerCase())) this.issue(p, "hop-by-hop headers cannot be set");
        else if (name.toLowerCase() === "host" || name.toLowerCase() === ":authority") authority = value;
        else ops.push({ kind, name: name.toLowerCase(), value });
      }
    }
    if (req["remove"] !== undefined) {
      if (!Array.isArray(req["remove"]))
        this.issue(`${path}.request.remove`, "must be a list of header names");
      else
        req["remove"].forEach((name, i) => {
          if (typeof name !== "string" || !HEADER_NAME.test(name))
            this.issue(`${path}.request.remove[${i}]`, "invalid header name");
          else ops.push({ kind: "remove", name: name.toLowerCase() });
        });
    }
    return { ops, authority };
  }

  private destination(
    raw: unknown,
    path: string,
    namespace: string,
    ops: readonly HeaderOp[],
  ): Target | null {
    if (!isRecord(raw)) {
      this.issue(path, "must be a mapping with host");
      return null;
    }
    for (const key of Object.keys(raw)) {
      if (!["host", "port"].includes(key))
        this.issue(`${path}.${key}`, `not supported by the local router (only host, port)`);
    }
    const host = raw["host"];
    if (typeof host !== "string" || host === "") {
      this.issue(`${path}.host`, "required");
      return null;
    }
    let port: number | null = null;
    if (raw["port"] !== undefined) {
      const n = isRecord(raw["port"]) ? raw["port"]["number"] : undefined;
      if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > 65535) {
        this.issue(`${path}.port.number`, "must be an integer 1..65535");
        return null;
      }
      port = n as number;
    }
    const h = host.toLowerCase();
    const gw = this.gatewayHosts.get(h);
    if (gw) return { kind: "gateway", gateway: gw };
    const direct =
      (port !== null ? this.upstreamMap.get(`${h}:${port}`) : undefined) ?? this.upstreamMap.get(h);
    if (direct) {
      // Version label: the Knative revision this route says it targets, else the host.
      let version: string | null = null;
      for (const op of ops) if (op.kind === "set" && op.name === REVISION_HEADER) version = op.value;
      this.versions.add(version ?? h);
      return { kind: "upstream", upstream: direct, version, revision: false, host: h };
    }
    const svcName = serviceName(h, namespace);
    if (svcName) {
      const owner = this.revisionOwner.get(`${svcName.namespace}/${svcName.name}`);
      if (owner) return this.revisionTarget(owner, svcName.name, `${path}.host`);
      const svc = this.ksvcs.get(`${svcName.namespace}/${svcName.name}`);
      if (svc) {
        const split = this.kserviceSplit(svc);
        if (!split) {
          this.issue(`${path}.host`, `${svc.label} has no valid traffic block`);
          return null;
        }
        return { kind: "split", split };
      }
    }
    this.issue(
      `${path}.host`,
      `unknown upstream host "${host}": not in upstreams, not a Knative Service or revision`,
    );
    return null;
  }
}

// ---- helpers ----------------------------------------------------------------------------------------

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const HEADER_NAME = /^:?[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** RFC 9110 §7.6.1 connection-specific fields (plus the legacy ones proxies still strip). */
export const HOP_BY_HOP_NAMES: ReadonlySet<string> = new Set([
  "connection",
  "proxy-connection",
  "keep-alive",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "proxy-authenticate",
  "proxy-authorization",
]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function choice(
  weight: number,
  target: Target,
  headerOps: HeaderOp[],
  authority: string | null,
  origin: string,
  timeoutMs: number | null = null,
  shadow = false,
): Choice {
  return { weight, target, headerOps, authority, origin, timeoutMs, shadow };
}

function makeSplit(choices: Choice[]): Split {
  const cumulative: number[] = [];
  let total = 0;
  for (const c of choices) {
    total += c.weight;
    cumulative.push(total);
  }
  return { cumulative, choices, total };
}

function knativeHosts(name: string, namespace: string): string[] {
  const base = `${name}.${namespace}`;
  return [base, `${base}.svc`, `${base}.svc.cluster.local`, `${base}.${KNATIVE_DOMAIN}`];
}

/** `name`, `name.ns`, `name.ns.svc`, `name.ns.svc.cluster.local` -> {name, namespace}. */
function serviceName(host: string, defaultNamespace: string): { name: string; namespace: string } | null {
  const parts = host.replace(/\.svc\.cluster\.local$|\.svc$/, "").split(".");
  if (parts.length === 1) return { name: parts[0]!, namespace: defaultNamespace };
  if (parts.length === 2) return { name: parts[0]!, namespace: parts[1]! };
  return null;
}

/** "127.0.0.1:8080", "http://localhost:8080", "[::1]:8080" -> Upstream, else an error message. */
export function parseAddress(value: string): Upstream | string {
  let v = value.trim();
  if (v.startsWith("https://")) return `"${value}": https upstreams are not supported`;
  if (v.startsWith("http://")) v = v.slice("http://".length);
  v = v.replace(/\/$/, "");
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(v);
  if (!m) return `"${value}" is not HOST:PORT`;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return `"${value}": port must be 1..65535`;
  const host = m[1]!.startsWith("[") ? m[1]!.slice(1, -1) : m[1]!;
  return { key: `${m[1]}:${port}`, host, port };
}

/** Istio duration ("1s", "1.5s", "300ms", "1m") in milliseconds, or null. */
export function parseDuration(raw: unknown): number | null {
  if (typeof raw !== "string") return null;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(raw.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2] === "ms" ? 1 : m[2] === "s" ? 1000 : m[2] === "m" ? 60_000 : 3_600_000;
  const ms = n * unit;
  return ms > 0 ? ms : null;
}

function buildIndex(drafts: RuleDraft[]): VHostIndex {
  const exact = new Map<string, Rule[]>();
  const wildcard = new Map<string, Rule[]>();
  let any: Rule[] | null = null;
  for (const d of drafts) {
    for (const h of d.hosts) {
      if (h === "*") {
        any ??= [];
        any.push(d.rule);
      } else if (h.startsWith("*.")) {
        const suffix = h.slice(1);
        const list = wildcard.get(suffix) ?? [];
        list.push(d.rule);
        wildcard.set(suffix, list);
      } else {
        const list = exact.get(h) ?? [];
        list.push(d.rule);
        exact.set(h, list);
      }
    }
  }
  return {
    exact,
    wildcard: [...wildcard.entries()]
      .map(([suffix, rules]) => ({ suffix, rules }))
      .sort((a, b) => b.suffix.length - a.suffix.length),
    any,
  };
}
