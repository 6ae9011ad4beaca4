// The controller's view of Experiments, fed by list/watch and by the responses to its own writes
// (an informer, in client-go's terms). Reads never go to the API server: `get` and `list` are served
// from memory, and target locking reads an index by `spec.target`. Every write the controller makes
// is remembered by the resourceVersion the API server answered with; when that version comes back on
// the watch it is the controller's own echo, and no one is told about it, so a status write never
// triggers a second reconcile.

import { namespaceOf } from "../../api/refs.ts";
import type { Experiment } from "../../api/types.ts";
import type { ObjectKey } from "../../engine/ports.ts";
import { keyOf, keyText } from "../../engine/target.ts";
import { listWatch } from "./listwatch.ts";
import { experimentsPath } from "./resources.ts";
import type { KubeClient } from "./rest.ts";

export type CacheChange = "added" | "modified" | "deleted" | "relisted";

export interface ExperimentCacheOptions {
  client: KubeClient;
  /** Watch only these namespaces (default: all). */
  namespaces?: string[];
  /** Seconds one watch stays open before a fresh LIST (default 300). */
  relistSeconds?: number;
  /**
   * A change someone else made (created, edited, deleted), or, with `relisted`, an object the relist
   * found unchanged (so a consumer can check that it still tracks it). Never called for own echoes.
   */
  onChange: (key: ObjectKey, change: CacheChange, experiment: Experiment | undefined) => void;
  /** The controller's own write came back on the watch (and was not passed on). */
  onEcho?: () => void;
  /** A failed list or watch (retried). */
  onError?: (namespace: string | undefined, err: unknown) => void;
}

/** Whether resourceVersion `a` is newer than `b`; opaque versions count as newer (trust the server). */
function newer(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return true;
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) > BigInt(b);
  return a !== b;
}

/** What scheduling and the gauges read of a cached experiment, without decoding it. */
export interface ExperimentHead {
  metadata: { name: string; namespace?: string | undefined; resourceVersion?: string | undefined };
  spec: { target: string; duration?: Experiment["spec"]["duration"] | undefined };
  status?: {
    stage?: NonNullable<Experiment["status"]>["stage"] | undefined;
    lastUpdateTime?: string | undefined;
    completedIterations?: number | undefined;
  };
}

/**
 * A cached experiment: its head, and the whole object as JSON text. A thousand decoded experiments
 * with their status history are about a hundred megabytes of small objects for the garbage
 * collector to trace; their text is a tenth of that, and every read decodes a fresh copy anyway.
 */
interface Entry {
  head: ExperimentHead;
  json: string;
}

/**
 * The cached form: the storage version, without `metadata.managedFields` (the API server's record
 * of who set which field, as large as the object's own structure and never read here; a write that
 * omits it keeps the server's).
 */
function entryOf(e: Experiment): Entry {
  const { managedFields: _, ...metadata } = e.metadata as Experiment["metadata"] & {
    managedFields?: unknown;
  };
  const stored: Experiment = { ...e, apiVersion: "iter8.tools/v2alpha2", kind: "Experiment", metadata };
  const st = e.status;
  const head: ExperimentHead = {
    metadata: {
      name: metadata.name,
      namespace: metadata.namespace,
      resourceVersion: metadata.resourceVersion,
    },
    spec: { target: e.spec?.target, duration: e.spec?.duration },
  };
  if (st)
    head.status = {
      stage: st.stage,
      lastUpdateTime: st.lastUpdateTime,
      completedIterations: st.completedIterations,
    };
  return { head, json: JSON.stringify(stored) };
}

const decode = (entry: Entry): Experiment => JSON.parse(entry.json) as Experiment;

export class ExperimentCache {
  readonly #opts: ExperimentCacheOptions;
  readonly #objects = new Map<string, Entry>();
  /** ns/name by spec.target. */
  readonly #byTarget = new Map<string, Set<string>>();
  /** resourceVersions of the controller's own writes not yet seen on the watch, by ns/name. */
  readonly #own = new Map<string, Set<string>>();
  /** Writes under way, by ns/name: the watch may deliver their echo before their answer arrives. */
  readonly #writing = new Map<string, number>();
  /** Versions the watch delivered during a write, judged when the write's answer is known. */
  readonly #held = new Map<string, { rv: string | undefined; added: boolean }>();
  #echoes = 0;

  constructor(opts: ExperimentCacheOptions) {
    this.#opts = opts;
  }

  /** Watch events that were the controller's own writes coming back (not passed on). */
  get echoesSkipped(): number {
    return this.#echoes;
  }

  get size(): number {
    return this.#objects.size;
  }

  /** Lists and watches every scope until `signal` aborts; `onSynced` once every scope has listed. */
  async run(signal: AbortSignal, onSynced: () => void): Promise<void> {
    const scopes = this.#opts.namespaces ?? [undefined];
    const synced = new Set<string>();
    await Promise.all(
      scopes.map((ns) =>
        listWatch<Experiment>({
          client: this.#opts.client,
          path: experimentsPath(ns),
          watchSeconds: this.#opts.relistSeconds ?? 300,
          relistOnEnd: true,
          onList: (items) => {
            this.#replaceScope(ns, items);
            synced.add(ns ?? "");
            if (synced.size === scopes.length) onSynced();
          },
          onEvent: (ev) => {
            if (ev.type === "DELETED") this.#remove(keyOf(ev.object), true);
            else if (ev.type === "ADDED" || ev.type === "MODIFIED") this.#observe(ev.object, ev.type);
          },
          onError: (err) => this.#opts.onError?.(ns, err),
          signal,
        }),
      ),
    );
  }

  /** A fresh copy of the cached experiment (the caller may change it). */
  get(key: ObjectKey): Experiment | undefined {
    const e = this.#objects.get(keyText(key));
    return e === undefined ? undefined : decode(e);
  }

  /** The head of a cached experiment: for reading only (scheduling, metrics). */
  peek(key: ObjectKey): Readonly<ExperimentHead> | undefined {
    return this.#objects.get(keyText(key))?.head;
  }

  /** The heads of every cached experiment: for reading only. */
  *peekAll(): Iterable<Readonly<ExperimentHead>> {
    for (const e of this.#objects.values()) yield e.head;
  }

  list(): Experiment[] {
    return [...this.#objects.values()].map(decode);
  }

  listByTarget(target: string): Experiment[] {
    const ids = this.#byTarget.get(target) ?? new Set<string>();
    return [...ids].map((id) => decode(this.#objects.get(id)!));
  }

  /** A write of `key` starts: what the watch says about it meanwhile waits for the answer. */
  beginWrite(key: ObjectKey): void {
    const id = keyText(key);
    this.#writing.set(id, (this.#writing.get(id) ?? 0) + 1);
  }

  /** The write of `key` ended (answered or failed): a held version that was not ours is a change. */
  endWrite(key: ObjectKey): void {
    const id = keyText(key);
    const left = (this.#writing.get(id) ?? 1) - 1;
    if (left > 0) {
      this.#writing.set(id, left);
      return;
    }
    this.#writing.delete(id);
    const held = this.#held.get(id);
    this.#held.delete(id);
    const cached = this.#objects.get(id);
    if (!held || !cached) return;
    if (held.rv !== undefined && this.#own.get(id)?.has(held.rv)) {
      this.#ownSeen(id, held.rv);
      return;
    }
    this.#opts.onChange(key, held.added ? "added" : "modified", decode(cached));
  }

  /** The answer to one of the controller's writes: cached now, and its watch echo ignored later. */
  recordWrite(written: Experiment): void {
    const id = keyText(keyOf(written));
    const rv = written.metadata.resourceVersion;
    if (rv !== undefined) {
      const own = this.#own.get(id) ?? new Set<string>();
      own.add(rv);
      this.#own.set(id, own);
    }
    const cached = this.#objects.get(id);
    if (!cached || newer(rv, cached.head.metadata.resourceVersion)) this.#put(id, entryOf(written));
  }

  /** A fresh read (after a conflict): cache it if it is newer, without telling anyone. */
  refresh(current: Experiment | undefined, key: ObjectKey): void {
    if (current === undefined) {
      this.#remove(key, false);
      return;
    }
    const id = keyText(key);
    const cached = this.#objects.get(id);
    if (!cached || newer(current.metadata.resourceVersion, cached.head.metadata.resourceVersion)) {
      this.#put(id, entryOf(current));
    }
  }

  #observe(obj: Experiment, type: "ADDED" | "MODIFIED" | "LISTED"): void {
    const key = keyOf(obj);
    const id = keyText(key);
    const rv = obj.metadata.resourceVersion;
    const cached = this.#objects.get(id);
    const own = this.#own.get(id);
    if (rv !== undefined && own?.has(rv)) {
      this.#ownSeen(id, rv);
      if (!cached || newer(rv, cached.head.metadata.resourceVersion)) this.#put(id, entryOf(obj));
      return;
    }
    if (cached && !newer(rv, cached.head.metadata.resourceVersion)) {
      // Already known (a relist of an unchanged object, or a write whose answer came first).
      if (type === "LISTED") this.#opts.onChange(key, "relisted", decode(cached));
      return;
    }
    this.#put(id, entryOf(obj));
    if (this.#writing.has(id)) {
      // Probably our write's echo, ahead of its answer: decide once the answer is in.
      const held = this.#held.get(id);
      this.#held.set(id, { rv, added: held?.added ?? !cached });
      return;
    }
    this.#opts.onChange(key, cached ? "modified" : "added", decode(this.#objects.get(id)!));
  }

  /** Our own write came back: versions up to this one will never be seen again. */
  #ownSeen(id: string, rv: string): void {
    const own = this.#own.get(id);
    if (own) {
      for (const v of own) if (!newer(v, rv)) own.delete(v);
      if (own.size === 0) this.#own.delete(id);
    }
    this.#echoes++;
    this.#opts.onEcho?.();
  }

  #replaceScope(namespace: string | undefined, items: Experiment[]): void {
    const seen = new Set(items.map((e) => keyText(keyOf(e))));
    for (const [id, e] of [...this.#objects]) {
      const inScope = namespace === undefined || namespaceOf(e.head) === namespace;
      if (inScope && !seen.has(id))
        this.#remove({ namespace: namespaceOf(e.head), name: e.head.metadata.name }, true);
    }
    for (const e of items) this.#observe(e, "LISTED");
  }

  #put(id: string, e: Entry): void {
    const before = this.#objects.get(id);
    if (before && before.head.spec.target !== e.head.spec.target) this.#unindex(id, before.head.spec.target);
    this.#objects.set(id, e);
    const target = e.head.spec.target;
    if (target !== undefined) {
      const set = this.#byTarget.get(target) ?? new Set<string>();
      set.add(id);
      this.#byTarget.set(target, set);
    }
  }

  #unindex(id: string, target: string | undefined): void {
    if (target === undefined) return;
    const set = this.#byTarget.get(target);
    set?.delete(id);
    if (set?.size === 0) this.#byTarget.delete(target);
  }

  #remove(key: ObjectKey, notify: boolean): void {
    const id = keyText(key);
    const before = this.#objects.get(id);
    if (!before) return;
    this.#unindex(id, before.head.spec.target);
    this.#objects.delete(id);
    this.#own.delete(id);
    if (notify) this.#opts.onChange(key, "deleted", undefined);
  }
}
