// Kubernetes Events on the Experiment for each recorded condition change. Best effort: an Event that cannot be written is logged,
// never a reason to fail the reconcile.

import { randomBytes } from "node:crypto";
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
  await client.request("POST", resourcePath("v1", "events", experiment.metadata.namespace ?? "default"), {
    body,
  });
}
