// What every traffic kind's compiler shares while a route table is built: the problems found so far
// (each named by the object and field), the `upstreams` map, the gateway hosts, the version labels,
// and resolving a destination host (a gateway service, an upstream, or a name a kind registered, such
// as a Knative Service or revision) to a Target. Pure: no I/O.

import { isRecord, type Obj } from "../lib/objects.ts";
import { HOP_BY_HOP_NAMES } from "./hop-by-hop.ts";
import {
  type HeaderOp,
  REVISION_HEADER,
  type RouteIssue,
  type StringMatcher,
  type Target,
  type Upstream,
} from "./table.ts";

/** Gateway names (namespace/name) the client's requests enter through. */
export const ENTRY_GATEWAYS: readonly string[] = ["mesh", "knative-serving/knative-ingress-gateway"];

/** Service hosts that are Istio gateways, so routing to them re-enters the router. */
export const DEFAULT_GATEWAY_HOSTS: Readonly<Record<string, string>> = {
  "knative-local-gateway.istio-system.svc.cluster.local": "knative-serving/knative-local-gateway",
  "istio-ingressgateway.istio-system.svc.cluster.local": "knative-serving/knative-ingress-gateway",
};

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const HEADER_NAME = /^:?[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export { isRecord, type Obj } from "../lib/objects.ts";

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `metadata.name` and `metadata.namespace` (default "default") of an object. */
export function objectName(obj: Obj): { name: unknown; namespace: string } {
  const meta = isRecord(obj["metadata"]) ? obj["metadata"] : {};
  const ns = meta["namespace"];
  return { name: meta["name"], namespace: typeof ns === "string" && ns ? ns : "default" };
}

/**
 * A name a kind answers for when it appears as a destination host (`name` in `namespace`): a Target,
 * null when it is that kind's but unusable (the issue is reported), undefined when it is not.
 */
export type HostResolver = (name: string, namespace: string, path: string) => Target | null | undefined;

/** A request header operation or an authority rewrite, validated; null when invalid (reported). */
export type HeaderEdit = { op: HeaderOp } | { authority: string } | null;

export class CompileContext {
  readonly issues: RouteIssue[] = [];
  readonly versions = new Set<string>();
  /** Gateway names that gateway hosts re-enter through. */
  readonly gatewayHosts = new Map<string, string>();
  readonly #upstreamByKey = new Map<string, Upstream>();
  readonly #upstreamMap = new Map<string, Upstream>();
  readonly #resolvers: HostResolver[] = [];
  /** The object being compiled ("VirtualService default/name"), prefixed to its issues. */
  object: string | undefined;

  constructor(upstreams: Record<string, string>) {
    this.#readUpstreams(upstreams);
  }

  issue(path: string, message: string): void {
    this.issues.push(this.object ? { path, message, object: this.object } : { path, message });
  }

  /** Runs `fn` with issues attributed to `object`, restoring the previous attribution after. */
  within<T>(object: string | undefined, fn: () => T): T {
    const saved = this.object;
    this.object = object;
    try {
      return fn();
    } finally {
      this.object = saved;
    }
  }

  get upstreams(): Upstream[] {
    return [...this.#upstreamByKey.values()];
  }

  /** The upstream mapped to a destination name (lower-cased), if any. */
  upstream(name: string): Upstream | undefined {
    return this.#upstreamMap.get(name.toLowerCase());
  }

  addHostResolver(resolver: HostResolver): void {
    this.#resolvers.push(resolver);
  }

  /**
   * A destination host (`name`, `name.ns`, `name.ns.svc[.cluster.local]`, any host in upstreams) ->
   * Target. `ops` are the header operations on the way, so a route that sets Knative-Serving-Revision
   * labels its requests with that revision.
   */
  destination(
    host: string,
    port: number | null,
    namespace: string,
    ops: readonly HeaderOp[],
    path: string,
  ): Target | null {
    const h = host.toLowerCase();
    const gw = this.gatewayHosts.get(h);
    if (gw) return { kind: "gateway", gateway: gw };
    const direct =
      (port !== null ? this.#upstreamMap.get(`${h}:${port}`) : undefined) ?? this.#upstreamMap.get(h);
    if (direct) {
      let version: string | null = null;
      for (const op of ops) if (op.kind === "set" && op.name === REVISION_HEADER) version = op.value;
      this.versions.add(version ?? h);
      return { kind: "upstream", upstream: direct, version, revision: false, host: h };
    }
    const svc = serviceName(h, namespace);
    if (svc) {
      for (const resolve of this.#resolvers) {
        const t = resolve(svc.name, svc.namespace, path);
        if (t !== undefined) return t;
      }
    }
    this.issue(path, `unknown upstream host "${host}": not in upstreams, not a Knative Service or revision`);
    return null;
  }

  /** A matcher for `value`; `regex` must match the whole value (as Envoy's safe_regex does). */
  matcher(
    kind: "exact" | "prefix" | "regex",
    value: string,
    ignoreCase: boolean,
    path: string,
  ): StringMatcher | null {
    if (kind === "regex") {
      try {
        return { kind, re: new RegExp(`^(?:${value})$`, ignoreCase ? "i" : "") };
      } catch (err) {
        this.issue(path, `invalid regular expression: ${(err as Error).message}`);
        return null;
      }
    }
    if (ignoreCase)
      return { kind: "regex", re: new RegExp(`^${escapeRegExp(value)}${kind === "prefix" ? "" : "$"}`, "i") };
    return { kind, value };
  }

  /** Validates one request header `set`/`add`; setting Host (or :authority) rewrites the authority. */
  headerEdit(kind: "set" | "add", name: unknown, value: unknown, path: string): HeaderEdit {
    if (typeof name !== "string" || !HEADER_NAME.test(name)) this.issue(path, "invalid header name");
    else if (typeof value !== "string" || /[\r\n\0]/.test(value))
      this.issue(path, "must be a string without line breaks");
    else if (HOP_BY_HOP_NAMES.has(name.toLowerCase())) this.issue(path, "hop-by-hop headers cannot be set");
    else if (name.toLowerCase() === "host" || name.toLowerCase() === ":authority")
      return { authority: value };
    else return { op: { kind, name: name.toLowerCase(), value } };
    return null;
  }

  /** Validates one header name to remove. */
  headerRemoval(name: unknown, path: string): HeaderOp | null {
    if (typeof name !== "string" || !HEADER_NAME.test(name)) {
      this.issue(path, "invalid header name");
      return null;
    }
    return { kind: "remove", name: name.toLowerCase() };
  }

  /** The header names of a `remove` list, validated; [] when absent or not a list (reported). */
  headerRemovals(raw: unknown, path: string): HeaderOp[] {
    if (raw === undefined) return [];
    if (!Array.isArray(raw)) {
      this.issue(path, "must be a list of header names");
      return [];
    }
    return raw.flatMap((name, i) => this.headerRemoval(name, `${path}[${i}]`) ?? []);
  }

  /** `value` when it is an integer in min..max (a weight, a percent, a port); else reported, undefined. */
  integer(value: unknown, path: string, min: number, max: number): number | undefined {
    if (Number.isInteger(value) && (value as number) >= min && (value as number) <= max)
      return value as number;
    this.issue(path, `must be an integer ${min}..${max}`);
    return undefined;
  }

  /** Reports every key of `obj` not in `allowed` as unsupported by the local router. */
  onlyKeys(obj: Obj, allowed: readonly string[], path: string, hint?: string): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key))
        this.issue(
          path === "" ? key : `${path}.${key}`,
          `not supported by the local router${hint === "" ? "" : ` (${hint ?? `supported: ${allowed.join(", ")}`})`}`,
        );
    }
  }

  #readUpstreams(upstreams: Record<string, string>): void {
    for (const [host, gw] of Object.entries(DEFAULT_GATEWAY_HOSTS)) this.gatewayHosts.set(host, gw);
    if (!isRecord(upstreams)) {
      this.issue("upstreams", "must be a mapping of destination host or revision name to HOST:PORT");
      return;
    }
    for (const [rawKey, value] of Object.entries(upstreams)) {
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
      let up = this.#upstreamByKey.get(addr.key);
      if (!up) {
        up = addr;
        this.#upstreamByKey.set(addr.key, up);
      }
      this.gatewayHosts.delete(key);
      this.#upstreamMap.set(key, up);
    }
  }
}

/** `name`, `name.ns`, `name.ns.svc`, `name.ns.svc.cluster.local` -> {name, namespace}. */
export function serviceName(
  host: string,
  defaultNamespace: string,
): { name: string; namespace: string } | null {
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
