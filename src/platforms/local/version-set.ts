// The running versions of a local run: one process per workload, started on a free loopback port and
// kept there. A process that dies on its own is reported and restarted on the same port (so the
// router's table stays valid) after a growing pause; when it keeps dying the run gives up with the
// reason instead of measuring a version that is not there.

import { startVersionProcess, type VersionProcess } from "./processes.ts";
import type { Workload } from "./workloads.ts";

export interface RestartPolicy {
  /** Restarts allowed per version over the run. */
  maxRestarts: number;
  /** First pause; doubled after each restart, at most `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESTARTS: RestartPolicy = { maxRestarts: 5, initialDelayMs: 500, maxDelayMs: 8000 };

export interface VersionSetOptions {
  readyTimeoutMs: number;
  restart?: RestartPolicy;
  /** One line of progress ("version v1 exited ...; restarting in 1 s"). */
  report: (line: string) => void;
  /** A version that cannot be kept running: the run must stop with this reason. */
  onFatal: (reason: string) => void;
}

export class VersionSet {
  readonly #opts: VersionSetOptions;
  readonly #policy: RestartPolicy;
  readonly #processes = new Map<string, VersionProcess>();
  readonly #restarts = new Map<string, number>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(opts: VersionSetOptions) {
    this.#opts = opts;
    this.#policy = opts.restart ?? DEFAULT_RESTARTS;
  }

  /** Starts the workload (or takes its address when it already runs); resolves with HOST:PORT. */
  async start(w: Workload): Promise<string> {
    if (!w.argv) return w.address!;
    const p = await this.#spawn(w);
    return p.address;
  }

  ready(name: string): boolean {
    return this.#processes.get(name)?.ready ?? false;
  }

  /** Restarts a version's process so far (0 when it never died). */
  restarts(name: string): number {
    return this.#restarts.get(name) ?? 0;
  }

  async #spawn(w: Workload, port?: number): Promise<VersionProcess> {
    const p = await startVersionProcess({
      revision: w.name,
      argv: w.argv!,
      env: w.env,
      cwd: w.cwd,
      ...(port !== undefined ? { port } : {}),
      readyTimeoutMs: this.#opts.readyTimeoutMs,
      onExit: (reason) => this.#died(w, p.address, reason),
    });
    this.#processes.set(w.name, p);
    return p;
  }

  #died(w: Workload, address: string, reason: string): void {
    if (this.#closed) return;
    const n = this.restarts(w.name) + 1;
    if (n > this.#policy.maxRestarts) {
      this.#opts.onFatal(
        `version ${w.name}: its process ${reason}; restarted ${this.#policy.maxRestarts} times, giving up`,
      );
      return;
    }
    this.#restarts.set(w.name, n);
    const delay = Math.min(this.#policy.initialDelayMs * 2 ** (n - 1), this.#policy.maxDelayMs);
    this.#opts.report(
      `version ${w.name}: its process ${reason}; restarting in ${delay / 1000} s (restart ${n} of at most ${this.#policy.maxRestarts})\n`,
    );
    const port = Number(address.split(":").pop());
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#closed) return;
      this.#spawn(w, port).then(
        (p) => this.#opts.report(`version ${w.name}: restarted on ${p.address}\n`),
        (e: Error) => this.#died(w, address, `did not come back: ${e.message}`),
      );
    }, delay);
    this.#timers.add(timer);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    await Promise.allSettled([...this.#processes.values()].map((p) => p.stop()));
  }
}
