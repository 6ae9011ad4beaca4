// Istio `VirtualService` (networking.istio.io): the subset of its HTTP routing the local router plays.
// - Bound to `spec.gateways` (default `mesh`); hosts exact, `*.suffix` or `*`; rules in order, the
//   first whose `match` (OR of blocks; headers, withoutHeaders, authority, uri, method) fits wins.
// - `route[]`: weighted destinations (integer weights 0..100 summing to 100; an omitted weight among
//   several destinations is 0), each with request header operations (`set`, `add`, `remove`; setting
//   Host rewrites the authority); `rewrite.authority`, `timeout`, `mirror` with `mirrorPercent` or
//   `mirrorPercentage` (the copy's authority gets the `-shadow` suffix, as Envoy does).
// iter8 moves traffic by writing `.spec.http[i].route[j].weight`.

import { isRecord, type Obj, parseDuration } from "../router/compile.ts";
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

export const ISTIO_NETWORKING_GROUP = "networking.istio.io";

export const virtualService: TrafficKind = {
  title: "Istio VirtualService",
  group: ISTIO_NETWORKING_GROUP,
  kind: "VirtualService",
  plural: "virtualservices",
  shortNames: ["vs"],
  absentWeight: (path: readonly Segment[]) => (path[path.length - 1] === "weight" ? 0 : undefined),
  compiler: (ctx) => new VirtualServiceCompiler(ctx),
};

const RULE_FIELDS = [
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
const MATCH_FIELDS = ["name", "headers", "withoutHeaders", "authority", "uri", "method", "ignoreUriCase"];

class VirtualServiceCompiler extends RouteCompiler {
  rules(): RuleDraft[] {
    return this.compileAll((obj, index) => this.#virtualService(obj, index));
  }

  #virtualService(obj: Obj, index: number): RuleDraft[] {
    const ctx = this.ctx;
    const head = this.head(obj, index, "VirtualService");
    if (!head) return [];
    const { namespace, spec } = head;
    ctx.onlyKeys(spec, ["hosts", "gateways", "http", "exportTo"], "spec", "only hosts, gateways, http");
    const hosts: string[] = [];
    if (!Array.isArray(spec["hosts"]) || spec["hosts"].length === 0) {
      ctx.issue("spec.hosts", "must be a non-empty list of hosts");
    } else {
      spec["hosts"].forEach((h, i) => {
        if (typeof h !== "string" || h === "" || (h.includes("*") && h !== "*" && !h.startsWith("*."))) {
          ctx.issue(`spec.hosts[${i}]`, `invalid host ${JSON.stringify(h)}`);
        } else hosts.push(h.toLowerCase());
      });
    }
    let gateways: string[] = ["mesh"];
    if (spec["gateways"] !== undefined) {
      if (!Array.isArray(spec["gateways"])) ctx.issue("spec.gateways", "must be a list of gateway names");
      else {
        gateways = [];
        spec["gateways"].forEach((g, i) => {
          if (typeof g !== "string" || g === "") ctx.issue(`spec.gateways[${i}]`, "must be a gateway name");
          else gateways.push(g === "mesh" || g.includes("/") ? g : `${namespace}/${g}`);
        });
      }
    }
    if (!Array.isArray(spec["http"]) || spec["http"].length === 0) {
      ctx.issue("spec.http", "must be a non-empty list of HTTP routes");
      return [];
    }
    const drafts: RuleDraft[] = [];
    this.eachMapping(spec["http"], "spec.http", (http, path) => {
      const rule = this.#httpRule(http, path, namespace);
      if (rule) drafts.push({ rule, hosts, gateways });
    });
    return drafts;
  }

  #httpRule(http: Obj, path: string, namespace: string): Rule | null {
    const ctx = this.ctx;
    ctx.onlyKeys(http, RULE_FIELDS, path);
    const issuesBefore = ctx.issues.length;
    const match = this.#matchBlocks(http["match"], `${path}.match`);
    // Rule-level header operations and authority rewrite apply to every destination of the rule.
    const ruleHeaders = this.#headerOps(http["headers"], `${path}.headers`);
    const authority = this.#rewrite(http["rewrite"], `${path}.rewrite`) ?? ruleHeaders.authority;
    let timeoutMs: number | null = null;
    if (http["timeout"] !== undefined) {
      timeoutMs = parseDuration(http["timeout"]);
      if (timeoutMs === null) ctx.issue(`${path}.timeout`, 'must be a duration such as "1.5s" or "300ms"');
    }
    const choices = this.#routes(
      http["route"],
      `${path}.route`,
      namespace,
      ruleHeaders.ops,
      authority,
      timeoutMs,
    );
    const mirror = this.#mirror(http, path, namespace, ruleHeaders.ops, authority, timeoutMs);
    if (ctx.issues.length > issuesBefore) return null;
    return { origin: path, match, split: makeSplit(choices), mirror, timeoutMs };
  }

  #rewrite(rw: unknown, path: string): string | null {
    if (rw === undefined) return null;
    const authority = this.soleField(rw, path, "authority", "must be a mapping");
    if (authority === undefined) return null;
    if (typeof authority !== "string" || authority === "") {
      this.ctx.issue(`${path}.authority`, "must be a non-empty string");
      return null;
    }
    return authority;
  }

  #routes(
    routes: unknown,
    path: string,
    namespace: string,
    ruleOps: HeaderOp[],
    authority: string | null,
    timeoutMs: number | null,
  ): Choice[] {
    const ctx = this.ctx;
    const choices: Choice[] = [];
    if (!Array.isArray(routes) || routes.length === 0) {
      ctx.issue(path, "must be a non-empty list of destinations");
      return choices;
    }
    let sum = 0;
    this.eachMapping(routes, path, (r, rp) => {
      ctx.onlyKeys(r, ["destination", "weight", "headers"], rp, "");
      let weight = 100;
      if (r["weight"] !== undefined) {
        const w = ctx.integer(r["weight"], `${rp}.weight`, 0, 100);
        if (w === undefined) return;
        weight = w;
      } else if (routes.length > 1) {
        weight = 0; // Istio: an omitted weight among several destinations is 0
      }
      sum += weight;
      const ops = this.#headerOps(r["headers"], `${rp}.headers`);
      const all = [...ruleOps, ...ops.ops];
      const target = this.#destination(r["destination"], `${rp}.destination`, namespace, all);
      if (target) choices.push(choice(weight, target, all, ops.authority ?? authority, rp, timeoutMs));
    });
    if (routes.length > 1 && choices.length === routes.length && sum !== 100) {
      ctx.issue(path, `weights must sum to 100 (they sum to ${sum})`);
    }
    return choices;
  }

  #mirror(
    http: Obj,
    path: string,
    namespace: string,
    ruleOps: HeaderOp[],
    authority: string | null,
    timeoutMs: number | null,
  ): Rule["mirror"] {
    const ctx = this.ctx;
    if (http["mirror"] === undefined) {
      if (http["mirrorPercent"] !== undefined || http["mirrorPercentage"] !== undefined)
        ctx.issue(`${path}.mirror`, "mirrorPercent is set but mirror is missing");
      return null;
    }
    const target = this.#destination(http["mirror"], `${path}.mirror`, namespace, ruleOps);
    let percent = 100;
    if (http["mirrorPercent"] !== undefined && http["mirrorPercentage"] !== undefined) {
      ctx.issue(`${path}.mirrorPercentage`, "use either mirrorPercent or mirrorPercentage, not both");
    } else if (http["mirrorPercent"] !== undefined) {
      percent = ctx.integer(http["mirrorPercent"], `${path}.mirrorPercent`, 0, 100) ?? percent;
    } else if (http["mirrorPercentage"] !== undefined) {
      const mp = http["mirrorPercentage"];
      const v = isRecord(mp) ? mp["value"] : undefined;
      if (typeof v !== "number" || !(v >= 0 && v <= 100)) {
        ctx.issue(`${path}.mirrorPercentage.value`, "must be a number 0..100");
      } else percent = v;
    }
    if (!target) return null;
    return { choice: choice(100, target, ruleOps, authority, `${path}.mirror`, timeoutMs, true), percent };
  }

  #matchBlocks(raw: unknown, path: string): MatchBlock[] {
    const ctx = this.ctx;
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) {
      ctx.issue(path, "must be a list of match conditions");
      return [];
    }
    const blocks: MatchBlock[] = [];
    this.eachMapping(raw, path, (m, mp) => {
      ctx.onlyKeys(m, MATCH_FIELDS, mp);
      const ignoreCase = m["ignoreUriCase"] === true;
      const one = (field: string, ic = false) =>
        m[field] === undefined ? null : this.#stringMatch(m[field], `${mp}.${field}`, ic);
      blocks.push({
        headers: this.#headerMatches(m["headers"], `${mp}.headers`),
        withoutHeaders: this.#headerMatches(m["withoutHeaders"], `${mp}.withoutHeaders`),
        authority: one("authority"),
        uri: one("uri", ignoreCase),
        method: one("method"),
      });
    });
    return blocks;
  }

  #headerMatches(h: unknown, path: string): Array<{ name: string; match: StringMatcher }> {
    const out: Array<{ name: string; match: StringMatcher }> = [];
    if (h === undefined) return out;
    if (!isRecord(h)) {
      this.ctx.issue(path, "must be a mapping of header name to string match");
      return out;
    }
    for (const [name, sm] of Object.entries(h)) {
      const matcher = this.#stringMatch(sm, `${path}.${name}`, false);
      if (matcher) out.push({ name: name.toLowerCase(), match: matcher });
    }
    return out;
  }

  /** Istio's StringMatch: exactly one of `exact`, `prefix`, `regex`. */
  #stringMatch(raw: unknown, path: string, ignoreCase: boolean): StringMatcher | null {
    const ctx = this.ctx;
    if (!isRecord(raw)) {
      ctx.issue(path, "must be a string match: one of exact, prefix, regex");
      return null;
    }
    const keys = Object.keys(raw);
    if (keys.length !== 1 || !["exact", "prefix", "regex"].includes(keys[0]!)) {
      ctx.issue(path, `must have exactly one of exact, prefix, regex (got ${keys.join(", ") || "none"})`);
      return null;
    }
    const kind = keys[0] as "exact" | "prefix" | "regex";
    const value = raw[kind];
    if (typeof value !== "string") {
      ctx.issue(`${path}.${kind}`, "must be a string");
      return null;
    }
    return ctx.matcher(kind, value, ignoreCase, `${path}.${kind}`);
  }

  /** Istio's Headers: `request` with `set`, `add` (name -> value) and `remove` (names). */
  #headerOps(raw: unknown, path: string): HeaderChanges {
    const ctx = this.ctx;
    const spec: HeaderChanges = { ops: [], authority: null };
    if (raw === undefined) return spec;
    const req = this.soleField(raw, path, "request", "must be a mapping with request");
    if (req === undefined) return spec;
    if (!isRecord(req)) {
      ctx.issue(`${path}.request`, "must be a mapping with set, add, remove");
      return spec;
    }
    for (const key of Object.keys(req)) {
      if (!["set", "add", "remove"].includes(key))
        ctx.issue(`${path}.request.${key}`, "must be one of set, add, remove");
    }
    for (const kind of ["set", "add"] as const) {
      const m = req[kind];
      if (m === undefined) continue;
      if (!isRecord(m)) {
        ctx.issue(`${path}.request.${kind}`, "must be a mapping of header name to value");
        continue;
      }
      for (const [name, value] of Object.entries(m))
        addHeaderEdit(spec, ctx.headerEdit(kind, name, value, `${path}.request.${kind}.${name}`));
    }
    spec.ops.push(...ctx.headerRemovals(req["remove"], `${path}.request.remove`));
    return spec;
  }

  #destination(raw: unknown, path: string, namespace: string, ops: readonly HeaderOp[]): Target | null {
    const ctx = this.ctx;
    if (!isRecord(raw)) {
      ctx.issue(path, "must be a mapping with host");
      return null;
    }
    ctx.onlyKeys(raw, ["host", "port"], path, "only host, port");
    const host = requiredString(ctx, raw, "host", path);
    if (host === undefined) return null;
    const number = isRecord(raw["port"]) ? raw["port"]["number"] : undefined;
    const port = raw["port"] === undefined ? null : ctx.integer(number, `${path}.port.number`, 1, 65535);
    if (port === undefined) return null;
    return ctx.destination(host, port, namespace, ops, `${path}.host`);
  }
}
