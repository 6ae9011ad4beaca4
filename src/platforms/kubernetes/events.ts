// Kubernetes Events on the Experiment for each recorded condition change. Best effort: an Event that
// cannot be written is logged, never a reason to fail the reconcile. `EventRecorder` aggregates: an
// Event identical to one this process recorded for the same experiment in the last ten minutes (a
// retry that says the same thing again) is not sent again, and per-iteration Events can be turned
// off (`--iteration-events=false`), leaving the stage changes and the ending.

import { randomBytes } from "node:crypto";
import { namespaceOf } from "../../api/refs.ts";
import type { Experiment } from "../../api/types.ts";
import type { EngineEvent } from "../../engine/status.ts";
import { EVENT_SOURCE } from "./resources.ts";
import { type KubeClient, resourcePath } from "./rest.ts";

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

export async function recordEvent(
  client: KubeClient,
  experiment: Experiment,
  event: EngineEvent,
  host: string,
): Promise<void> {
  const body = eventFor(experiment, event, new Date(), host);
  await client.request("POST", resourcePath("v1", "events", namespaceOf(experiment)), {
    body,
  });
}

/** Reasons of the Events written once per iteration. */
const ITERATION_REASONS = new Set(["IterationUpdate"]);
const REPEAT_WINDOW_MS = 10 * 60_000;

export interface EventRecorderOptions {
  client: KubeClient;
  host: string;
  /** Record the Events of each iteration (default true). */
  iterationEvents?: boolean;
  onError?: (experiment: Experiment, err: unknown) => void;
  /** Called for each Event sent, and each one left out. */
  onRecorded?: (sent: boolean) => void;
}

export class EventRecorder {
  readonly #opts: EventRecorderOptions;
  /** Last time each (experiment uid or key, reason, message) was sent. */
  readonly #sent = new Map<string, number>();

  constructor(opts: EventRecorderOptions) {
    this.#opts = opts;
  }

  record(experiment: Experiment, event: EngineEvent): void {
    if (this.#opts.iterationEvents === false && ITERATION_REASONS.has(event.reason)) {
      this.#opts.onRecorded?.(false);
      return;
    }
    const md = experiment.metadata;
    const id = `${md.uid ?? `${md.namespace}/${md.name}`}|${event.reason}|${event.message ?? ""}`;
    const now = Date.now();
    const last = this.#sent.get(id);
    if (last !== undefined && now - last < REPEAT_WINDOW_MS) {
      this.#opts.onRecorded?.(false);
      return;
    }
    this.#sent.set(id, now);
    if (this.#sent.size > 10_000) this.#forgetBefore(now - REPEAT_WINDOW_MS);
    this.#opts.onRecorded?.(true);
    recordEvent(this.#opts.client, experiment, event, this.#opts.host).catch((err) =>
      this.#opts.onError?.(experiment, err),
    );
  }

  #forgetBefore(t: number): void {
    for (const [k, at] of this.#sent) if (at < t) this.#sent.delete(k);
  }
}
