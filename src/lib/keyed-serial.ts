// One task at a time per key; tasks of different keys run concurrently. A failed task does not
// block the ones queued behind it.

export class KeyedSerial {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    this.#tails.set(key, tail);
    // The map holds only keys with work queued or running.
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return run;
  }

  /** Keys with a task queued or running. */
  get size(): number {
    return this.#tails.size;
  }
}
