// List, then watch from the list's resourceVersion, and keep watching: the one loop behind the
// controller's cache and `iter8 kube get --watch`. A watch that fails resumes from the last
// resourceVersion seen (events or bookmarks) after a backoff; one whose resourceVersion expired
// (410 Gone) relists at once. With `relistOnEnd`, a watch that the server ended on schedule
// (`timeoutSeconds`) also relists, so whatever a watch might have missed is picked up; one it ended
// early (an API server closes the watch of a client that reads too slowly) resumes from the last
// resourceVersion instead: relisting a thousand objects is the last thing a server that busy needs.
// The list goes on a connection of its own, with a longer timeout, so that it never waits behind
// the requests queued for the pool.

import { backoffMs } from "../../lib/backoff.ts";
import { KubeApiError, type KubeClient, type WatchEvent } from "./rest.ts";

interface Listed<T> {
  items: T[];
  metadata: { resourceVersion: string };
}

export interface ListWatchOptions<T> {
  client: KubeClient;
  /** Collection path (`/apis/iter8.tools/v2alpha2/namespaces/ns/experiments`). */
  path: string;
  /** Extra query of both the list and the watch (a fieldSelector). */
  query?: Record<string, string>;
  /** Start by watching from here instead of listing. */
  resourceVersion?: string;
  /** Seconds the server keeps one watch open. */
  watchSeconds?: number;
  /** Relist whenever a watch ends, not only when its resourceVersion expired. */
  relistOnEnd?: boolean;
  /** Every (re)list: all objects in scope now. */
  onList?: (items: T[], resourceVersion: string) => void;
  onEvent: (event: WatchEvent<T>) => void;
  /** A failed list or watch, retried after `delayMs`. */
  onError?: (err: unknown, delayMs: number) => void;
  signal: AbortSignal;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** How long a LIST may take: a thousand experiments from a busy API server take more than 30 s. */
const LIST_TIMEOUT_MS = 120_000;

/** Runs until `signal` aborts. */
export async function listWatch<T extends { metadata?: { resourceVersion?: string } }>(
  opts: ListWatchOptions<T>,
): Promise<void> {
  const { client, path, signal } = opts;
  let rv = opts.resourceVersion;
  let failures = 0;
  while (!signal.aborted) {
    try {
      if (rv === undefined) {
        const list = await client.get<Listed<T>>(path, {
          query: opts.query ?? {},
          signal,
          ownConnection: true,
          timeoutMs: LIST_TIMEOUT_MS,
        });
        rv = list.metadata.resourceVersion;
        opts.onList?.(list.items, rv);
      }
      const watchStarted = Date.now();
      await client.watch<T>(
        path,
        {
          ...opts.query,
          resourceVersion: rv,
          allowWatchBookmarks: true,
          ...(opts.watchSeconds === undefined ? {} : { timeoutSeconds: opts.watchSeconds }),
        },
        (ev) => {
          rv = ev.object.metadata?.resourceVersion ?? rv;
          if (ev.type !== "BOOKMARK") opts.onEvent(ev);
        },
        signal,
      );
      failures = 0;
      // Servers end watches a little before or after timeoutSeconds (they add jitter).
      const onSchedule =
        opts.watchSeconds === undefined || Date.now() - watchStarted >= opts.watchSeconds * 1000 * 0.5;
      if (opts.relistOnEnd && onSchedule) rv = undefined;
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof KubeApiError && err.status === 410) {
        rv = undefined;
        continue;
      }
      failures++;
      const delay = backoffMs(failures, 200, 10_000);
      opts.onError?.(err, delay);
      await abortableSleep(delay, signal);
    }
  }
}
