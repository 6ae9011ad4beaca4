// A token bucket for API requests (client-go's `--kube-qps` / `--kube-burst`): up to `burst`
// requests at once, then `qps` per second, served in arrival order.

export class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  #tokens: number;
  #last: number;
  readonly #waiters: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;

  /** `qps <= 0`: no limit. */
  constructor(qps: number, burst: number) {
    this.#qps = qps;
    this.#burst = Math.max(1, burst);
    this.#tokens = this.#burst;
    this.#last = performance.now();
  }

  get limited(): boolean {
    return this.#qps > 0;
  }

  /** Requests waiting for a token. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Resolves when a request may go out. */
  take(): Promise<void> {
    if (!this.limited) return Promise.resolve();
    this.#refill();
    if (this.#waiters.length === 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.#arm();
    });
  }

  #refill(): void {
    const now = performance.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#qps);
    this.#last = now;
  }

  #arm(): void {
    if (this.#timer) return;
    const wait = Math.max(1, ((1 - this.#tokens) / this.#qps) * 1000);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#refill();
      while (this.#waiters.length > 0 && this.#tokens >= 1) {
        this.#tokens -= 1;
        this.#waiters.shift()!();
      }
      if (this.#waiters.length > 0) this.#arm();
    }, wait);
  }
}
