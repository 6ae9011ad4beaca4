// Minimal, strict HTTP/1.1 message framing for the router's data path (RFC 9112): parse request and
// response heads, and find where a chunked body ends without changing its bytes. Pure functions over
// strings and Buffers; the proxy forwards bodies verbatim, so this is all the parsing it does. Where a
// choice exists it is as strict as Node's llhttp parser (no bare LF, no whitespace after a chunk size,
// trailers as strict as header fields), so no downstream parser can find a message boundary elsewhere.

import { connectionTokens, trimOws } from "./headers.ts";

export const BODY_NONE = 0;
export const BODY_LENGTH = 1;
export const BODY_CHUNKED = 2;
/** Response only: the body runs until the upstream closes the connection. */
export const BODY_UNTIL_CLOSE = 3;

export interface RequestHead {
  readonly method: string;
  readonly target: string;
  /** HTTP/1.x minor version (0 or 1). */
  readonly minor: number;
  /** [lower-case name, value, ...] in arrival order. */
  readonly headers: string[];
  readonly bodyKind: number;
  readonly contentLength: number;
  /** Whether the client wants the connection kept open after this exchange. */
  readonly keepAlive: boolean;
  /** Extra connection-specific header names listed in Connection (lower case), or null. */
  readonly connectionListed: ReadonlySet<string> | null;
  /** The authority asked for: an absolute-form target's own (then also in `headers`), else Host. */
  readonly host: string | null;
  /** The Content-Length the client declared (also 0), or -1. */
  readonly declaredLength: number;
}

export interface ResponseHead {
  readonly status: number;
  readonly reason: string;
  readonly minor: number;
  readonly headers: string[];
  readonly bodyKind: number;
  readonly contentLength: number;
  /** The upstream will close (or wants closed) the connection after this response. */
  readonly close: boolean;
  readonly connectionListed: ReadonlySet<string> | null;
  /** The Content-Length the upstream declared (also for HEAD and 304 answers), or -1. */
  readonly declaredLength: number;
}

export interface HeadError {
  readonly error: true;
  readonly status: number;
  readonly message: string;
}

function fail(status: number, message: string): HeadError {
  return { error: true, status, message };
}

export function isHeadError(x: unknown): x is HeadError {
  return x !== null && (x as HeadError).error === true;
}

// RFC 9110 token characters.
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TCHAR[c.charCodeAt(0)] = 1;

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || TCHAR[c] === 0) return false;
  }
  return true;
}

function hasBadValueChar(v: string): boolean {
  // CR and LF are impossible here (the head is split on CRLF, bare ones are rejected); NUL and other
  // controls but HTAB are not allowed in field values.
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

/** A URI has no raw bytes outside printable ASCII (RFC 3986); llhttp refuses them in a target too. */
function isVisibleAscii(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

const DIGITS = /^\d{1,15}$/;

interface Fields {
  headers: string[];
  contentLength: number;
  hasContentLength: boolean;
  transferEncoding: string | null;
  connection: string | null;
  host: string | null;
}

/** Parse header lines [from, end) of `head` (lines separated by CRLF). */
function parseFields(head: string, from: number): Fields | HeadError {
  const headers: string[] = [];
  let contentLength = -1;
  let hasContentLength = false;
  let transferEncoding: string | null = null;
  let connection: string | null = null;
  let host: string | null = null;
  let pos = from;
  const end = head.length;
  while (pos < end) {
    let eol = head.indexOf("\r\n", pos);
    if (eol < 0) eol = end;
    const first = head.charCodeAt(pos);
    if (first === 0x20 || first === 0x09) return fail(400, "obsolete line folding in header");
    const colon = head.indexOf(":", pos);
    if (colon < 0 || colon > eol) return fail(400, "header line without colon");
    const name = head.slice(pos, colon);
    if (!isToken(name)) return fail(400, `invalid header name ${JSON.stringify(name)}`);
    const value = trimOws(head.slice(colon + 1, eol));
    if (hasBadValueChar(value)) return fail(400, `invalid character in header ${name}`);
    const lower = name.toLowerCase();
    headers.push(lower, value);
    switch (lower) {
      case "content-length": {
        if (!DIGITS.test(value)) return fail(400, "invalid Content-Length");
        const n = Number(value);
        if (hasContentLength && n !== contentLength) return fail(400, "conflicting Content-Length headers");
        contentLength = n;
        hasContentLength = true;
        break;
      }
      case "transfer-encoding":
        transferEncoding = transferEncoding === null ? value : `${transferEncoding}, ${value}`;
        break;
      case "connection":
        connection = connection === null ? value : `${connection}, ${value}`;
        break;
      case "host":
        if (host !== null) return fail(400, "more than one Host header");
        host = value;
        break;
    }
    pos = eol + 2;
  }
  return { headers, contentLength, hasContentLength, transferEncoding, connection, host };
}

/** True when the last transfer coding is chunked; null when the field is malformed. */
function chunkedLast(te: string): boolean | null {
  const parts = te.split(",");
  let last = "";
  for (const p of parts) {
    const t = trimOws(p).toLowerCase();
    if (t === "") continue;
    if (last === "chunked") return null; // chunked must be the final coding and appear once
    last = t;
  }
  if (last === "") return null;
  return last === "chunked";
}

const bareLineBreak = /\r(?!\n)|(?<!\r)\n/;

/** Parse a request head (everything before the blank line, without it). */
export function parseRequestHead(head: string): RequestHead | HeadError {
  if (bareLineBreak.test(head)) return fail(400, "bare CR or LF in request head");
  let eol = head.indexOf("\r\n");
  if (eol < 0) eol = head.length;
  const sp1 = head.indexOf(" ");
  const sp2 = sp1 < 0 ? -1 : head.indexOf(" ", sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || sp2 > eol) return fail(400, "malformed request line");
  const method = head.slice(0, sp1);
  const target = head.slice(sp1 + 1, sp2);
  const version = head.slice(sp2 + 1, eol);
  if (!isToken(method)) return fail(400, "invalid method");
  if (!isVisibleAscii(target)) return fail(400, "invalid request target");
  let minor: number;
  if (version === "HTTP/1.1") minor = 1;
  else if (version === "HTTP/1.0") minor = 0;
  else if (/^HTTP\/\d\.\d$/.test(version)) return fail(505, "HTTP version not supported");
  else return fail(400, "malformed request line");
  if (method === "CONNECT") return fail(501, "CONNECT is not supported");
  const f = parseFields(head, eol + 2);
  if (isHeadError(f)) return f;
  if (minor === 1 && f.host === null) return fail(400, "missing Host header");
  // An absolute-form target names the authority itself, and Host is then ignored (RFC 9112 §3.2.2):
  // route and forward by it, in origin form, as every hop after this one expects.
  const absolute = splitAbsoluteForm(target);
  if (isHeadError(absolute)) return absolute;
  let host = f.host;
  let originTarget = target;
  if (absolute !== null) {
    host = absolute.authority;
    originTarget = absolute.path;
    const at = f.headers.indexOf("host");
    if (at >= 0 && at % 2 === 0) f.headers[at + 1] = host;
    else f.headers.push("host", host);
  }
  let bodyKind = BODY_NONE;
  let contentLength = 0;
  if (f.transferEncoding !== null) {
    if (f.hasContentLength) return fail(400, "both Transfer-Encoding and Content-Length");
    if (minor === 0) return fail(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (chunkedLast(f.transferEncoding) !== true) return fail(400, "unsupported Transfer-Encoding");
    bodyKind = BODY_CHUNKED;
  } else if (f.hasContentLength && f.contentLength > 0) {
    bodyKind = BODY_LENGTH;
    contentLength = f.contentLength;
  }
  const c = connectionTokens(f.connection);
  const keepAlive = minor === 1 ? !c.close : c.keepAlive && !c.close;
  return {
    method,
    target: originTarget,
    minor,
    headers: f.headers,
    bodyKind,
    contentLength,
    keepAlive,
    connectionListed: c.listed,
    host,
    declaredLength: f.hasContentLength ? f.contentLength : -1,
  };
}

const AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&'()*+,;=-]+)(?::\d*)?$/;

/**
 * `http://authority/path?q` -> {authority, path: "/path?q"}; null for any other form (origin form,
 * `*`); an error for an absolute target without a usable authority (empty, with user info, bad chars).
 */
export function splitAbsoluteForm(target: string): { authority: string; path: string } | null | HeadError {
  const c = target.charCodeAt(0);
  if (c === 0x2f || c === 0x2a) return null; // "/" or "*"
  const m = /^(https?):\/\/([^/?#]*)(.*)$/i.exec(target);
  if (!m) return fail(400, "invalid request target");
  const authority = m[2]!;
  if (authority === "" || !AUTHORITY.test(authority)) return fail(400, "invalid authority in request target");
  const rest = m[3]!;
  return { authority, path: rest === "" ? "/" : rest.startsWith("?") ? `/${rest}` : rest };
}

/** Parse a response head; `method` is the request's (HEAD responses have no body). */
export function parseResponseHead(head: string, method: string): ResponseHead | HeadError {
  if (bareLineBreak.test(head)) return fail(502, "bare CR or LF in response head");
  let eol = head.indexOf("\r\n");
  if (eol < 0) eol = head.length;
  const line = head.slice(0, eol);
  const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(line);
  if (!m) return fail(502, "malformed status line from upstream");
  const minor = Number(m[1]);
  const status = Number(m[2]);
  const reason = m[3] ?? "";
  if (status < 100) return fail(502, "invalid status code from upstream");
  if (hasBadValueChar(reason)) return fail(502, "invalid character in the upstream's reason phrase");
  const f = parseFields(head, eol + 2);
  if (isHeadError(f)) return fail(502, `upstream: ${f.message}`);
  const c = connectionTokens(f.connection);
  let close = minor === 1 ? c.close : !c.keepAlive || c.close;
  let bodyKind = BODY_NONE;
  let contentLength = 0;
  if (method === "HEAD" || status < 200 || status === 204 || status === 304) {
    bodyKind = BODY_NONE;
  } else if (f.transferEncoding !== null) {
    const chunked = chunkedLast(f.transferEncoding);
    if (chunked === null) return fail(502, "malformed Transfer-Encoding from upstream");
    if (chunked) bodyKind = BODY_CHUNKED;
    else {
      bodyKind = BODY_UNTIL_CLOSE;
      close = true;
    }
  } else if (f.hasContentLength) {
    bodyKind = f.contentLength > 0 ? BODY_LENGTH : BODY_NONE;
    contentLength = f.contentLength;
  } else {
    bodyKind = BODY_UNTIL_CLOSE;
    close = true;
  }
  return {
    status,
    reason,
    minor,
    headers: f.headers,
    bodyKind,
    contentLength,
    close,
    connectionListed: c.listed,
    declaredLength: f.hasContentLength ? f.contentLength : -1,
  };
}

// ---- chunked bodies ------------------------------------------------------------------------------------

// States of the chunked scanner. Grammar (RFC 9112 §7.1, no whitespace allowed, as llhttp's strict mode):
//   chunk      = 1*HEXDIG *( ";" token [ "=" ( token / quoted-string ) ] ) CRLF data CRLF
//   last-chunk = 1*"0" (extensions) CRLF *( field-name ":" OWS field-value CRLF ) CRLF
const S_SIZE = 0;
const S_EXT_NAME_START = 1;
const S_EXT_NAME = 2;
const S_EXT_VALUE_START = 3;
const S_EXT_VALUE = 4;
const S_EXT_QUOTED = 5;
const S_EXT_QUOTED_PAIR = 6;
const S_EXT_AFTER_QUOTED = 7;
const S_SIZE_LF = 8;
const S_DATA = 9;
const S_DATA_CR = 10;
const S_DATA_LF = 11;
const S_TRAILER_START = 12;
const S_TRAILER_NAME = 13;
const S_TRAILER_VALUE = 14;
const S_TRAILER_LF = 15;
const S_END_LF = 16;
const S_DONE = 17;

const MAX_CHUNK_SIZE = 2 ** 48;
const MAX_EXTENSIONS = 4096;
const MAX_TRAILERS = 16384;

function isTchar(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}

/** Field-value and quoted-string octets: HTAB, SP, VCHAR, obs-text (no other controls, no DEL). */
function isFieldChar(c: number): boolean {
  return c === 0x09 || (c >= 0x20 && c !== 0x7f);
}

/**
 * Incremental scanner of a chunked body: feed it the bytes as they come; it says where the message ends.
 * The bytes themselves are forwarded unchanged, which is safe only because anything another parser
 * could read differently (bare LF, whitespace, junk after a size, a trailer without a colon) is refused.
 */
export class ChunkedScanner {
  private state = S_SIZE;
  private size = 0;
  private digits = 0;
  private remaining = 0;
  /** Bytes of chunk extensions on this line, or of the trailer section. */
  private lineLength = 0;
  /** Set when the body is malformed. */
  error: string | null = null;

  reset(): void {
    this.state = S_SIZE;
    this.size = 0;
    this.digits = 0;
    this.remaining = 0;
    this.lineLength = 0;
    this.error = null;
  }

  get done(): boolean {
    return this.state === S_DONE;
  }

  /**
   * Scan buf[from, to). Returns the offset just past the end of the body if it ends inside, -1 if more
   * bytes are needed, -2 on a framing error (see `error`).
   */
  scan(buf: Buffer, from: number, to: number): number {
    let i = from;
    while (i < to) {
      const state = this.state;
      if (state === S_DATA) {
        const n = Math.min(this.remaining, to - i);
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = S_DATA_CR;
        continue;
      }
      if (state === S_DONE) return i;
      const next = this.step(state, buf[i]!);
      if (next < 0) return -2;
      this.state = next;
      i++;
      if (next === S_DONE) return i;
    }
    return -1;
  }

  /** One byte outside chunk data: the next state, or -1 (with `error` set). */
  private step(state: number, c: number): number {
    switch (state) {
      case S_SIZE:
        return this.sizeByte(c);
      case S_EXT_NAME_START:
        if (!isTchar(c)) return this.fail("invalid chunk extension name");
        return this.extByte(S_EXT_NAME);
      case S_EXT_NAME:
        if (isTchar(c)) return this.extByte(S_EXT_NAME);
        if (c === 0x3d) return this.extByte(S_EXT_VALUE_START);
        return this.afterExtension(c);
      case S_EXT_VALUE_START:
        if (c === 0x22) return this.extByte(S_EXT_QUOTED);
        if (isTchar(c)) return this.extByte(S_EXT_VALUE);
        return this.fail("invalid chunk extension value");
      case S_EXT_VALUE:
        if (isTchar(c)) return this.extByte(S_EXT_VALUE);
        return this.afterExtension(c);
      case S_EXT_QUOTED:
        if (c === 0x22) return this.extByte(S_EXT_AFTER_QUOTED);
        if (c === 0x5c) return this.extByte(S_EXT_QUOTED_PAIR);
        if (isFieldChar(c)) return this.extByte(S_EXT_QUOTED);
        return this.fail("invalid character in a quoted chunk extension");
      case S_EXT_QUOTED_PAIR:
        if (isFieldChar(c)) return this.extByte(S_EXT_QUOTED);
        return this.fail("invalid character in a quoted chunk extension");
      case S_EXT_AFTER_QUOTED:
        return this.afterExtension(c);
      case S_SIZE_LF:
        return this.sizeLineEnd(c);
      case S_DATA_CR:
        return c === 0x0d ? S_DATA_LF : this.fail("expected CRLF after chunk data");
      case S_DATA_LF:
        return c === 0x0a ? S_SIZE : this.fail("expected CRLF after chunk data");
      case S_TRAILER_START:
        if (c === 0x0d) return S_END_LF;
        if (!isTchar(c)) return this.fail("invalid trailer field");
        return this.trailerByte(S_TRAILER_NAME);
      case S_TRAILER_NAME:
        if (isTchar(c)) return this.trailerByte(S_TRAILER_NAME);
        if (c === 0x3a) return this.trailerByte(S_TRAILER_VALUE);
        return this.fail("invalid trailer field name");
      case S_TRAILER_VALUE:
        if (c === 0x0d) return S_TRAILER_LF;
        if (isFieldChar(c)) return this.trailerByte(S_TRAILER_VALUE);
        return this.fail("invalid character in a trailer field");
      case S_TRAILER_LF:
        return c === 0x0a ? S_TRAILER_START : this.fail("expected LF after a trailer field");
      case S_END_LF:
        return c === 0x0a ? S_DONE : this.fail("expected LF at end of chunked body");
      default:
        return this.fail("internal: bad scanner state");
    }
  }

  private sizeByte(c: number): number {
    const h = hexValue(c);
    if (h >= 0) {
      this.size = this.size * 16 + h;
      this.digits++;
      if (this.size > MAX_CHUNK_SIZE) return this.fail("chunk size too large");
      return S_SIZE;
    }
    if (this.digits === 0) return this.fail("missing chunk size");
    if (c === 0x0d) return S_SIZE_LF;
    if (c === 0x3b) return this.extByte(S_EXT_NAME_START);
    return this.fail("invalid character in chunk size");
  }

  /** After a complete extension (name, value or quoted value): another one, or the end of the line. */
  private afterExtension(c: number): number {
    if (c === 0x3b) return this.extByte(S_EXT_NAME_START);
    if (c === 0x0d) return S_SIZE_LF;
    return this.fail("invalid character in chunk extensions");
  }

  private extByte(next: number): number {
    return ++this.lineLength > MAX_EXTENSIONS ? this.fail("chunk extensions too long") : next;
  }

  private trailerByte(next: number): number {
    return ++this.lineLength > MAX_TRAILERS ? this.fail("trailers too long") : next;
  }

  private sizeLineEnd(c: number): number {
    if (c !== 0x0a) return this.fail("expected LF after chunk size");
    this.lineLength = 0;
    const size = this.size;
    this.size = 0;
    this.digits = 0;
    if (size === 0) return S_TRAILER_START;
    this.remaining = size;
    return S_DATA;
  }

  private fail(msg: string): number {
    this.error = msg;
    return -1;
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * True when buf[0, to) (a head still missing its blank line) already holds a bare LF, or a CR not followed
 * by LF: such a head can never be valid, so it is refused at once instead of waiting for the timeout.
 */
export function hasBareLineBreak(buf: Buffer, to = buf.length): boolean {
  for (let i = buf.indexOf(0x0a); i >= 0 && i < to; i = buf.indexOf(0x0a, i + 1))
    if (i === 0 || buf[i - 1] !== 0x0d) return true;
  for (let i = buf.indexOf(0x0d); i >= 0 && i < to - 1; i = buf.indexOf(0x0d, i + 1))
    if (buf[i + 1] !== 0x0a) return true;
  return false;
}

/** Offset of the CRLFCRLF ending a head in buf, searching from `from`; -1 if not there yet. */
export function findHeadEnd(buf: Buffer, from: number): number {
  return buf.indexOf("\r\n\r\n", from, "latin1");
}
