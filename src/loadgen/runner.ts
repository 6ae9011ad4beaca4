// Drives a load run: a fixed-rate open-loop schedule (or max rate) over a pool of keep-alive
// connections, with stop rules (duration, request count, stop(), AbortSignal) and periodic progress.

import { performance } from "node:perf_hooks";
import { Connection, type ConnectionEvents } from "./connection.ts";
import { type LoadOptions, type NormalizedLoadOptions, normalizeLoadOptions } from "./options.ts";
import { type LoadProgress, type LoadResult, Recorder, type StopReason } from "./recorder.ts";
import { FixedRateSchedule, TimeQueue } from "./schedule.ts";

const SPIN_MAX_QPS = 100;

export type ProgressListener = (progress: LoadProgress) => void;

export interface LoadHandle {
  /** Settles with the result when the run ends by itself, is stopped or is aborted. */
  readonly done: Promise<LoadResult>;
  /** Ends the run now (in-flight requests are cancelled) and returns its result. */
  stop(): Promise<LoadResult>;
  /** Counts and latency so far. */
  progress(): LoadProgress;
}

/**
 * Starts a load run in the background. Without `duration` and `requests` it runs until stopped:
 * that is how the local platform keeps traffic flowing for a whole experiment.
 * Throws LoadOptionsError synchronously on invalid options.
 */
export function startLoad(
  opts: LoadOptions,
  signal?: AbortSignal,
  onProgress?: ProgressListener,
): LoadHandle {
  const run = new LoadRun(normalizeLoadOptions(opts), onProgress);
  if (signal?.aborted) run.end("aborted");
  else {
    const onAbort = () => run.end("aborted");
    signal?.addEventListener("abort", onAbort, { once: true });
    run.done.finally(() => signal?.removeEventListener("abort", onAbort));
    run.start();
  }
  return {
    done: run.done,
    stop: () => {
      run.end("stopped");
      return run.done;
    },
    progress: () => run.progress(),
  };
}

/**
 * Runs load until its duration or request count is reached (or `signal` aborts: the result then
 * covers what finished, with `stopReason: "aborted"`). Needs `duration`, `requests` or a signal.
 */
export function runLoad(
  opts: LoadOptions,
  signal?: AbortSignal,
  onProgress?: ProgressListener,
): Promise<LoadResult> {
  if (opts.duration === undefined && opts.requests === undefined && signal === undefined) {
    return Promise.reject(
      new Error("runLoad needs duration, requests or an AbortSignal to end; use startLoad"),
    );
  }
  try {
    return startLoad(opts, signal, onProgress).done;
  } catch (err) {
    return Promise.reject(err);
  }
}

class LoadRun implements ConnectionEvents {
  readonly done: Promise<LoadResult>;
  private resolve!: (r: LoadResult) => void;
  private readonly recorder: Recorder;
  private readonly conns: Connection[] = [];
  private readonly idle: Connection[] = [];
  private readonly queue = new TimeQueue();
  private schedule: FixedRateSchedule | null = null;
  private startAt = 0;
  private startedAt = new Date();
  private endAt = Infinity;
  private inFlight = 0;
  // Max rate: requests issued so far (the request limit is checked against it).
  private issued = 0;
  // No new requests will be issued (schedule exhausted, request limit or duration reached).
  private issuingOver = false;
  private durationOver = false;
  private finished = false;
  private dropped = 0;
  private tickTimer: NodeJS.Timeout | null = null;
  private endTimer: NodeJS.Timeout | null = null;
  private dropTimer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private progressTimer: NodeJS.Timeout | null = null;
  private lastProgressAt = 0;
  private lastProgressCompleted = 0;
  private readonly tick = () => this.onTick();
  // Node timers run on a millisecond loop clock and may fire a fraction of a ms before
  // performance.now() reaches the deadline: re-arm until the duration has really passed.
  private readonly durationTimer = () => {
    const left = this.endAt - performance.now();
    if (left > 0) this.endTimer = setTimeout(this.durationTimer, Math.max(1, Math.ceil(left)));
    else this.onDurationOver();
  };

  private readonly opts: NormalizedLoadOptions;
  private readonly onProgress: ProgressListener | undefined;

  constructor(opts: NormalizedLoadOptions, onProgress: ProgressListener | undefined) {
    this.opts = opts;
    this.onProgress = onProgress;
    this.recorder = new Recorder(opts.qps > 0);
    this.done = new Promise((resolve) => {
      this.resolve = resolve;
    });
  }

  start(): void {
    const o = this.opts;
    this.startedAt = new Date();
    this.startAt = performance.now();
    this.lastProgressAt = this.startAt;
    if (o.durationMs !== null) {
      this.endAt = this.startAt + o.durationMs;
      this.endTimer = setTimeout(this.durationTimer, o.durationMs);
    }
    for (let i = 0; i < o.connections; i++) this.conns.push(new Connection(o, this));
    const sweepEvery = Math.min(250, Math.max(5, o.timeoutMs / 10));
    this.sweepTimer = setInterval(() => this.sweep(), sweepEvery);
    if (this.onProgress) {
      this.progressTimer = setInterval(() => this.onProgress?.(this.progress()), o.progressIntervalMs);
    }
    if (o.qps > 0) {
      this.schedule = new FixedRateSchedule(this.startAt, o.qps, o.requests, this.endAt);
      for (let i = this.conns.length - 1; i >= 0; i--) this.idle.push(this.conns[i]!);
      this.onTick();
    } else {
      for (const c of this.conns) this.issueMax(c, this.startAt);
    }
  }

  progress(): LoadProgress {
    const now = performance.now();
    const completed = this.recorder.completed;
    const dt = now - this.lastProgressAt;
    const recentQps = dt > 0 ? ((completed - this.lastProgressCompleted) * 1000) / dt : 0;
    this.lastProgressAt = now;
    this.lastProgressCompleted = completed;
    return this.recorder.progress(this.finished || this.startAt === 0 ? 0 : now - this.startAt, recentQps);
  }

  // Fixed rate: move due requests to the queue, hand queued ones to idle connections, sleep until
  // the next one is due. Timers are coarse (≈1 ms); the schedule is absolute, so lateness shows up
  // as latency and jitter but never as a lower rate.
  private onTick(): void {
    this.tickTimer = null;
    this.immediate = null;
    if (this.finished || this.durationOver) return;
    const schedule = this.schedule!;
    const now = performance.now();
    schedule.takeDue(now, (at) => this.queue.push(at));
    this.drainQueue(now);
    if (schedule.exhausted) {
      this.issuingOver = true;
      this.maybeFinish();
      return;
    }
    this.armTick(schedule.peek() - performance.now());
  }

  // Timers have millisecond granularity and fire up to ~1 ms off. At rates up to SPIN_MAX_QPS
  // (intervals of 10 ms or more) the last stretch before a send is covered by yielding through
  // setImmediate, which keeps sends within tens of µs of their intended time for ~1.5 ms of
  // busy-ish waiting per request (≤ ~15 % of a core); faster rates send in ≤1 ms batches instead.
  private armTick(wait: number): void {
    if (wait > 2.5) {
      this.tickTimer = setTimeout(this.tick, Math.floor(wait - 1.5));
    } else if (this.opts.qps <= SPIN_MAX_QPS && wait > 0) {
      this.immediate = setImmediate(this.tick);
    } else {
      this.tickTimer = setTimeout(this.tick, wait > 1 ? Math.floor(wait) : wait > 0 ? 1 : 0);
    }
  }

  private drainQueue(now: number): void {
    while (this.queue.length > 0 && this.idle.length > 0) {
      this.sendOn(this.idle.pop()!, this.queue.shift(), now);
    }
  }

  private sendOn(conn: Connection, intendedAt: number, now: number): void {
    this.inFlight++;
    this.recorder.onSend(intendedAt, now, this.opts.request.length);
    conn.send(intendedAt, now);
  }

  private issueMax(conn: Connection, now: number): void {
    if (!this.issuingOver && this.opts.requests !== null && this.issued >= this.opts.requests) {
      this.issuingOver = true;
    }
    if (!this.issuingOver && now >= this.endAt) this.onDurationOver();
    if (this.issuingOver || this.finished) {
      this.idle.push(conn);
      return;
    }
    this.issued++;
    this.sendOn(conn, now, now);
  }

  private onDurationOver(): void {
    if (this.durationOver || this.finished) return;
    // A late tick must not lose requests whose intended time lies within the duration: take them
    // and send what idle connections allow before closing the schedule.
    if (this.schedule !== null) {
      const now = performance.now();
      this.schedule.takeDue(now, (at) => this.queue.push(at));
      this.drainQueue(now);
    }
    this.durationOver = true;
    this.issuingOver = true;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    if (this.immediate) clearImmediate(this.immediate);
    // Requests due within the duration but still waiting for a connection are sent late, their
    // latency counting the wait (hiding it would be coordinated omission); those still waiting a
    // timeout later are dropped, so an overloaded server cannot stretch the run without bound.
    if (this.queue.length > 0) {
      this.dropTimer = setTimeout(() => {
        this.dropped += this.queue.clear();
        this.maybeFinish();
      }, this.opts.timeoutMs);
    }
    this.maybeFinish();
  }

  onResponse(conn: Connection, status: number): void {
    const now = performance.now();
    this.inFlight--;
    this.recorder.onResponse(status, conn.intendedAt, conn.sentAt, now);
    this.next(conn, now);
  }

  onFailure(conn: Connection, kind: string): void {
    const now = performance.now();
    this.inFlight--;
    this.recorder.onError(kind, conn.intendedAt, conn.sentAt, now);
    this.next(conn, now);
  }

  onBytesRead(n: number): void {
    this.recorder.bytesReceived += n;
  }

  private next(conn: Connection, now: number): void {
    if (this.finished) return;
    if (this.schedule === null) this.issueMax(conn, now);
    else if (this.queue.length > 0) this.sendOn(conn, this.queue.shift(), now);
    else this.idle.push(conn);
    this.maybeFinish();
  }

  // A request-count run ends when every request has finished; a timed run when its duration is
  // over and the requests in flight have finished (bounded by the timeout); an unbounded run
  // only through end().
  private maybeFinish(): void {
    if (this.inFlight > 0 || this.queue.length > 0) return;
    if (this.opts.requests !== null) {
      if (this.issuingOver) this.end("requests");
    } else if (this.durationOver) this.end("duration");
  }

  private sweep(): void {
    const now = performance.now();
    for (const c of this.conns) c.checkTimeout(now);
  }

  end(reason: StopReason): void {
    if (this.finished) return;
    this.finished = true;
    this.issuingOver = true;
    const now = performance.now();
    for (const t of [this.tickTimer, this.endTimer, this.dropTimer]) if (t) clearTimeout(t);
    if (this.immediate) clearImmediate(this.immediate);
    for (const t of [this.sweepTimer, this.progressTimer]) if (t) clearInterval(t);
    let cancelled = 0;
    for (const c of this.conns) if (c.cancel()) cancelled++;
    // Requests due but never sent count as dropped when the run is cut short.
    this.dropped += this.queue.clear();
    const elapsed = this.startAt === 0 ? 0 : now - this.startAt;
    this.resolve(this.recorder.result(this.opts, this.startedAt, elapsed, reason, cancelled, this.dropped));
  }
}
