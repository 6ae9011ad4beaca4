// Per-request route resolution against a compiled RouteTable: host lookup, match, weighted choice,
// gateway re-entry and mirror decisions. Synchronous and allocation-light: the Plan for a chain of chosen
// destinations is built once and memoised, so the common case allocates nothing here.

import {
  type Choice,
  type HeaderOp,
  type MatchBlock,
  type Plan,
  REVISION_HEADER,
  type RouteTable,
  type Rule,
  type Split,
  type StringMatcher,
  type VHostIndex,
} from "./table.ts";

/** What the resolver needs to know about a request (node's IncomingMessage fits). */
export interface RequestLike {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly rawHeaders: readonly string[];
}

export interface RouteFailure {
  readonly failure: true;
  readonly status: number;
  readonly reason: string;
}

const NO_ROUTE: RouteFailure = { failure: true, status: 503, reason: "no route for this host and request" };
const NO_DESTINATION: RouteFailure = {
  failure: true,
  status: 503,
  reason: "no destination with a weight above 0",
};
const LOOP: RouteFailure = { failure: true, status: 503, reason: "routing loop through gateways" };

const MAX_HOPS = 8;
/** Failures for splits that answer something else than 503 when every weight is 0, by status. */
const emptyFailures = new Map<number, RouteFailure>();

function noDestination(split: Split): RouteFailure {
  if (split.emptyStatus === undefined) return NO_DESTINATION;
  let f = emptyFailures.get(split.emptyStatus);
  if (!f) {
    f = { failure: true, status: split.emptyStatus, reason: NO_DESTINATION.reason };
    emptyFailures.set(split.emptyStatus, f);
  }
  return f;
}

interface PlanNode {
  plan: Plan | null;
  next: Map<Choice, PlanNode> | null;
}

export interface Resolver {
  readonly table: RouteTable;
  /**
   * Resolve a request. Returns its Plan or a failure; plans of mirrored copies (if the mirror draw
   * says so) are pushed to `mirrors`. `random` returns uniform numbers in [0, 1).
   */
  resolve(req: RequestLike, random: () => number, mirrors: Plan[]): Plan | RouteFailure;
}

export function isFailure(r: Plan | RouteFailure): r is RouteFailure {
  return (r as RouteFailure).failure === true;
}

export function createResolver(table: RouteTable): Resolver {
  const root: PlanNode = { plan: null, next: null };
  // Chain of choices taken for the request being resolved (resolution is synchronous, so one buffer).
  const chain: Choice[] = [];
  let clientHost = "";

  // Follow the choice just pushed on the chain down to an upstream.
  function follow(
    req: RequestLike,
    random: () => number,
    mirrors: Plan[] | null,
    hops: number,
  ): Plan | RouteFailure {
    const target = chain[chain.length - 1]!.target;
    switch (target.kind) {
      case "upstream":
        return planFor(root, chain);
      case "split": {
        const c = pick(target.split, random);
        if (!c) return noDestination(target.split);
        chain.push(c);
        return follow(req, random, mirrors, hops);
      }
      case "gateway": {
        if (hops >= MAX_HOPS) return LOOP;
        const index = table.gateways.get(target.gateway);
        if (!index) return NO_ROUTE;
        return route(index, req, random, mirrors, hops + 1);
      }
    }
  }

  function route(
    index: VHostIndex,
    req: RequestLike,
    random: () => number,
    mirrors: Plan[] | null,
    hops: number,
  ): Plan | RouteFailure {
    const rules = lookupHost(index, hostOnly(authority(chain, clientHost)));
    if (!rules) return NO_ROUTE;
    for (const rule of rules) {
      if (!ruleMatches(chain, clientHost, rule, req)) continue;
      const c = pick(rule.split, random);
      if (!c) return noDestination(rule.split);
      const depth = chain.length;
      if (mirrors !== null && rule.mirror !== null && rule.mirror.percent > 0) {
        if (rule.mirror.percent >= 100 || random() * 100 < rule.mirror.percent) {
          chain.push(rule.mirror.choice);
          // A mirrored copy's own mirrors are not mirrored again (Envoy does not shadow shadows).
          const m = follow(req, random, null, hops);
          if (!isFailure(m)) mirrors.push(m);
          chain.length = depth;
        }
      }
      chain.push(c);
      return follow(req, random, mirrors, hops);
    }
    return NO_ROUTE;
  }

  return {
    table,
    resolve(req, random, mirrors) {
      chain.length = 0;
      clientHost = header(chain, req, "host") ?? "";
      try {
        return route(table.entry, req, random, mirrors, 0);
      } finally {
        chain.length = 0;
      }
    },
  };
}

/** A request header as routing sees it: header operations along the chain win (latest first). */
function header(chain: readonly Choice[], req: RequestLike, name: string): string | undefined {
  for (let i = chain.length - 1; i >= 0; i--) {
    const ops = chain[i]!.headerOps;
    for (let j = ops.length - 1; j >= 0; j--) {
      const op = ops[j]!;
      if (op.name !== name) continue;
      if (op.kind === "remove") return undefined;
      return op.value;
    }
  }
  const raw = req.rawHeaders;
  const len = name.length;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === len && (n === name || n.toLowerCase() === name)) return raw[i + 1];
  }
  return undefined;
}

/** The authority after the chain's rewrites (and the -shadow suffix of a mirror). */
function authority(chain: readonly Choice[], clientHost: string): string {
  let auth: string | null = null;
  let shadow = false;
  for (let i = 0; i < chain.length; i++) {
    const c = chain[i]!;
    if (c.authority !== null) {
      auth = c.authority;
      shadow = false;
    }
    if (c.shadow) shadow = true;
  }
  const base = auth ?? clientHost;
  return shadow ? shadowAuthority(base) : base;
}

function matches(chain: readonly Choice[], clientHost: string, block: MatchBlock, req: RequestLike): boolean {
  for (const h of block.headers) {
    const v = header(chain, req, h.name);
    if (v === undefined || !stringMatches(h.match, v)) return false;
  }
  for (const h of block.withoutHeaders) {
    const v = header(chain, req, h.name);
    if (v !== undefined && stringMatches(h.match, v)) return false;
  }
  if (block.authority && !stringMatches(block.authority, authority(chain, clientHost))) return false;
  if (block.uri && !stringMatches(block.uri, pathOf(req.url ?? "/"))) return false;
  if (block.method && !stringMatches(block.method, req.method ?? "GET")) return false;
  if (block.query && !queryMatches(block.query, req.url ?? "/")) return false;
  return true;
}

function ruleMatches(chain: readonly Choice[], clientHost: string, rule: Rule, req: RequestLike): boolean {
  if (rule.match.length === 0) return true;
  for (const block of rule.match) if (matches(chain, clientHost, block, req)) return true;
  return false;
}

function pick(split: Split, random: () => number): Choice | null {
  if (split.total <= 0) return null;
  const n = split.choices.length;
  if (n === 1) return split.choices[0]!;
  const r = random() * split.total;
  const cum = split.cumulative;
  for (let i = 0; i < n; i++) if (r < cum[i]!) return split.choices[i]!;
  return split.choices[n - 1]!;
}

/** The memoised Plan of a chain of choices (built once per distinct chain). */
function planFor(root: PlanNode, chain: readonly Choice[]): Plan {
  let node = root;
  for (const c of chain) {
    node.next ??= new Map();
    let child = node.next.get(c);
    if (!child) {
      child = { plan: null, next: null };
      node.next.set(c, child);
    }
    node = child;
  }
  node.plan ??= buildPlan(chain);
  return node.plan;
}

function buildPlan(chain: readonly Choice[]): Plan {
  const last = chain[chain.length - 1]!;
  const target = last.target;
  if (target.kind !== "upstream") throw new Error("internal: plan chain must end at an upstream");
  // Net effect of the operations in order: name -> values (set replaces, add appends, remove clears).
  const values = new Map<string, string[]>();
  const touched = new Set<string>();
  let authority: string | null = null;
  let shadow = false;
  let timeoutMs: number | null = null;
  for (const c of chain) {
    for (const op of c.headerOps) applyOp(values, touched, op);
    if (c.authority !== null) {
      authority = c.authority;
      shadow = false;
    }
    if (c.shadow) shadow = true;
    timeoutMs ??= c.timeoutMs;
  }
  const addHeaders: string[] = [];
  for (const [name, vs] of values) for (const v of vs) addHeaders.push(name, v);
  const revisionHeader = values.get(REVISION_HEADER)?.[0];
  const version = target.revision ? target.version! : (revisionHeader ?? target.version ?? target.host);
  return { upstream: target.upstream, version, addHeaders, touched, authority, shadow, timeoutMs };
}

function applyOp(values: Map<string, string[]>, touched: Set<string>, op: HeaderOp): void {
  if (op.kind === "set") {
    values.set(op.name, [op.value]);
    touched.add(op.name);
  } else if (op.kind === "remove") {
    values.delete(op.name);
    touched.add(op.name);
  } else {
    const list = values.get(op.name) ?? [];
    list.push(op.value);
    values.set(op.name, list);
  }
}

export function shadowAuthority(authority: string): string {
  // Istio/Envoy suffix the host part: "example.com:8080" -> "example.com-shadow:8080".
  const colon = portColon(authority);
  return colon < 0 ? `${authority}-shadow` : `${authority.slice(0, colon)}-shadow${authority.slice(colon)}`;
}

function portColon(authority: string): number {
  const colon = authority.lastIndexOf(":");
  if (colon < 0) return -1;
  const bracket = authority.lastIndexOf("]");
  return colon > bracket ? colon : -1;
}

function hostOnly(authority: string): string {
  const colon = portColon(authority);
  const h = colon < 0 ? authority : authority.slice(0, colon);
  return h.toLowerCase();
}

function lookupHost(index: VHostIndex, host: string): readonly Rule[] | null {
  const exact = index.exact.get(host);
  if (exact) return exact;
  for (const w of index.wildcard) if (host.endsWith(w.suffix)) return w.rules;
  return index.any;
}

function pathOf(url: string): string {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

function stringMatches(m: StringMatcher, v: string): boolean {
  switch (m.kind) {
    case "exact":
      return v === m.value;
    case "prefix":
      return v.startsWith(m.value);
    case "regex":
      return m.re.test(v);
  }
}

/** Every listed query parameter is present and its first value matches (Gateway API semantics). */
function queryMatches(query: NonNullable<MatchBlock["query"]>, url: string): boolean {
  const q = url.indexOf("?");
  const params = new URLSearchParams(q < 0 ? "" : url.slice(q + 1));
  for (const p of query) {
    const v = params.get(p.name);
    if (v === null || !stringMatches(p.match, v)) return false;
  }
  return true;
}
