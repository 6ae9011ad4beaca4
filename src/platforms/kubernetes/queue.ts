// The controller's work queue: keys ordered by the time they are due, not by arrival. Two lanes:
// `timed` holds iterations whose due time comes from the experiment's own schedule
// (`status.lastUpdateTime + intervalSeconds`); `asap` holds everything else (new experiments, the
// next step of one that is starting, changes made by others). A due timed key goes first, so that a
// crowd of experiments starting up cannot make the running ones late; within a lane the earliest
// due goes first, so a key that keeps its due time across the steps of its start-up is not sent to
// the back behind everyone else (start-up is depth-first, not breadth-first). When both lanes have
// due keys, every `ASAP_SHARE`th key comes from `asap`, so a backlog of iterations never starves
// experiments that are starting.

export type Lane = "timed" | "asap";

/** One in this many keys taken while both lanes are due comes from the asap lane. */
const ASAP_SHARE = 4;

interface Entry {
  id: string;
  due: number;
  seq: number;
  lane: Lane;
}

/** A binary min-heap by (due, seq). */
class Heap {
  readonly #items: Entry[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): Entry | undefined {
    return this.#items[0];
  }

  push(e: Entry): void {
    const a = this.#items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): Entry | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

export class DueQueue {
  readonly #lanes: Record<Lane, Heap> = { timed: new Heap(), asap: new Heap() };
  /** The live entry of each key (older heap entries of the key are skipped when they surface). */
  readonly #live = new Map<string, Entry>();
  #seq = 0;
  #timedInARow = 0;

  /** Keys waiting (due or not). */
  get size(): number {
    return this.#live.size;
  }

  has(id: string): boolean {
    return this.#live.has(id);
  }

  /** Queues `id` at `due` (ms since epoch); a key already queued keeps the earlier of the two. */
  add(id: string, due: number, lane: Lane): void {
    const live = this.#live.get(id);
    if (live && live.due <= due) return;
    const entry: Entry = { id, due, seq: this.#seq++, lane };
    this.#live.set(id, entry);
    this.#lanes[lane].push(entry);
  }

  delete(id: string): void {
    this.#live.delete(id);
  }

  /** The next key due at `now` (timed lane first), removed from the queue, with its due time. */
  take(now: number): { id: string; due: number; lane: Lane } | undefined {
    const timed = this.#top("timed");
    const asap = this.#top("asap");
    const timedDue = timed !== undefined && timed.due <= now;
    const asapDue = asap !== undefined && asap.due <= now;
    let lane: Lane | undefined;
    if (timedDue && asapDue) lane = this.#timedInARow >= ASAP_SHARE - 1 ? "asap" : "timed";
    else if (timedDue) lane = "timed";
    else if (asapDue) lane = "asap";
    if (lane === undefined) return undefined;
    this.#timedInARow = lane === "timed" ? this.#timedInARow + 1 : 0;
    const top = this.#lanes[lane].pop()!;
    this.#live.delete(top.id);
    return { id: top.id, due: top.due, lane };
  }

  /** When the earliest key becomes due, if any is queued. */
  nextDue(): number | undefined {
    const t = this.#top("timed")?.due;
    const a = this.#top("asap")?.due;
    if (t === undefined) return a;
    if (a === undefined) return t;
    return Math.min(t, a);
  }

  /** Keys already due at `now`. */
  dueCount(now: number): number {
    let n = 0;
    for (const e of this.#live.values()) if (e.due <= now) n++;
    return n;
  }

  #top(lane: Lane): Entry | undefined {
    const heap = this.#lanes[lane];
    for (;;) {
      const top = heap.peek();
      if (!top || this.#live.get(top.id) === top) return top;
      heap.pop();
    }
  }
}
