// Gateway API `HTTPRoute` (gateway.networking.k8s.io): the part of its semantics the local router plays.
// - The router is every Gateway the route's `parentRefs` name (and the mesh): a route binds to the
//   entry gateways plus its parents. `hostnames` (exact or `*.suffix`; none = every host).
// - `rules[].matches[]` (OR; none = every request): `path` (`Exact`, `PathPrefix` by whole path
//   elements, `RegularExpression`), `headers` (`Exact` or `RegularExpression`, names case-insensitive,
//   the first entry of a name counts), `queryParams` (same types), `method`. Regular expressions must
//   match the whole value, as in Envoy-based implementations.
// - Precedence across all routes, per match: an `Exact` path, then the longest `PathPrefix` (then a
//   `RegularExpression` path, an implementation-specific choice), then a method, then the most header
//   matches, then the most query matches; ties go to the oldest route (creationTimestamp), then
//   `namespace/name`, then rule and match order.
// - `backendRefs[]`: core Services (`name`, `namespace`, `port`) with a `weight` (default 1, 0..1e6,
//   proportional: weights need not sum to 100; all 0 or no backends: 500), each with its own
//   `RequestHeaderModifier` filters. A backend resolves like an Istio destination host
//   `name.namespace.svc.cluster.local` (a Knative Service of that name splits by its traffic), or by an
//   upstreams entry `name`, `name.namespace` or that host.
// - Rule filters: `RequestHeaderModifier` (set/add/remove), `RequestMirror` (one per rule; `percent` or
//   `fraction`; the copy's authority gets the `-shadow` suffix, as Envoy does), `URLRewrite` with
//   `hostname`. `timeouts.request` (Gateway API duration, "0s" = none).
// iter8 moves traffic by writing `.spec.rules[i].backendRefs[j].weight`.

import { ENTRY_GATEWAYS, escapeRegExp, isRecord, type Obj } from "../router/compile.ts";
import {
  type Choice,
  choice,
  type HeaderOp,
  type MatchBlock,
  makeSplit,
  type Rule,
  type RuleDraft,
  type StringMatcher,
  type Target,
} from "../router/table.ts";
import type { Segment } from "./fieldpath.ts";
import { addHeaderEdit, type HeaderChanges, RouteCompiler, requiredString } from "./route-compiler.ts";
import type { TrafficKind } from "./types.ts";

export const GATEWAY_API_GROUP = "gateway.networking.k8s.io";
/** What a route answers when it has no backend with a weight above 0. */
const NO_BACKEND_STATUS = 500;
const MAX_WEIGHT = 1_000_000;

export const httpRoute: TrafficKind = {
  title: "Gateway API HTTPRoute",
  group: GATEWAY_API_GROUP,
  kind: "HTTPRoute",
  plural: "httproutes",
  shortNames: [],
  // A backendRef without weight has weight 1.
  absentWeight: (path: readonly Segment[]) => (path[path.length - 1] === "weight" ? 1 : undefined),
  compiler: (ctx) => new HTTPRouteCompiler(ctx),
};

/** The weight field of a backendRef, as `weightObjRef.fieldPath` names it. */
export function backendWeightPath(rule: number, backend: number): string {
  return `.spec.rules[${rule}].backendRefs[${backend}].weight`;
}

interface Filters extends HeaderChanges {
  mirror: Rule["mirror"];
}

/** One match of one rule, with what orders it among all routes' matches. */
interface Ranked {
  readonly draft: RuleDraft;
  readonly rank: readonly number[];
  readonly route: { readonly created: string; readonly name: string };
  readonly order: number;
}

const FILTERS = ["RequestHeaderModifier", "RequestMirror", "URLRewrite"];

class HTTPRouteCompiler extends RouteCompiler {
  rules(): RuleDraft[] {
    const ranked = this.compileAll((obj, index) => this.#route(obj, index));
    ranked.sort(byPrecedence);
    return ranked.map((r) => r.draft);
  }

  #route(obj: Obj, index: number): Ranked[] {
    const ctx = this.ctx;
    const head = this.head(obj, index, "HTTPRoute");
    if (!head) return [];
    const { namespace, label, spec } = head;
    const meta = isRecord(obj["metadata"]) ? obj["metadata"] : {};
    const created = typeof meta["creationTimestamp"] === "string" ? meta["creationTimestamp"] : "";
    ctx.onlyKeys(spec, ["parentRefs", "hostnames", "rules"], "spec");
    const hosts = this.#hostnames(spec["hostnames"]);
    const gateways = [...ENTRY_GATEWAYS, ...this.#parents(spec["parentRefs"], namespace)];
    const rules = spec["rules"] ?? [{}];
    if (!Array.isArray(rules)) {
      ctx.issue("spec.rules", "must be a list of rules");
      return [];
    }
    const out: Ranked[] = [];
    this.eachMapping(rules, "spec.rules", (raw, path, i) => {
      const compiled = this.#rule(raw, path, namespace);
      compiled.forEach(({ rule, rank }, k) => {
        out.push({
          draft: { rule, hosts, gateways },
          rank,
          route: { created, name: label },
          order: i * 1000 + k,
        });
      });
    });
    return out;
  }

  #hostnames(raw: unknown): string[] {
    if (raw === undefined) return ["*"];
    if (!Array.isArray(raw)) {
      this.ctx.issue("spec.hostnames", "must be a list of hostnames");
      return [];
    }
    const hosts: string[] = [];
    raw.forEach((h, i) => {
      if (typeof h !== "string" || !HOSTNAME.test(h))
        this.ctx.issue(
          `spec.hostnames[${i}]`,
          `invalid hostname ${JSON.stringify(h)} (a DNS name, optionally *.suffix)`,
        );
      else hosts.push(h.toLowerCase());
    });
    return hosts.length === 0 && raw.length === 0 ? ["*"] : hosts;
  }

  /** Gateway names (`namespace/name`) of the parents; a Service parent (GAMMA) is the mesh. */
  #parents(raw: unknown, namespace: string): string[] {
    if (raw === undefined) return [];
    if (!Array.isArray(raw)) {
      this.ctx.issue("spec.parentRefs", "must be a list of parent references");
      return [];
    }
    const out: string[] = [];
    raw.forEach((p, i) => {
      const path = `spec.parentRefs[${i}]`;
      if (!isRecord(p) || typeof p["name"] !== "string" || p["name"] === "") {
        this.ctx.issue(`${path}.name`, "required");
        return;
      }
      const kind = p["kind"] ?? "Gateway";
      out.push(kind === "Service" ? "mesh" : `${refNamespace(p, namespace)}/${p["name"]}`);
    });
    return out;
  }

  /** One rule -> one router Rule per match (sharing split, mirror and timeout), with their ranks. */
  #rule(raw: Obj, path: string, namespace: string): Array<{ rule: Rule; rank: number[] }> {
    const ctx = this.ctx;
    ctx.onlyKeys(raw, ["name", "matches", "filters", "backendRefs", "timeouts"], path);
    const issuesBefore = ctx.issues.length;
    const timeoutMs = this.#timeout(raw["timeouts"], `${path}.timeouts`);
    const filters = this.#filters(raw["filters"], `${path}.filters`, namespace, timeoutMs, true);
    const choices = this.#backends(raw["backendRefs"], `${path}.backendRefs`, namespace, filters, timeoutMs);
    const matches = this.#matches(raw["matches"], `${path}.matches`);
    if (ctx.issues.length > issuesBefore) return [];
    const split = makeSplit(choices, NO_BACKEND_STATUS);
    return matches.map(({ block, rank }, k) => ({
      rule: { origin: `${path}.matches[${k}]`, match: [block], split, mirror: filters.mirror, timeoutMs },
      rank,
    }));
  }

  #backends(
    raw: unknown,
    path: string,
    namespace: string,
    rule: Filters,
    timeoutMs: number | null,
  ): Choice[] {
    const ctx = this.ctx;
    if (raw === undefined) return [];
    if (!Array.isArray(raw)) {
      ctx.issue(path, "must be a list of backend references");
      return [];
    }
    const choices: Choice[] = [];
    this.eachMapping(raw, path, (b, bp) => {
      ctx.onlyKeys(b, ["group", "kind", "name", "namespace", "port", "weight", "filters"], bp);
      const weight = ctx.integer(b["weight"] ?? 1, `${bp}.weight`, 0, MAX_WEIGHT);
      if (weight === undefined) return;
      const own = this.#filters(b["filters"], `${bp}.filters`, namespace, timeoutMs, false);
      const ops = [...rule.ops, ...own.ops];
      const target = this.#backend(b, bp, namespace, ops);
      if (target) choices.push(choice(weight, target, ops, own.authority ?? rule.authority, bp, timeoutMs));
    });
    return choices;
  }

  /** A backendRef (a core Service and port) -> its Target. */
  #backend(ref: Obj, path: string, namespace: string, ops: readonly HeaderOp[]): Target | null {
    const ctx = this.ctx;
    const group = ref["group"] ?? "";
    const kind = ref["kind"] ?? "Service";
    if ((group !== "" && group !== "core") || kind !== "Service") {
      ctx.issue(
        `${path}.kind`,
        `only core Services are supported as backends locally (got ${String(group)}/${String(kind)})`,
      );
      return null;
    }
    const name = requiredString(ctx, ref, "name", path);
    if (name === undefined) return null;
    const p = ref["port"] === undefined ? null : ctx.integer(ref["port"], `${path}.port`, 1, 65535);
    if (p === undefined) return null;
    const ns = refNamespace(ref, namespace);
    const fqdn = `${name}.${ns}.svc.cluster.local`;
    // An upstreams entry may name the Service by its short name, `name.namespace` or the full host.
    const host =
      [fqdn, `${name}.${ns}`, name].find(
        (h) => (p !== null && ctx.upstream(`${h}:${p}`)) || ctx.upstream(h),
      ) ?? fqdn;
    return ctx.destination(host, p, ns, ops, `${path}.name`);
  }

  #filters(
    raw: unknown,
    path: string,
    namespace: string,
    timeoutMs: number | null,
    ruleLevel: boolean,
  ): Filters {
    const ctx = this.ctx;
    const out: Filters = { ops: [], authority: null, mirror: null };
    if (raw === undefined) return out;
    if (!Array.isArray(raw)) {
      ctx.issue(path, "must be a list of filters");
      return out;
    }
    const supported = ruleLevel ? FILTERS : ["RequestHeaderModifier"];
    raw.forEach((f, i) => {
      const fp = `${path}[${i}]`;
      const type = isRecord(f) ? f["type"] : undefined;
      if (!isRecord(f) || typeof type !== "string" || !supported.includes(type)) {
        ctx.issue(
          `${fp}.type`,
          `${JSON.stringify(type)} is not supported by the local router (supported: ${supported.join(", ")})`,
        );
        return;
      }
      if (type === "RequestHeaderModifier")
        this.#headerModifier(f["requestHeaderModifier"], `${fp}.requestHeaderModifier`, out);
      else if (type === "URLRewrite")
        out.authority = this.#urlRewrite(f["urlRewrite"], `${fp}.urlRewrite`) ?? out.authority;
      else if (out.mirror)
        ctx.issue(fp, "only one RequestMirror filter per rule is supported by the local router");
      else out.mirror = this.#mirror(f["requestMirror"], `${fp}.requestMirror`, namespace, out, timeoutMs);
    });
    return out;
  }

  #headerModifier(raw: unknown, path: string, out: Filters): void {
    const ctx = this.ctx;
    if (!isRecord(raw)) {
      ctx.issue(path, "required: a mapping with set, add, remove");
      return;
    }
    ctx.onlyKeys(raw, ["set", "add", "remove"], path);
    for (const kind of ["set", "add"] as const) {
      const list = raw[kind];
      if (list === undefined) continue;
      if (!Array.isArray(list)) {
        ctx.issue(`${path}.${kind}`, "must be a list of {name, value}");
        continue;
      }
      list.forEach((h, i) => {
        const [name, value] = isRecord(h) ? [h["name"], h["value"]] : [];
        addHeaderEdit(out, ctx.headerEdit(kind, name, value, `${path}.${kind}[${i}]`));
      });
    }
    out.ops.push(...ctx.headerRemovals(raw["remove"], `${path}.remove`));
  }

  #urlRewrite(raw: unknown, path: string): string | null {
    const h = this.soleField(raw, path, "hostname", "required: a mapping with hostname");
    if (h === undefined) return null;
    if (typeof h !== "string" || !HOSTNAME.test(h) || h.includes("*")) {
      this.ctx.issue(`${path}.hostname`, "must be a DNS name");
      return null;
    }
    return h;
  }

  #mirror(
    raw: unknown,
    path: string,
    namespace: string,
    rule: Filters,
    timeoutMs: number | null,
  ): Rule["mirror"] {
    const ctx = this.ctx;
    if (!isRecord(raw) || !isRecord(raw["backendRef"])) {
      ctx.issue(`${path}.backendRef`, "required");
      return null;
    }
    ctx.onlyKeys(raw, ["backendRef", "percent", "fraction"], path);
    let percent = 100;
    if (raw["percent"] !== undefined && raw["fraction"] !== undefined) {
      ctx.issue(path, "use either percent or fraction, not both");
    } else if (raw["percent"] !== undefined) {
      percent = ctx.integer(raw["percent"], `${path}.percent`, 0, 100) ?? percent;
    } else if (raw["fraction"] !== undefined) {
      const f = raw["fraction"];
      const num = isRecord(f) ? f["numerator"] : undefined;
      const den = isRecord(f) ? (f["denominator"] ?? 100) : undefined;
      if (
        !Number.isInteger(num) ||
        !Number.isInteger(den) ||
        (den as number) < 1 ||
        (num as number) < 0 ||
        (num as number) > (den as number)
      )
        ctx.issue(
          `${path}.fraction`,
          "must be {numerator, denominator} with 0 <= numerator <= denominator, denominator >= 1",
        );
      else percent = ((num as number) / (den as number)) * 100;
    }
    const ref = raw["backendRef"];
    ctx.onlyKeys(ref, ["group", "kind", "name", "namespace", "port"], `${path}.backendRef`);
    // The copy carries the rule's header changes made so far (filters apply in order).
    const ops = [...rule.ops];
    const target = this.#backend(ref, `${path}.backendRef`, namespace, ops);
    if (!target) return null;
    return { choice: choice(100, target, ops, rule.authority, path, timeoutMs, true), percent };
  }

  #timeout(raw: unknown, path: string): number | null {
    if (raw === undefined) return null;
    const request = this.soleField(raw, path, "request", "must be a mapping with request");
    if (request === undefined) return null;
    const ms = gatewayDuration(request);
    if (ms === undefined) {
      this.ctx.issue(`${path}.request`, 'must be a Gateway API duration such as "10s", "500ms" or "1m30s"');
      return null;
    }
    return ms === 0 ? null : ms;
  }

  #matches(raw: unknown, path: string): Array<{ block: MatchBlock; rank: number[] }> {
    if (raw === undefined || (Array.isArray(raw) && raw.length === 0))
      return [{ block: emptyBlock(null), rank: [1, 1, 0, 0, 0] }];
    if (!Array.isArray(raw)) {
      this.ctx.issue(path, "must be a list of matches");
      return [];
    }
    const out: Array<{ block: MatchBlock; rank: number[] }> = [];
    this.eachMapping(raw, path, (m, mp) => {
      const r = this.#match(m, mp);
      if (r) out.push(r);
    });
    return out;
  }

  #match(m: Obj, path: string): { block: MatchBlock; rank: number[] } | null {
    const ctx = this.ctx;
    ctx.onlyKeys(m, ["path", "headers", "queryParams", "method"], path);
    const pm = this.#pathMatch(m["path"], `${path}.path`);
    const headers = this.#valueMatches(m["headers"], `${path}.headers`, true);
    const query = this.#valueMatches(m["queryParams"], `${path}.queryParams`, false);
    let method: StringMatcher | null = null;
    if (m["method"] !== undefined) {
      if (typeof m["method"] !== "string" || !/^[A-Z]+$/.test(m["method"]))
        ctx.issue(`${path}.method`, "must be an HTTP method such as GET");
      else method = { kind: "exact", value: m["method"] };
    }
    if (!pm) return null;
    const block: MatchBlock = {
      ...emptyBlock(pm.uri),
      headers,
      method,
      ...(query.length > 0 ? { query } : {}),
    };
    return { block, rank: [pm.rank, pm.length, method ? 1 : 0, headers.length, query.length] };
  }

  #pathMatch(raw: unknown, path: string): { uri: StringMatcher | null; rank: number; length: number } | null {
    const ctx = this.ctx;
    if (raw === undefined) return { uri: null, rank: 1, length: 1 };
    if (!isRecord(raw)) {
      ctx.issue(path, "must be a mapping with type and value");
      return null;
    }
    ctx.onlyKeys(raw, ["type", "value"], path);
    const type = raw["type"] ?? "PathPrefix";
    const value = raw["value"] ?? "/";
    if (typeof value !== "string" || (type !== "RegularExpression" && !value.startsWith("/"))) {
      ctx.issue(`${path}.value`, 'must be a path starting with "/"');
      return null;
    }
    if (type === "Exact") return { uri: { kind: "exact", value }, rank: 2, length: value.length };
    if (type === "RegularExpression") {
      const uri = ctx.matcher("regex", value, false, `${path}.value`);
      return uri ? { uri, rank: 0, length: value.length } : null;
    }
    if (type !== "PathPrefix") {
      ctx.issue(
        `${path}.type`,
        `must be Exact, PathPrefix or RegularExpression, got ${JSON.stringify(type)}`,
      );
      return null;
    }
    // A prefix matches whole path elements: "/foo" matches "/foo" and "/foo/bar", not "/foobar".
    const trimmed = value.replace(/\/+$/, "");
    if (trimmed === "") return { uri: null, rank: 1, length: 1 };
    return {
      uri: { kind: "regex", re: new RegExp(`^${escapeRegExp(trimmed)}(?:/.*)?$`) },
      rank: 1,
      length: trimmed.length,
    };
  }

  /** Header or query matches: `[{type, name, value}]`; for headers the first entry of a name counts. */
  #valueMatches(raw: unknown, path: string, headers: boolean): Array<{ name: string; match: StringMatcher }> {
    const ctx = this.ctx;
    const out: Array<{ name: string; match: StringMatcher }> = [];
    if (raw === undefined) return out;
    if (!Array.isArray(raw)) {
      ctx.issue(path, "must be a list of {type, name, value}");
      return out;
    }
    raw.forEach((h, i) => {
      const hp = `${path}[${i}]`;
      if (
        !isRecord(h) ||
        typeof h["name"] !== "string" ||
        h["name"] === "" ||
        typeof h["value"] !== "string"
      ) {
        ctx.issue(hp, "needs a name and a string value");
        return;
      }
      ctx.onlyKeys(h, ["type", "name", "value"], hp);
      const type = h["type"] ?? "Exact";
      if (type !== "Exact" && type !== "RegularExpression") {
        ctx.issue(`${hp}.type`, `must be Exact or RegularExpression, got ${JSON.stringify(type)}`);
        return;
      }
      const name = headers ? h["name"].toLowerCase() : h["name"];
      if (out.some((x) => x.name === name)) return;
      const match = ctx.matcher(type === "Exact" ? "exact" : "regex", h["value"], false, `${hp}.value`);
      if (match) out.push({ name, match });
    });
    return out;
  }
}

const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i;

/** A parentRef's or backendRef's namespace: its own when set, else the route's. */
function refNamespace(ref: Obj, routeNamespace: string): string {
  return typeof ref["namespace"] === "string" && ref["namespace"] ? ref["namespace"] : routeNamespace;
}

function emptyBlock(uri: StringMatcher | null): MatchBlock {
  return { headers: [], withoutHeaders: [], authority: null, uri, method: null };
}

/** Higher rank first; then the oldest route, then namespace/name, then rule and match order. */
function byPrecedence(a: Ranked, b: Ranked): number {
  for (let i = 0; i < a.rank.length; i++) {
    const d = b.rank[i]! - a.rank[i]!;
    if (d !== 0) return d;
  }
  if (a.route.created !== b.route.created) {
    if (a.route.created === "") return 1;
    if (b.route.created === "") return -1;
    return a.route.created < b.route.created ? -1 : 1;
  }
  if (a.route.name !== b.route.name) return a.route.name < b.route.name ? -1 : 1;
  return a.order - b.order;
}

/** Gateway API duration (`1h`, `30s`, `500ms`, `1m30s`; up to four parts) in ms, or undefined. */
export function gatewayDuration(raw: unknown): number | undefined {
  if (typeof raw !== "string" || !/^([0-9]{1,5}(h|m|s|ms)){1,4}$/.test(raw)) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  for (const m of raw.matchAll(/([0-9]+)(ms|h|m|s)/g)) total += Number(m[1]) * unit[m[2]!]!;
  return total;
}
