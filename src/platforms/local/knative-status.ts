// What Knative would report for a held Knative Service: Ready once every revision's process serves,
// `status.traffic` with `latestRevision` entries resolved to revision names, and the addresses a
// cluster would give it. Tasks (knative/init-experiment, common/readiness) read this.

import { knativeService, revisionsOf, statusTraffic } from "../../kinds/knative.ts";
import { isRecord } from "../../lib/objects.ts";
import { findObject } from "./held-objects.ts";

type Obj = Record<string, unknown>;

export function knativeStatus(
  objects: Obj[],
  namespace: string,
  name: string,
  revisionReady: (revision: string) => boolean,
): Obj {
  const revisions = revisionsOf(objects, namespace, name);
  const latest = revisions[revisions.length - 1]!;
  const svc = findObject(objects, knativeService, namespace, name)!;
  const ready = revisions.every((r) => revisionReady(r));
  const status = ready ? "True" : "Unknown";
  const conditions = ["ConfigurationsReady", "Ready", "RoutesReady"].map((type) => ({
    type,
    status,
    ...(ready ? {} : { reason: "RevisionMissing", message: "revision processes are not serving yet" }),
  }));
  const spec = isRecord(svc["spec"]) ? svc["spec"] : {};
  const traffic = statusTraffic(spec["traffic"], latest);
  return {
    observedGeneration: 1,
    conditions,
    latestCreatedRevisionName: latest,
    latestReadyRevisionName: ready ? latest : undefined,
    url: `http://${name}.${namespace}.example.com`,
    address: { url: `http://${name}.${namespace}.svc.cluster.local` },
    traffic,
  };
}

/** A Knative Service's traffic by revision (entries of one revision summed). */
export function trafficByRevision(objects: Obj[], namespace: string, name: string): Record<string, number> {
  const st = knativeStatus(objects, namespace, name, () => true);
  const out: Record<string, number> = {};
  for (const t of st["traffic"] as Obj[]) {
    const r = String(t["revisionName"]);
    out[r] = (out[r] ?? 0) + Number(t["percent"] ?? 0);
  }
  return out;
}
