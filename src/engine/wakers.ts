// Wake-ups for drivers that wait between reconcile steps: an experiment whose target was released
// (or whose action settled) is woken at once instead of at its next poll.

import type { ObjectKey } from "./ports.ts";
import { keyText } from "./target.ts";

export class Wakers {
  readonly #waiting = new Map<string, Set<() => void>>();
  readonly #onWake: ((key: ObjectKey) => void) | undefined;

  constructor(onWake?: (key: ObjectKey) => void) {
    this.#onWake = onWake;
  }

  /** Resolves when `key` is woken, or when `signal` aborts. */
  wait(key: ObjectKey, signal: AbortSignal): Promise<void> {
    const id = keyText(key);
    return new Promise<void>((resolve) => {
      const set = this.#waiting.get(id) ?? new Set();
      this.#waiting.set(id, set);
      const done = () => {
        set.delete(done);
        if (set.size === 0 && this.#waiting.get(id) === set) this.#waiting.delete(id);
        resolve();
      };
      set.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  wake(key: ObjectKey): void {
    for (const fn of [...(this.#waiting.get(keyText(key)) ?? [])]) fn();
    this.#onWake?.(key);
  }
}
