// Where the dashboard's experiments come from: one feed per server, however many browsers watch,
// so a hundred open pages cost one directory watch (or one Kubernetes watch), never a re-list each.

import { type FSWatcher, readdirSync, statSync, watch } from "node:fs";
import { join } from "node:path";
import { namespaceOf } from "../api/refs.ts";
import type { Experiment } from "../api/types.ts";
import { readJson } from "../platforms/local/store.ts";

export type FeedListener = (exp: Experiment) => void;

export interface ExperimentFeed {
  /** Every experiment known now, sorted by namespace and name. */
  list(): Experiment[];
  get(namespace: string, name: string): Experiment | undefined;
  /** Called for every experiment that changes; returns the unsubscribe function. */
  subscribe(listener: FeedListener): () => void;
  close(): void;
}

export function feedKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** What every feed keeps: the latest copy of each experiment, and the listeners to tell of changes. */
export class FeedState {
  readonly #items = new Map<string, Experiment>();
  readonly #listeners = new Set<FeedListener>();

  list(): Experiment[] {
    return [...this.#items.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, e]) => e);
  }

  get(namespace: string, name: string): Experiment | undefined {
    return this.#items.get(feedKey(namespace, name));
  }

  /** Records `exp` and tells the listeners, unless it is the copy already held. */
  put(exp: Experiment): void {
    const key = feedKey(namespaceOf(exp), exp.metadata.name);
    const old = this.#items.get(key);
    if (old && old.metadata.resourceVersion === exp.metadata.resourceVersion) return;
    this.#items.set(key, exp);
    for (const fn of this.#listeners) fn(exp);
  }

  subscribe(listener: FeedListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/**
 * The experiments of a local state directory, as `iter8 local run` writes them (one JSON file each,
 * replaced atomically). A directory watch says when to look; a slow poll covers the platforms and
 * file systems where watch events are lost. Only files whose modification time changed are re-read.
 */
export class LocalFeed extends FeedState implements ExperimentFeed {
  readonly #dir: string;
  readonly #seen = new Map<string, number>();
  #watcher: FSWatcher | undefined;
  readonly #timer: NodeJS.Timeout;
  #pending: NodeJS.Timeout | undefined;

  constructor(stateDir: string, pollMs = 2000) {
    super();
    this.#dir = join(stateDir, "experiments");
    this.scan();
    this.#startWatch();
    this.#timer = setInterval(() => this.scan(), pollMs);
    this.#timer.unref();
  }

  /** Reads the files that changed since the last scan. */
  scan(): void {
    let names: string[];
    try {
      names = readdirSync(this.#dir).filter((n) => n.endsWith(".json"));
    } catch {
      return;
    }
    for (const n of names) {
      const path = join(this.#dir, n);
      try {
        const mtime = statSync(path).mtimeMs;
        if (this.#seen.get(n) === mtime) continue;
        const exp = readJson<Experiment>(path);
        this.#seen.set(n, mtime);
        if (exp?.metadata?.name) this.put(exp);
      } catch {
        // Replaced or half-visible between readdir and read: the next event or poll reads it.
      }
    }
  }

  #startWatch(): void {
    try {
      this.#watcher = watch(this.#dir, () => {
        // Coalesce the rename bursts of one atomic write into one scan.
        if (this.#pending) return;
        this.#pending = setTimeout(() => {
          this.#pending = undefined;
          this.scan();
        }, 50);
      });
      this.#watcher.on("error", () => this.#watcher?.close());
    } catch {
      // No such directory yet, or no watch support: the poll alone keeps the feed current.
    }
  }

  close(): void {
    clearInterval(this.#timer);
    if (this.#pending) clearTimeout(this.#pending);
    this.#watcher?.close();
  }
}
