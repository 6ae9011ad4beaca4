// Traffic on Kubernetes: reads and writes the raw weight fields the engine names. Reading evaluates
// each fieldPath on its object (one GET per object per read); writing sends one JSON Patch per
// object with an `add` op for every field of that object, so a Knative traffic block never passes
// through a state that does not sum to 100. What the values mean is the engine's business.

import type { FieldWrite, TrafficActuator, WeightField } from "../../engine/ports.ts";
import { fieldPathToPointer, valueAtPointer } from "../../kinds/fieldpath.ts";
import type { Discovery } from "./discovery.ts";
import { JSON_PATCH, type KubeClient, resourcePath } from "./rest.ts";

// The field-path grammar and its JSON pointers are shared with the API and the local platform.
export { fieldPathToPointer, valueAtPointer };

type Target = Pick<WeightField, "apiVersion" | "kind" | "namespace" | "name">;

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
    // Discovery finds a resource by group and version; a kind alone may name several.
    if (!t.apiVersion)
      throw new Error(`${t.kind} ${t.namespace}/${t.name}: weightObjRef needs an apiVersion`);
    const r = await this.#discovery.forKind(t.apiVersion, t.kind);
    return resourcePath(t.apiVersion, r.plural, r.namespaced ? t.namespace : undefined, t.name);
  }

  async readFields(fields: readonly WeightField[]): Promise<unknown[]> {
    const objects = new Map<string, Promise<Record<string, unknown>>>();
    const out: unknown[] = [];
    for (const f of fields) {
      const k = targetKey(f);
      if (!objects.has(k))
        objects.set(
          k,
          this.#path(f).then((p) => this.#takeWritten(p) ?? this.#client.get(p)),
        );
      out.push(valueAtPointer(await objects.get(k)!, fieldPathToPointer(f.fieldPath)));
    }
    return out;
  }

  async writeFields(writes: readonly FieldWrite[]): Promise<void> {
    const byObject = new Map<string, { target: Target; ops: { op: "add"; path: string; value: number }[] }>();
    for (const { field, value } of writes) {
      const k = targetKey(field);
      const entry = byObject.get(k) ?? { target: field, ops: [] };
      entry.ops.push({ op: "add", path: fieldPathToPointer(field.fieldPath), value });
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
