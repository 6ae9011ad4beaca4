// The route table's data model: what the compiler (routes.ts and the traffic kinds in src/kinds/)
// produces and the resolver (resolve.ts) and data planes consult per request. Immutable once built;
// plus the few constructors every kind's compiler shares (choices, splits, the host index).

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
  /** Query parameters that must be present and match (Gateway API `queryParams`); absent: none. */
  readonly query?: ReadonlyArray<{ readonly name: string; readonly match: StringMatcher }>;
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
  /** Status answered when no choice has a weight above 0 (Gateway API: 500); absent: 503. */
  readonly emptyStatus?: number;
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

/** The header a route sets to name the Knative revision it targets; the router takes it as the version label. */
export const REVISION_HEADER = "knative-serving-revision";

/** A compiled rule and where it applies: hosts (exact, `*.suffix` or `*`) and gateways. */
export interface RuleDraft {
  readonly rule: Rule;
  readonly hosts: readonly string[];
  readonly gateways: readonly string[];
}

export function choice(
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

export function makeSplit(choices: Choice[], emptyStatus?: number): Split {
  const cumulative: number[] = [];
  let total = 0;
  for (const c of choices) {
    total += c.weight;
    cumulative.push(total);
  }
  return emptyStatus === undefined
    ? { cumulative, choices, total }
    : { cumulative, choices, total, emptyStatus };
}

/** Rules by host, in draft order (the first matching rule of a host wins). */
export function buildIndex(drafts: readonly RuleDraft[]): VHostIndex {
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
