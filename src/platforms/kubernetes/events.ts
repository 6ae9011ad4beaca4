// Kubernetes Events on the Experiment for each recorded condition change. Best effort: an Event that
// cannot be written is logged, never a reason to fail the reconcile. `EventRecorder` aggregates: an
// Event identical to one this process recorded for the same experiment in the last ten minutes (a
// retry that says the same thing again) is not sent again, and per-iteration Events can be turned
// off (`--iteration-events=false`), leaving the stage changes and the ending.
//
// Events are sent from a bounded queue by at most two requests at a time, as client-go's event
// broadcaster sends from one goroutine: a thousand experiments starting together record thousands of
// Events, and sent all at once they would take the connections and the API server's time that the
// weight and status writes of on-time iterations need. A full queue drops its oldest Event (counted).

import { randomBytes } from "node:crypto";
import { namespaceOf } from "../../api/refs.ts";
import type { Experiment } from "../../api/types.ts";
import type { EngineEvent } from "../../engine/status.ts";
import { EVENT_SOURCE } from "./resources.ts";
import { KubeApiError, type KubeClient, resourcePath } from "./rest.ts";

export function eventFor(
  experiment: Experiment,
  event: EngineEvent,
  now: Date,
  host: string,
): Record<string, unknown> {
  const { namespace = "default", name, uid, resourceVersion } = experiment.metadata;
  const ts = now.toISOString();
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: `${name}.${randomBytes(8).toString("hex")}`, namespace },
    involvedObject: {
      apiVersion: experiment.apiVersion,
      kind: "Experiment",
      namespace,
      name,
      ...(uid ? { uid } : {}),
      ...(resourceVersion ? { resourceVersion } : {}),
    },
    reason: event.reason,
    message: event.message,
    type: "Normal",
    source: { component: EVENT_SOURCE, host },
    reportingComponent: EVENT_SOURCE,
    reportingInstance: host,
    firstTimestamp: ts,
    lastTimestamp: ts,
    count: 1,
  };
}

/** Reasons of the Events written once per iteration. */
const ITERATION_REASONS = new Set(["IterationUpdate"]);
const REPEAT_WINDOW_MS = 10 * 60_000;

export interface EventRecorderOptions {
  client: KubeClient;
  host: string;
  /** Record the Events of each iteration (default true). */
  iterationEvents?: boolean;
  /** Events sent at the same time (default 2). */
  maxInFlight?: number;
  /** Events waiting to be sent before the oldest is dropped (default 5,000). */
  maxQueued?: number;
  /** An Event could not be written; `experiment` is namespace/name. */
  onError?: (experiment: string, err: unknown) => void;
  /** Called for each Event queued to be sent, each one left out, and each one dropped unsent. */
  onRecorded?: (result: "sent" | "skipped" | "dropped") => void;
}

interface Pending {
  namespace: string;
  experiment: string;
  body: Record<string, unknown>;
}

export class EventRecorder {
  readonly #opts: EventRecorderOptions;
  /** Last time each (experiment uid or key, reason, message) was sent. */
  readonly #sent = new Map<string, number>();
  readonly #queue: Pending[] = [];
  /** Index of the next Event to send in #queue (shifting a long array on each send is O(n)). */
  #head = 0;
  #inFlight = 0;
  #closed = false;

  constructor(opts: EventRecorderOptions) {
    this.#opts = opts;
  }

  /** Events waiting to be sent. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  record(experiment: Experiment, event: EngineEvent): void {
    if (this.#opts.iterationEvents === false && ITERATION_REASONS.has(event.reason)) {
      this.#opts.onRecorded?.("skipped");
      return;
    }
    const md = experiment.metadata;
    const id = `${md.uid ?? `${md.namespace}/${md.name}`}|${event.reason}|${event.message ?? ""}`;
    const now = Date.now();
    const last = this.#sent.get(id);
    if (last !== undefined && now - last < REPEAT_WINDOW_MS) {
      this.#opts.onRecorded?.("skipped");
      return;
    }
    this.#sent.set(id, now);
    if (this.#sent.size > 10_000) this.#forgetBefore(now - REPEAT_WINDOW_MS);
    this.#opts.onRecorded?.("sent");
    // Only the Event's own body is kept, not the experiment it was made from.
    const namespace = namespaceOf(experiment);
    this.#enqueue({
      namespace,
      experiment: `${namespace}/${md.name}`,
      body: eventFor(experiment, event, new Date(now), this.#opts.host),
    });
  }

  /** Stops sending; what is still queued is dropped (Events are best effort), and counted. */
  close(): void {
    this.#closed = true;
    for (let i = 0; i < this.queued; i++) this.#opts.onRecorded?.("dropped");
    this.#queue.length = 0;
    this.#head = 0;
  }

  #enqueue(p: Pending): void {
    if (this.#closed) return;
    this.#queue.push(p);
    if (this.queued > (this.#opts.maxQueued ?? 5_000)) {
      this.#head++;
      this.#opts.onRecorded?.("dropped");
    }
    this.#pump();
  }

  #pump(): void {
    while (this.#inFlight < (this.#opts.maxInFlight ?? 2) && this.queued > 0) {
      const p = this.#queue[this.#head++]!;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#head);
        this.#head = 0;
      }
      this.#inFlight++;
      this.#opts.client
        .request("POST", resourcePath("v1", "events", p.namespace), { body: p.body })
        .catch((err) => {
          // AlreadyExists: Event names are random, so this is our own POST that the server had taken
          // and the client sent again; the Event is there.
          if (!(err instanceof KubeApiError && err.status === 409)) this.#opts.onError?.(p.experiment, err);
        })
        .finally(() => {
          this.#inFlight--;
          this.#pump();
        });
    }
  }

  #forgetBefore(t: number): void {
    for (const [k, at] of this.#sent) if (at < t) this.#sent.delete(k);
  }
}
