// One keep-alive HTTP/1.1 connection of the load generator, carrying one request at a time
// (no pipelining). Raw sockets with a precomputed request and a body-skipping parser keep the
// per-request cost low; the socket is reopened lazily after the server closes it or it fails.

import net from "node:net";
import tls from "node:tls";
import type { NormalizedLoadOptions } from "./options.ts";
import { ResponseParseError, ResponseParser } from "./response-parser.ts";

export interface ConnectionEvents {
  /** A response arrived for the request sent with `intendedAt`/`sentAt`. */
  onResponse(conn: Connection, status: number): void;
  /** The request failed without a response (`kind`: error code, "timeout", "protocol", ...). */
  onFailure(conn: Connection, kind: string): void;
  onBytesRead(n: number): void;
}

export class Connection {
  busy = false;
  /** When the current request was meant to go out (fixed rate) or went out (max rate). */
  intendedAt = 0;
  sentAt = 0;
  private socket: net.Socket | null = null;
  private readonly parser = new ResponseParser();
  private readonly readBuffer = Buffer.allocUnsafe(64 * 1024);
  // Requests already answered on the current socket: a failure on a reused socket before any
  // response byte is the keep-alive race (server closed an idle connection), retried once.
  private answeredOnSocket = 0;
  private responseBytes = 0;
  private retried = false;

  private readonly opts: NormalizedLoadOptions;
  private readonly events: ConnectionEvents;

  constructor(opts: NormalizedLoadOptions, events: ConnectionEvents) {
    this.opts = opts;
    this.events = events;
  }

  send(intendedAt: number, now: number): void {
    this.intendedAt = intendedAt;
    this.sentAt = now;
    this.busy = true;
    this.retried = false;
    this.write();
  }

  /** Fails the in-flight request with "timeout" when it has run longer than the timeout. */
  checkTimeout(now: number): void {
    if (this.busy && now - this.sentAt > this.opts.timeoutMs) {
      this.drop();
      this.fail("timeout");
    }
  }

  /** Abandons the in-flight request (run stopped); returns whether there was one. */
  cancel(): boolean {
    const was = this.busy;
    this.busy = false;
    this.drop();
    return was;
  }

  close(): void {
    this.busy = false;
    this.drop();
  }

  private write(): void {
    if (this.socket === null) this.open();
    this.parser.reset(this.opts.noResponseBody);
    this.responseBytes = 0;
    this.socket!.write(this.opts.request);
  }

  private connect(): net.Socket {
    const { host, port, tls: secure } = this.opts;
    if (secure !== null) {
      // TLS decrypts into its own buffers, so bytes arrive as data events.
      const socket = tls.connect({ host, port, ...secure });
      socket.setNoDelay(true);
      socket.on("data", (chunk: Buffer) => {
        if (socket === this.socket) this.onData(chunk);
      });
      return socket;
    }
    // `onread` hands bytes straight from one reused buffer to the parser, skipping the stream
    // machinery and a buffer allocation per read (the parser copies what it must keep).
    const socket: net.Socket = net.connect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer: this.readBuffer,
        callback: (n: number, buf: Uint8Array) => {
          if (socket === this.socket) this.onData((buf as Buffer).subarray(0, n));
          return true;
        },
      },
    });
    return socket;
  }

  private open(): void {
    const socket = this.connect();
    this.socket = socket;
    this.answeredOnSocket = 0;
    socket.on("error", (err: NodeJS.ErrnoException) => {
      if (socket === this.socket) this.onSocketEnd(err.code ?? "socket-error");
    });
    // The server's FIN: the socket cannot carry another request; forget it at once so the next
    // request opens a fresh one instead of writing into a closing socket.
    socket.on("end", () => {
      if (socket === this.socket) {
        this.onSocketEnd(null);
        socket.destroy();
      }
    });
    socket.on("close", () => {
      if (socket === this.socket) this.onSocketEnd(null);
    });
  }

  private onData(chunk: Buffer): void {
    this.events.onBytesRead(chunk.length);
    if (!this.busy) {
      // Bytes nobody asked for: the connection is out of step; start afresh next time.
      this.drop();
      return;
    }
    this.responseBytes += chunk.length;
    let end: number;
    try {
      end = this.parser.execute(chunk);
    } catch (err) {
      if (!(err instanceof ResponseParseError)) throw err;
      this.drop();
      this.fail("protocol");
      return;
    }
    if (end < 0) return;
    this.answeredOnSocket++;
    // Extra bytes after a complete response, or a server that will close: don't reuse.
    if (end < chunk.length || !this.parser.keepAlive) this.drop();
    this.busy = false;
    this.events.onResponse(this, this.parser.status);
  }

  private onSocketEnd(code: string | null): void {
    this.socket = null;
    if (!this.busy) return;
    if (code === null && this.parser.finishOnEof()) {
      this.busy = false;
      this.events.onResponse(this, this.parser.status);
      return;
    }
    const race = this.answeredOnSocket > 0 && this.responseBytes === 0;
    if (race && !this.retried && this.opts.idempotent) {
      this.retried = true;
      this.write();
      return;
    }
    this.fail(code ?? (this.responseBytes > 0 ? "incomplete-response" : "ECONNRESET"));
  }

  private fail(kind: string): void {
    this.busy = false;
    this.events.onFailure(this, kind);
  }

  private drop(): void {
    const s = this.socket;
    this.socket = null;
    s?.destroy();
  }
}
