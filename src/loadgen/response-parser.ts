// Incremental HTTP/1.1 response parser for the load generator's keep-alive connections. It only
// needs the status code, the message boundary (Content-Length, chunked, or end of connection) and
// whether the connection may be reused, so it skips bodies without copying them: that is what lets
// one Node process outrun general-purpose clients.

/** A response that is not valid HTTP/1.x; the connection must be closed. */
export class ResponseParseError extends Error {
  override readonly name = "ResponseParseError";
}

const NEED_MORE = -1;

const CR = 13;
const LF = 10;

type State = "head" | "length" | "chunk-size" | "chunk-data" | "chunk-crlf" | "trailer" | "eof" | "done";

/** Largest response head (status line + headers) accepted, like Node's default `maxHeaderSize`. */
export const MAX_HEAD_BYTES = 16 * 1024;
const MAX_CHUNK_LINE = 4096;

export class ResponseParser {
  /** Status code of the response being parsed (valid once the head was read). */
  status = 0;
  /** Whether the connection may carry another request after this response. */
  keepAlive = true;
  /** Body bytes seen for the current response. */
  bodyBytes = 0;

  private state: State = "head";
  private noBody = false;
  private remaining = 0;
  // Bytes of an incomplete head or chunk-size/trailer line, kept across chunks.
  private pending: Buffer | null = null;

  /** Prepares for the response to the next request; `noBody` for HEAD requests. */
  reset(noBody: boolean): void {
    this.state = "head";
    this.noBody = noBody;
    this.status = 0;
    this.keepAlive = true;
    this.bodyBytes = 0;
    this.remaining = 0;
    this.pending = null;
  }

  /** True once a complete response was parsed. */
  get done(): boolean {
    return this.state === "done";
  }

  /** True while the body runs to the end of the connection (no length, not chunked). */
  get readsUntilClose(): boolean {
    return this.state === "eof";
  }

  /**
   * Feeds bytes. Returns the offset in `chunk` just after the end of the response when it completed
   * in this chunk, or -1 when more bytes are needed. Throws ResponseParseError on malformed input.
   */
  execute(chunk: Buffer): number {
    let pos = 0;
    const len = chunk.length;
    while (pos < len || this.state === "done") {
      switch (this.state) {
        case "done":
          return pos;
        case "head":
        case "chunk-size":
        case "trailer": {
          const end = this.findLineEnd(chunk, pos, this.state === "head");
          if (end === NEED_MORE) return NEED_MORE;
          pos = end;
          break;
        }
        case "length": {
          pos += this.takeBody(len - pos);
          if (this.remaining === 0) this.state = "done";
          break;
        }
        case "chunk-data": {
          pos += this.takeBody(len - pos);
          if (this.remaining === 0) {
            this.state = "chunk-crlf";
            this.remaining = 2;
          }
          break;
        }
        case "chunk-crlf": {
          const b = chunk[pos]!;
          if ((this.remaining === 2 && b !== CR) || (this.remaining === 1 && b !== LF)) {
            throw new ResponseParseError("chunk data not followed by CRLF");
          }
          pos++;
          if (--this.remaining === 0) this.state = "chunk-size";
          break;
        }
        case "eof":
          this.bodyBytes += len - pos;
          return NEED_MORE;
      }
    }
    return NEED_MORE;
  }

  // Counts up to `available` bytes of the body part still expected; returns how many it took.
  private takeBody(available: number): number {
    const take = Math.min(this.remaining, available);
    this.remaining -= take;
    this.bodyBytes += take;
    return take;
  }

  /** The connection ended: completes a body that runs to the end of the connection. */
  finishOnEof(): boolean {
    if (this.state === "eof") {
      this.state = "done";
      this.keepAlive = false;
      return true;
    }
    return this.state === "done";
  }

  // Finds the end of the head (CRLFCRLF) or of one line (CRLF) starting at `pos`, joining bytes
  // kept from earlier chunks; on success processes it and returns the offset after it.
  private findLineEnd(chunk: Buffer, pos: number, head: boolean): number {
    const marker = head ? "\r\n\r\n" : "\r\n";
    let buf = chunk;
    let from = pos;
    if (this.pending !== null) {
      // `buf` = pending bytes + chunk[pos..]; chunk[pos] sits at offset `keep` of `buf`.
      const keep = this.pending.length;
      buf = Buffer.concat([this.pending, chunk.subarray(pos)]);
      from = 0;
      // The marker may straddle the boundary: search from a few bytes before it.
      const idx = buf.indexOf(marker, Math.max(0, keep - marker.length + 1), "latin1");
      return this.afterSearch(buf, from, idx, marker.length, head, pos, keep);
    }
    // No pending bytes: `buf` is `chunk` itself, so offsets are already chunk offsets.
    const idx = buf.indexOf(marker, from, "latin1");
    return this.afterSearch(buf, from, idx, marker.length, head, pos, pos);
  }

  private afterSearch(
    buf: Buffer,
    from: number,
    idx: number,
    markerLen: number,
    head: boolean,
    pos: number,
    base: number,
  ): number {
    const limit = head ? MAX_HEAD_BYTES : MAX_CHUNK_LINE;
    if (idx === -1) {
      if (buf.length - from > limit) {
        throw new ResponseParseError(head ? "response head too large" : "chunk line too long");
      }
      // Copy: the socket may reuse `chunk`'s memory.
      this.pending = Buffer.from(buf.subarray(from));
      return NEED_MORE;
    }
    if (idx - from > limit)
      throw new ResponseParseError(head ? "response head too large" : "chunk line too long");
    const text = buf.toString("latin1", from, idx);
    this.pending = null;
    if (head) this.onHead(text);
    else if (this.state === "chunk-size") this.onChunkSize(text);
    else this.onTrailerLine(text);
    // Offset in `chunk` just after the marker (`base` is where chunk[pos] sits in `buf`).
    return pos + (idx + markerLen - base);
  }

  private onHead(head: string): void {
    // Status line: HTTP/1.x SP 3DIGIT [SP reason]
    if (
      head.length < 12 ||
      !head.startsWith("HTTP/1.") ||
      head.charCodeAt(8) !== 32 ||
      (head.length > 12 && head.charCodeAt(12) !== 32 && head.charCodeAt(12) !== 13)
    ) {
      throw new ResponseParseError(`bad status line: ${JSON.stringify(head.slice(0, 40))}`);
    }
    const minor = head.charCodeAt(7) - 48;
    const status = Number(head.slice(9, 12));
    if (!(minor === 0 || minor === 1) || !Number.isInteger(status) || status < 100 || status > 999) {
      throw new ResponseParseError(`bad status line: ${JSON.stringify(head.slice(0, 40))}`);
    }
    let contentLength = -1;
    let chunked = false;
    let connectionClose = minor === 0;
    let lineStart = head.indexOf("\r\n");
    while (lineStart !== -1) {
      const start = lineStart + 2;
      const next = head.indexOf("\r\n", start);
      const end = next === -1 ? head.length : next;
      const colon = head.indexOf(":", start);
      if (colon === -1 || colon > end) throw new ResponseParseError("header line without a colon");
      const nameLen = colon - start;
      // Only three headers matter; compare lengths first to keep the common path cheap.
      if (nameLen === 14 || nameLen === 17 || nameLen === 10) {
        const name = head.slice(start, colon).toLowerCase();
        const value = head
          .slice(colon + 1, end)
          .trim()
          .toLowerCase();
        if (name === "content-length") {
          if (!/^\d+$/.test(value)) throw new ResponseParseError(`bad content-length: ${value}`);
          const n = Number(value);
          if (contentLength !== -1 && contentLength !== n) {
            throw new ResponseParseError("conflicting content-length headers");
          }
          contentLength = n;
        } else if (name === "transfer-encoding") {
          const codings = value.split(",").map((c) => c.trim());
          chunked = codings[codings.length - 1] === "chunked";
          if (!chunked) connectionClose = true; // body delimited by close (RFC 9112 §6.3)
        } else if (name === "connection") {
          const tokens = value.split(",").map((c) => c.trim());
          if (tokens.includes("close")) connectionClose = true;
          else if (minor === 0 && tokens.includes("keep-alive")) connectionClose = false;
        }
      }
      lineStart = next;
    }
    this.status = status;
    this.keepAlive = !connectionClose;
    if (status < 200) {
      if (status === 101) throw new ResponseParseError("unexpected protocol switch (101)");
      // Interim response (100 Continue, 103 Early Hints): the final response follows.
      this.state = "head";
      return;
    }
    if (this.noBody || status === 204 || status === 304) {
      this.state = "done";
    } else if (chunked) {
      this.state = "chunk-size";
    } else if (contentLength >= 0) {
      this.remaining = contentLength;
      this.state = contentLength === 0 ? "done" : "length";
    } else {
      this.keepAlive = false;
      this.state = "eof";
    }
  }

  private onChunkSize(line: string): void {
    const semi = line.indexOf(";");
    const hex = (semi === -1 ? line : line.slice(0, semi)).trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new ResponseParseError(`bad chunk size: ${hex}`);
    const size = Number.parseInt(hex, 16);
    if (size === 0) {
      this.state = "trailer";
    } else {
      this.remaining = size;
      this.state = "chunk-data";
    }
  }

  private onTrailerLine(line: string): void {
    if (line === "") this.state = "done";
    // Other trailer fields are ignored.
  }
}

export const PARSE_NEED_MORE = NEED_MORE;
