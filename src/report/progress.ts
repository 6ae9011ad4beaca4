// What `iter8 local run` prints while it runs, besides one row per status change:
//  - a status line between iterations (iteration k of N, time to the next, requests per version so
//    far, current weights): redrawn in place on a terminal, printed as a plain line every
//    PLAIN_EVERY_MS otherwise (only when nothing else was printed meanwhile);
//  - warnings as human sentences with their reason, each printed once: a version that got no
//    requests in an iteration, a metric that cannot be read, a weight change being retried;
//  - the engine's log lines, as those sentences, or as JSON lines with `--log-format json`;
//  - one closing line in one wording ("Experiment completed: ..." / "Experiment failed: ...").

import { intervalSeconds, totalIterations } from "../api/defaults.ts";
import type { Experiment } from "../api/types.ts";
import type { EngineLogger } from "../engine/engine.ts";
import { historyPoints, splitText } from "../engine/history.ts";
import { endingOf, failureText } from "./ending.ts";
import { outcomeOf, requestCountMetrics, unreadable } from "./outcome.ts";

export type LogFormat = "text" | "json";
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

/** Plain (non-terminal) status lines at most this often. */
export const PLAIN_EVERY_MS = 30_000;

interface Stream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * Standard output with one status line at the bottom: on a terminal the line is erased before
 * other output and drawn again after it; elsewhere it is printed as an ordinary line, rate-limited.
 */
export class TerminalOutput {
  readonly #stream: Stream;
  readonly #tty: boolean;
  readonly #now: () => number;
  #status = "";
  #lastPlain = 0;

  constructor(stream: Stream, opts: { tty?: boolean; now?: () => number } = {}) {
    this.#stream = stream;
    this.#tty = opts.tty ?? stream.isTTY === true;
    this.#now = opts.now ?? Date.now;
    this.#lastPlain = this.#now();
  }

  /** Writes `text` (to `to`, e.g. standard error on the same terminal, else this stream). */
  write(text: string, to: Stream = this.#stream): void {
    if (this.#tty && this.#status) this.#stream.write("\r\x1b[K");
    to.write(text);
    if (this.#tty && this.#status) this.#stream.write(this.#status);
    this.#lastPlain = this.#now();
  }

  status(line: string): void {
    if (this.#tty) {
      this.#status = line;
      this.#stream.write(`\r\x1b[K${line}`);
      return;
    }
    if (line === "" || this.#now() - this.#lastPlain < PLAIN_EVERY_MS) return;
    this.#stream.write(`${line}\n`);
    this.#lastPlain = this.#now();
  }

  /** Erases the status line (at the end of a run). */
  clear(): void {
    if (this.#tty && this.#status) this.#stream.write("\r\x1b[K");
    this.#status = "";
  }
}

export interface RunProgressOptions {
  err: (text: string) => void;
  /** Draws the status line (TerminalOutput.status); absent: no status line. */
  status?: (line: string) => void;
  logFormat?: LogFormat;
  /** Requests answered per version (revision) so far. */
  requests?: () => Record<string, number>;
  now?: () => number;
  /** Print the engine's info lines too (ITER8_DEBUG). */
  debug?: boolean;
}

/** Follows a local run's status writes: warnings once each, the status line, the engine's logs. */
export class RunProgress {
  readonly #o: RunProgressOptions;
  readonly #now: () => number;
  readonly #warned = new Set<string>();
  #last: Experiment | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: RunProgressOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  /** Redraws the status line every second until stop(). */
  start(): void {
    if (!this.#o.status || this.#timer) return;
    this.#timer = setInterval(() => this.tick(), 1000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  tick(): void {
    if (this.#last && this.#timer) this.#o.status?.(this.statusLine(this.#last));
  }

  /** Called with every stored status. */
  onWrite(exp: Experiment): void {
    this.#last = exp;
    for (const w of warningsOf(exp)) this.warnOnce(w.key, w.text);
    // Refresh the status line now, so the row printed next is not followed by a stale one.
    this.tick();
  }

  /** The status line for `exp`; "" before the first iteration or after the end. */
  statusLine(exp: Experiment): string {
    const st = exp.status;
    if (st?.stage !== "Running") return "";
    const total = totalIterations(exp.spec);
    const done = st.completedIterations ?? 0;
    const intervalMs = intervalSeconds(exp.spec) * 1000;
    const parts = [`iteration ${Math.min(done + 1, total)} of ${total}`];
    if (done > 0 && st.lastUpdateTime) {
      const left = Math.max(0, Date.parse(st.lastUpdateTime) + intervalMs - this.#now());
      parts.push(`next in ${Math.ceil(left / 1000)} s`);
    }
    const requests = this.#o.requests?.();
    if (requests && Object.keys(requests).length > 0)
      parts.push(
        `requests ${Object.entries(requests)
          .map(([v, n]) => `${v}=${n}`)
          .join(" ")}`,
      );
    const weights = splitText(st.currentWeightDistribution);
    if (weights) parts.push(`weights ${weights}`);
    return parts.join(" | ");
  }

  warnOnce(key: string, text: string, fields: Record<string, unknown> = {}): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#emit("warn", text, fields);
  }

  /** The engine's logger: warnings and errors as sentences (each once), info only when debugging. */
  logger(): EngineLogger {
    return {
      debug: () => {},
      info: (msg, f) => {
        if (this.#o.debug || this.#o.logFormat === "json") this.#emit("info", msg, f ?? {});
      },
      warn: (msg, f) => this.warnOnce(`engine|${msg}`, sentence(msg, f), f ?? {}),
      error: (msg, f) => this.#emit("error", sentence(msg, f), f ?? {}),
    };
  }

  #emit(level: "info" | "warn" | "error", text: string, fields: Record<string, unknown>): void {
    if (this.#o.logFormat === "json") {
      this.#o.err(
        `${JSON.stringify({ time: new Date(this.#now()).toISOString(), level, msg: text, ...fields })}\n`,
      );
      return;
    }
    const prefix = level === "warn" ? "warning: " : level === "error" ? "error: " : "";
    this.#o.err(`iter8: ${prefix}${text}\n`);
  }
}

/** "Failure redistributing weights (attempt 2): connection refused" from a message and its fields. */
function sentence(msg: string, f: Record<string, unknown> | undefined): string {
  if (!f) return msg;
  const attempts = typeof f["attempts"] === "number" ? ` (attempt ${f["attempts"]})` : "";
  const error = f["error"] !== undefined ? `: ${String(f["error"])}` : "";
  const rest = Object.entries(f)
    .filter(([k]) => k !== "attempts" && k !== "error" && k !== "experiment")
    .map(([k, v]) => `${k} ${String(v)}`);
  return `${msg}${rest.length > 0 ? ` (${rest.join(", ")})` : ""}${attempts}${error}`;
}

/** The things worth a warning in the latest status, each with a key so it is printed once. */
export function warningsOf(exp: Experiment): Array<{ key: string; text: string }> {
  const out: Array<{ key: string; text: string }> = [];
  const last = historyPoints(exp.status).at(-1);
  if (last) {
    const counters = requestCountMetrics(exp);
    for (const [metric, row] of Object.entries(last.values)) {
      for (const [version, cell] of Object.entries(row)) {
        if (cell.error !== undefined)
          out.push({
            key: `metric|${metric}|${version}`,
            text: `${unreadable(metric, version, cell.error)} (iteration ${last.iteration})`,
          });
        else if (counters.includes(metric) && cell.value === 0)
          out.push({
            key: `traffic|${version}`,
            text: `version ${version} received no requests in iteration ${last.iteration} (${metric} is 0): its metrics have no data`,
          });
      }
    }
  }
  const retry = (exp.status as { retry?: { op: string; lastError: string } } | undefined)?.retry;
  if (retry)
    out.push({
      key: `retry|${retry.op}`,
      text: `${retry.op === "weights" ? "the weight change failed" : "the weights cannot be read"} and is being retried: ${retry.lastError}`,
    });
  return out;
}

/** The closing line of a run, in one wording for every ending. */
export function endLine(exp: Experiment): string {
  const { completed, failed, rolledBack, winner, promoted, split } = endingOf(exp);
  if (!completed) return `Experiment not completed: stage ${exp.status?.stage ?? "-"}\n`;
  if (failed) {
    const detail = outcomeOf(exp).reasons.find((r) => / action( \(after rollback\))? failed: /.test(r));
    return `Experiment failed: ${failureText(failed, "Failed")}${detail ? ` (${detail})` : ""}\n`;
  }
  const parts = [rolledBack ? "rolled back" : winner ? `winner ${winner}` : "no winner"];
  parts.push(promoted ? `promoted ${promoted}` : `traffic left at ${split || "-"}`);
  return `Experiment completed: ${parts.join(", ")}\n`;
}
