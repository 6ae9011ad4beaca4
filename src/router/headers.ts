// The header rules of the proxy hop, written once for both engines: which fields are connection-specific
// (RFC 9110 §7.6.1) and never forwarded, which fields Connection may not remove (the framing and the
// target: Content-Length, Transfer-Encoding, Host), and the request headers sent upstream (the route's
// operations applied, X-Forwarded-* added). The engines append the framing they actually use themselves,
// so a forwarded message always carries exactly one length or one chunked coding, never the client's or
// the upstream's copy of it (request smuggling through `Connection: content-length` or duplicates).

import type { Plan } from "./dataplane.ts";
import { HOP_BY_HOP_NAMES } from "./hop-by-hop.ts";
import { shadowAuthority } from "./resolve.ts";

export { HOP_BY_HOP_NAMES };

/** Fields that frame the message or name its target: a Connection header can never remove them. */
const PROTECTED_NAMES: ReadonlySet<string> = new Set(["content-length", "transfer-encoding", "host"]);

export interface ConnectionTokens {
  readonly close: boolean;
  readonly keepAlive: boolean;
  /** Further field names listed (lower case), minus the protected ones; null when none. */
  readonly listed: ReadonlySet<string> | null;
}

const NO_TOKENS: ConnectionTokens = { close: false, keepAlive: false, listed: null };

/** `v` without the optional whitespace (spaces, tabs) HTTP allows around a field value. */
export function trimOws(v: string): string {
  let a = 0;
  let b = v.length;
  while (a < b && (v.charCodeAt(a) === 0x20 || v.charCodeAt(a) === 0x09)) a++;
  while (b > a && (v.charCodeAt(b - 1) === 0x20 || v.charCodeAt(b - 1) === 0x09)) b--;
  return a === 0 && b === v.length ? v : v.slice(a, b);
}

/** The tokens of a Connection field value (all Connection lines joined with ", "), or of none (null). */
export function connectionTokens(value: string | null): ConnectionTokens {
  if (value === null) return NO_TOKENS;
  let close = false;
  let keepAlive = false;
  let listed: Set<string> | null = null;
  for (const raw of value.split(",")) {
    const t = trimOws(raw).toLowerCase();
    if (t === "" || PROTECTED_NAMES.has(t)) continue;
    if (t === "close") close = true;
    else if (t === "keep-alive") keepAlive = true;
    else {
      listed ??= new Set();
      listed.add(t);
    }
  }
  return { close, keepAlive, listed };
}

/** Connection tokens of node-style raw headers [name, value, ...] (names in any case). */
export function connectionTokensOf(raw: readonly string[]): ConnectionTokens {
  let value: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === 10 && n.toLowerCase() === "connection")
      value = value === null ? raw[i + 1]! : `${value}, ${raw[i + 1]}`;
  }
  return connectionTokens(value);
}

/** True for a field that belongs to one hop only (hop-by-hop, or listed in Connection). */
export function isConnectionSpecific(lowerName: string, listed: ReadonlySet<string> | null): boolean {
  return HOP_BY_HOP_NAMES.has(lowerName) || listed?.has(lowerName) === true;
}

/** How the router frames the body it sends: a length (also 0), chunked, or nothing at all. */
export type Framing = { readonly length: number } | "chunked" | null;

export interface ForwardedRequest {
  /** The client's fields [name, value, ...] (names in any case). */
  readonly fields: readonly string[];
  readonly listed: ReadonlySet<string> | null;
  /** The authority the client asked for (absolute-form target's, else Host), "" when none. */
  readonly authority: string;
  readonly clientAddress: string;
  readonly framing: Framing;
}

/**
 * Request fields for the upstream hop, flat [name, value, ...]: connection-specific fields, the client's
 * framing and Host, and the fields the route sets or removes are dropped; then Host (the route's authority
 * or the client's, "-shadow" for a mirror), X-Forwarded-For/-Proto/-Host, the route's fields, and the
 * router's own framing are appended.
 */
export function forwardRequestFields(req: ForwardedRequest, plan: Plan): string[] {
  const raw = req.fields;
  const touched = plan.touched;
  const out: string[] = [];
  let xff: string | null = null;
  let xfp = false;
  let xfh = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (isConnectionSpecific(lower, req.listed) || PROTECTED_NAMES.has(lower)) continue;
    if (touched.size > 0 && touched.has(lower)) continue;
    const value = raw[i + 1]!;
    if (lower === "x-forwarded-for") {
      xff = xff === null ? value : `${xff}, ${value}`;
      continue;
    }
    if (lower === "x-forwarded-proto") xfp = true;
    else if (lower === "x-forwarded-host") xfh = true;
    out.push(name, value);
  }
  let authority = plan.authority ?? req.authority;
  if (plan.shadow) authority = shadowAuthority(authority);
  out.push("host", authority);
  const client = req.clientAddress;
  out.push("x-forwarded-for", xff === null ? client : `${xff}, ${client}`);
  if (!xfp) out.push("x-forwarded-proto", "http");
  if (!xfh && req.authority !== "") out.push("x-forwarded-host", req.authority);
  const add = plan.addHeaders;
  for (let i = 0; i < add.length; i++) out.push(add[i]!);
  pushFraming(out, req.framing);
  return out;
}

/**
 * Response fields for the client hop, flat [name, value, ...]: connection-specific fields and the
 * upstream's framing (Content-Length, Transfer-Encoding) dropped, the router's own framing appended.
 */
export function forwardResponseFields(
  raw: readonly string[],
  listed: ReadonlySet<string> | null,
  framing: Framing,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (isConnectionSpecific(lower, listed) || lower === "content-length") continue;
    out.push(name, raw[i + 1]!);
  }
  pushFraming(out, framing);
  return out;
}

function pushFraming(out: string[], framing: Framing): void {
  if (framing === "chunked") out.push("transfer-encoding", "chunked");
  else if (framing !== null) out.push("content-length", String(framing.length));
}

/** `name: value\r\n` lines of flat fields (latin1 text, as read). */
export function fieldLines(fields: readonly string[]): string {
  let out = "";
  for (let i = 0; i < fields.length; i += 2) out += `${fields[i]}: ${fields[i + 1]}\r\n`;
  return out;
}
