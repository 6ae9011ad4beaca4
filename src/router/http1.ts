// Minimal, strict HTTP/1.1 message framing for the router's data path (RFC 9112): parse request and
// response heads, and find where a chunked body ends without changing its bytes. Pure functions over
// strings and Buffers; the proxy forwards bodies verbatim, so this is all the parsing it does.

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
  readonly connectionListed: Set<string> | null;
  readonly host: string | null;
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
  readonly connectionListed: Set<string> | null;
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
  return (x as HeadError).error === true;
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

function trimOws(v: string): string {
  let a = 0;
  let b = v.length;
  while (a < b && (v.charCodeAt(a) === 0x20 || v.charCodeAt(a) === 0x09)) a++;
  while (b > a && (v.charCodeAt(b - 1) === 0x20 || v.charCodeAt(b - 1) === 0x09)) b--;
  return a === 0 && b === v.length ? v : v.slice(a, b);
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

function connectionTokens(value: string | null): {
  close: boolean;
  keepAlive: boolean;
  listed: Set<string> | null;
} {
  let close = false;
  let keepAlive = false;
  let listed: Set<string> | null = null;
  if (value === null) return { close, keepAlive, listed };
  for (const raw of value.split(",")) {
    const t = trimOws(raw).toLowerCase();
    if (t === "") continue;
    if (t === "close") close = true;
    else if (t === "keep-alive") keepAlive = true;
    else {
      listed ??= new Set();
      listed.add(t);
    }
  }
  return { close, keepAlive, listed };
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
  if (target.length === 0 || target.includes(" ") || hasBadValueChar(target))
    return fail(400, "invalid request target");
  let minor: number;
  if (version === "HTTP/1.1") minor = 1;
  else if (version === "HTTP/1.0") minor = 0;
  else if (/^HTTP\/\d\.\d$/.test(version)) return fail(505, "HTTP version not supported");
  else return fail(400, "malformed request line");
  if (method === "CONNECT") return fail(501, "CONNECT is not supported");
  const f = parseFields(head, eol + 2);
  if (isHeadError(f)) return f;
  if (minor === 1 && f.host === null) return fail(400, "missing Host header");
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
    target,
    minor,
    headers: f.headers,
    bodyKind,
    contentLength,
    keepAlive,
    connectionListed: c.listed,
    host: f.host,
  };
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
  };
}

// ---- chunked bodies ------------------------------------------------------------------------------------

const S_SIZE = 0;
const S_SIZE_AFTER = 1; // chunk extension or whitespace, until CR
const S_SIZE_LF = 2;
const S_DATA = 3;
const S_DATA_CR = 4;
const S_DATA_LF = 5;
const S_TRAILER_START = 6;
const S_TRAILER_LINE = 7;
const S_END_LF = 8;
const S_DONE = 9;

const MAX_CHUNK_SIZE = 2 ** 48;

/**
 * Incremental scanner of a chunked body: feed it the bytes as they come; it says where the message ends.
 * The bytes themselves are forwarded unchanged.
 */
export class ChunkedScanner {
  private state = S_SIZE;
  private size = 0;
  private digits = 0;
  private remaining = 0;
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
      switch (this.state) {
        case S_DATA: {
          const n = Math.min(this.remaining, to - i);
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = S_DATA_CR;
          continue;
        }
        case S_SIZE: {
          const c = buf[i]!;
          const h = hexValue(c);
          if (h >= 0) {
            this.size = this.size * 16 + h;
            this.digits++;
            if (this.size > MAX_CHUNK_SIZE) return this.fail("chunk size too large");
          } else if (this.digits === 0) {
            return this.fail("missing chunk size");
          } else if (c === 0x0d) this.state = S_SIZE_LF;
          else if (c === 0x3b || c === 0x20 || c === 0x09) this.state = S_SIZE_AFTER;
          else return this.fail("invalid chunk size");
          i++;
          continue;
        }
        case S_SIZE_AFTER: {
          const c = buf[i]!;
          if (c === 0x0d) this.state = S_SIZE_LF;
          else if (c === 0x0a || c === 0) return this.fail("invalid chunk extension");
          else if (++this.lineLength > 4096) return this.fail("chunk extension too long");
          i++;
          continue;
        }
        case S_SIZE_LF: {
          if (buf[i] !== 0x0a) return this.fail("expected LF after chunk size");
          i++;
          this.lineLength = 0;
          if (this.size === 0) this.state = S_TRAILER_START;
          else {
            this.remaining = this.size;
            this.state = S_DATA;
          }
          this.size = 0;
          this.digits = 0;
          continue;
        }
        case S_DATA_CR:
          if (buf[i] !== 0x0d) return this.fail("expected CRLF after chunk data");
          this.state = S_DATA_LF;
          i++;
          continue;
        case S_DATA_LF:
          if (buf[i] !== 0x0a) return this.fail("expected CRLF after chunk data");
          this.state = S_SIZE;
          i++;
          continue;
        case S_TRAILER_START:
          if (buf[i] === 0x0d) this.state = S_END_LF;
          else {
            this.state = S_TRAILER_LINE;
            this.lineLength = 1;
          }
          i++;
          continue;
        case S_TRAILER_LINE: {
          const c = buf[i]!;
          if (c === 0x0a) this.state = S_TRAILER_START;
          else if (++this.lineLength > 16384) return this.fail("trailer line too long");
          i++;
          continue;
        }
        case S_END_LF:
          if (buf[i] !== 0x0a) return this.fail("expected LF at end of chunked body");
          this.state = S_DONE;
          return i + 1;
        default:
          return i;
      }
    }
    return -1;
  }

  private fail(msg: string): number {
    this.error = msg;
    return -2;
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Offset of the CRLFCRLF ending a head in buf, searching from `from`; -1 if not there yet. */
export function findHeadEnd(buf: Buffer, from: number): number {
  return buf.indexOf("\r\n\r\n", from, "latin1");
}
