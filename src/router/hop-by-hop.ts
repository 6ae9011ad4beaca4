// The connection-specific header fields a proxy never forwards, in a module of their own with no
// imports, so the route compiler and the engines' header rules can share it without tying the two.

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
