// Load options as callers give them, and their validated, normalised form (including the request
// bytes, built once and written as-is on every request).

import { Buffer } from "node:buffer";
import { parseDuration } from "./duration.ts";

export interface LoadOptions {
  /** Target URL: http:// or https:// (certificates verified unless `insecure`). */
  url: string;
  /** https: skip certificate verification (self-signed test servers). */
  insecure?: boolean;
  /** https: trust these CA certificates (PEM) instead of the system's. */
  ca?: string | Uint8Array;
  /** HTTP method; default GET, or POST when a body is given (Fortio's rule). */
  method?: string;
  /** Extra request headers; later entries with the same name replace earlier ones (case-insensitive). */
  headers?: Record<string, string> | Array<[string, string]>;
  /** Request body. */
  body?: string | Uint8Array;
  /** Content-Type for the body. */
  contentType?: string;
  /** Requests per second over all connections; 0 = as fast as possible. Default 8 (Fortio's). */
  qps?: number;
  /** How long to send, in ms or as a Go duration string ("10s"). */
  duration?: number | string;
  /** How many requests to send in total. Wins over `duration` when both are given (Fortio's rule). */
  requests?: number;
  /** Parallel keep-alive connections. Default 4 (Fortio's). */
  connections?: number;
  /** Per-request timeout, in ms or as a duration string. Default 10 s. */
  timeout?: number | string;
  /** How often `onProgress` is called, in ms. Default 1000. */
  progressIntervalMs?: number;
}

/** Invalid load options; the message names the field. */
export class LoadOptionsError extends Error {
  override readonly name = "LoadOptionsError";
}

/** How to speak TLS to an https:// target; null for http://. */
export interface TlsSettings {
  servername: string;
  rejectUnauthorized: boolean;
  ca?: string | Buffer;
}

export interface NormalizedLoadOptions {
  url: string;
  tls: TlsSettings | null;
  host: string;
  port: number;
  method: string;
  /** HEAD responses carry no body even when they announce a length. */
  noResponseBody: boolean;
  /** Methods that may be retried once after a keep-alive race (RFC 9110 §9.2.2). */
  idempotent: boolean;
  request: Buffer;
  qps: number;
  durationMs: number | null;
  requests: number | null;
  connections: number;
  timeoutMs: number;
  progressIntervalMs: number;
}

export const DEFAULT_QPS = 8;
export const DEFAULT_CONNECTIONS = 4;
export const DEFAULT_TIMEOUT_MS = 10_000;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);
// Framing is ours to decide: letting callers set these would desynchronise the connection.
const RESERVED = new Set(["content-length", "transfer-encoding", "connection"]);

export function normalizeLoadOptions(opts: LoadOptions): NormalizedLoadOptions {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    throw new LoadOptionsError(`url: not a valid URL: ${JSON.stringify(opts.url)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new LoadOptionsError(`url: only http:// and https:// URLs are supported, got ${url.protocol}//`);
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const https = url.protocol === "https:";
  const port = url.port === "" ? (https ? 443 : 80) : Number(url.port);
  if (!https && (opts.insecure || opts.ca !== undefined))
    throw new LoadOptionsError("insecure, ca: only for https:// URLs");
  const tls: TlsSettings | null = https
    ? {
        servername: host,
        rejectUnauthorized: !opts.insecure,
        ...(opts.ca === undefined
          ? {}
          : { ca: typeof opts.ca === "string" ? opts.ca : Buffer.from(opts.ca) }),
      }
    : null;

  const body =
    opts.body === undefined
      ? null
      : typeof opts.body === "string"
        ? Buffer.from(opts.body)
        : Buffer.from(opts.body);
  const method = (opts.method ?? (body !== null ? "POST" : "GET")).toUpperCase();
  if (!TOKEN.test(method))
    throw new LoadOptionsError(`method: invalid HTTP method ${JSON.stringify(opts.method)}`);

  const qps = opts.qps ?? DEFAULT_QPS;
  if (!Number.isFinite(qps) || qps < 0)
    throw new LoadOptionsError(`qps: must be a number ≥ 0, got ${opts.qps}`);
  const connections = opts.connections ?? DEFAULT_CONNECTIONS;
  if (!Number.isInteger(connections) || connections < 1 || connections > 10_000) {
    throw new LoadOptionsError(`connections: must be an integer from 1 to 10000, got ${opts.connections}`);
  }
  let requests: number | null = null;
  if (opts.requests !== undefined) {
    if (!Number.isInteger(opts.requests) || opts.requests < 1) {
      throw new LoadOptionsError(`requests: must be a positive integer, got ${opts.requests}`);
    }
    requests = opts.requests;
  }
  let durationMs: number | null = null;
  if (opts.duration !== undefined && requests === null) {
    durationMs = toMs(opts.duration, "duration");
    if (!(durationMs > 0)) throw new LoadOptionsError(`duration: must be positive, got ${opts.duration}`);
  }
  const timeoutMs = opts.timeout === undefined ? DEFAULT_TIMEOUT_MS : toMs(opts.timeout, "timeout");
  if (!(timeoutMs > 0)) throw new LoadOptionsError(`timeout: must be positive, got ${opts.timeout}`);
  const progressIntervalMs = opts.progressIntervalMs ?? 1000;
  if (!(progressIntervalMs >= 10)) {
    throw new LoadOptionsError(`progressIntervalMs: must be at least 10, got ${opts.progressIntervalMs}`);
  }

  const request = buildRequest(url, method, opts.headers, body, opts.contentType);
  return {
    url: url.href,
    tls,
    host,
    port,
    method,
    noResponseBody: method === "HEAD",
    idempotent: IDEMPOTENT.has(method),
    request,
    qps,
    durationMs,
    requests,
    connections,
    timeoutMs,
    progressIntervalMs,
  };
}

function toMs(value: number | string, field: string): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new LoadOptionsError(`${field}: must be a finite number of ms`);
    return value;
  }
  try {
    return parseDuration(value, field);
  } catch (err) {
    throw new LoadOptionsError((err as Error).message);
  }
}

function buildRequest(
  url: URL,
  method: string,
  headers: LoadOptions["headers"],
  body: Buffer | null,
  contentType: string | undefined,
): Buffer {
  // Ordered map keyed by lower-case name; the caller's spelling of the name is kept on the wire.
  const fields = new Map<string, [string, string]>();
  fields.set("host", ["Host", url.host]);
  fields.set("user-agent", ["User-Agent", "iter8-load/0.1"]);
  fields.set("accept", ["Accept", "*/*"]);
  if (contentType !== undefined) fields.set("content-type", ["Content-Type", contentType]);
  const entries = headers === undefined ? [] : Array.isArray(headers) ? headers : Object.entries(headers);
  for (const [name, value] of entries) {
    if (!TOKEN.test(name)) throw new LoadOptionsError(`headers: invalid header name ${JSON.stringify(name)}`);
    if (/[\r\n\0]/.test(value))
      throw new LoadOptionsError(`headers: value of ${name} contains CR, LF or NUL`);
    const key = name.toLowerCase();
    if (RESERVED.has(key)) throw new LoadOptionsError(`headers: ${name} is set by the load generator`);
    fields.set(key, [name, value.trim()]);
  }
  if (body !== null || method === "POST" || method === "PUT" || method === "PATCH") {
    fields.set("content-length", ["Content-Length", String(body?.length ?? 0)]);
  }
  const target = url.pathname + url.search;
  let head = `${method} ${target} HTTP/1.1\r\n`;
  for (const [name, value] of fields.values()) head += `${name}: ${value}\r\n`;
  head += "\r\n";
  const headBytes = Buffer.from(head, "latin1");
  return body === null ? headBytes : Buffer.concat([headBytes, body]);
}
