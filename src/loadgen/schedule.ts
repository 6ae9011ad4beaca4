// Open-loop schedule for a fixed request rate: request i is due at start + i × 1000/qps (ms),
// computed from the start rather than accumulated, so timer lateness never drifts the rate.

export class FixedRateSchedule {
  private next = 0;
  private readonly intervalMs: number;
  /** Number of requests the schedule will ever produce (Infinity when only time-bounded or unbounded). */
  readonly limit: number;

  readonly startAt: number;

  constructor(startAt: number, qps: number, requests: number | null, endAt: number) {
    this.startAt = startAt;
    if (!(qps > 0)) throw new Error("FixedRateSchedule needs qps > 0");
    this.intervalMs = 1000 / qps;
    const byTime = Number.isFinite(endAt) ? Math.ceil(((endAt - startAt) * qps) / 1000 - 1e-9) : Infinity;
    this.limit = Math.min(requests ?? Infinity, byTime);
  }

  /** Intended send time of the next request not yet taken, or Infinity when the schedule is over. */
  peek(): number {
    return this.next < this.limit ? this.startAt + this.next * this.intervalMs : Infinity;
  }

  /** Takes every request due at or before `now`, calling `take` with its intended time. */
  takeDue(now: number, take: (intendedAt: number) => void): void {
    while (this.next < this.limit) {
      const at = this.startAt + this.next * this.intervalMs;
      if (at > now) return;
      this.next++;
      take(at);
    }
  }

  get taken(): number {
    return this.next;
  }

  get exhausted(): boolean {
    return this.next >= this.limit;
  }
}

/** FIFO of intended send times waiting for a free connection (grows as needed). */
export class TimeQueue {
  private buf = new Float64Array(64);
  private head = 0;
  private tail = 0;

  get length(): number {
    return this.tail - this.head;
  }

  push(t: number): void {
    if (this.tail === this.buf.length) {
      const live = this.tail - this.head;
      const bigger = new Float64Array(live * 2 > this.buf.length ? this.buf.length * 2 : this.buf.length);
      bigger.set(this.buf.subarray(this.head, this.tail));
      this.buf = bigger;
      this.head = 0;
      this.tail = live;
    }
    this.buf[this.tail++] = t;
  }

  shift(): number {
    if (this.head === this.tail) throw new Error("TimeQueue is empty");
    const t = this.buf[this.head++]!;
    if (this.head === this.tail) this.head = this.tail = 0;
    return t;
  }

  clear(): number {
    const n = this.length;
    this.head = this.tail = 0;
    return n;
  }
}
