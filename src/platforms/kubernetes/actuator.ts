// Traffic on Kubernetes: each version's weight is one integer field
// of some object named by its `weightObjRef`. Reading evaluates the fieldPath on the object; writing
// sends one JSON Patch per object with an `add` op for every field of that object, so a Knative
// traffic block never passes through a state that does not sum to 100.

import type { Experiment, VersionWeight, WeightObjRef } from "../../api/types.ts";
import type { TrafficActuator } from "../../engine/ports.ts";
import { allVersions, withRemainingWeight } from "../../engine/weights.ts";
import { fieldPathToPointer, valueAtPointer } from "../../kinds/fieldpath.ts";
import type { Discovery } from "./discovery.ts";
import { JSON_PATCH, type KubeClient, resourcePath } from "./rest.ts";

// The field-path grammar and its JSON pointers are shared with the API and the local platform.
export { fieldPathToPointer, valueAtPointer };

interface Target {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

function targetOf(exp: Experiment, ref: WeightObjRef): Target {
  if (!ref.apiVersion || !ref.kind || !ref.name) {
    throw new Error("weightObjRef needs apiVersion, kind and name");
  }
  return {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    namespace: ref.namespace || exp.metadata.namespace || "default",
    name: ref.name,
  };
}

const targetKey = (t: Target) => `${t.apiVersion}|${t.kind}|${t.namespace}|${t.name}`;

/** How long the answer to a weight PATCH stands in for the read that follows it. */
const WRITTEN_FRESH_MS = 2000;

export class KubeTrafficActuator implements TrafficActuator {
  readonly #client: KubeClient;
  readonly #discovery: Discovery;
  /** The objects as the API server answered our last PATCH of each, for the read-back after it. */
  readonly #written = new Map<string, { at: number; object: Record<string, unknown> }>();

  constructor(client: KubeClient, discovery: Discovery) {
    this.#client = client;
    this.#discovery = discovery;
  }

  async #path(t: Target): Promise<string> {
    const r = await this.#discovery.forKind(t.apiVersion, t.kind);
    return resourcePath(t.apiVersion, r.plural, r.namespaced ? t.namespace : undefined, t.name);
  }

  async read(experiment: Experiment): Promise<VersionWeight[]> {
    const versions = allVersions(experiment);
    const cache = new Map<string, Promise<Record<string, unknown>>>();
    const known: VersionWeight[] = [];
    const missing: string[] = [];
    for (const v of versions) {
      const ref = v.weightObjRef;
      if (!ref?.fieldPath) {
        missing.push(v.name);
        continue;
      }
      const t = targetOf(experiment, ref);
      const k = targetKey(t);
      if (!cache.has(k))
        cache.set(
          k,
          this.#path(t).then((p) => this.#takeWritten(p) ?? this.#client.get(p)),
        );
      const obj = await cache.get(k)!;
      const pointer = fieldPathToPointer(ref.fieldPath);
      const raw = valueAtPointer(obj, pointer);
      const value = typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw) : Number.NaN;
      if (!Number.isInteger(value)) {
        throw new Error(
          `${t.kind} ${t.namespace}/${t.name} has no integer at ${ref.fieldPath} (found ${JSON.stringify(raw)})`,
        );
      }
      known.push({ name: v.name, value });
    }
    return withRemainingWeight(experiment, known, missing);
  }

  async apply(experiment: Experiment, weights: VersionWeight[]): Promise<void> {
    const byObject = new Map<string, { target: Target; ops: { op: "add"; path: string; value: number }[] }>();
    for (const v of allVersions(experiment)) {
      const ref = v.weightObjRef;
      if (!ref?.fieldPath) continue;
      const w = weights.find((x) => x.name === v.name);
      if (!w) throw new Error(`no weight recommended for version ${v.name}`);
      const t = targetOf(experiment, ref);
      const k = targetKey(t);
      const entry = byObject.get(k) ?? { target: t, ops: [] };
      entry.ops.push({ op: "add", path: fieldPathToPointer(ref.fieldPath), value: w.value });
      byObject.set(k, entry);
    }
    for (const { target, ops } of byObject.values()) {
      const path = await this.#path(target);
      const object = await this.#client.request("PATCH", path, { body: ops, contentType: JSON_PATCH });
      this.#written.set(path, { at: Date.now(), object });
    }
  }

  /** The PATCH answer carries the object: the read right after a write uses it instead of a GET. */
  #takeWritten(path: string): Record<string, unknown> | undefined {
    const hit = this.#written.get(path);
    if (!hit) return undefined;
    this.#written.delete(path);
    return Date.now() - hit.at <= WRITTEN_FRESH_MS ? hit.object : undefined;
  }
}
