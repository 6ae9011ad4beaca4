// The local TrafficActuator: reads and writes the raw values at weight fields of the held objects;
// all writes of one change are applied as one new routing state.

import type { FieldWrite, TrafficActuator, WeightField } from "../../engine/ports.ts";
import { getPath, setPath } from "../../kinds/fieldpath.ts";
import { type HeldObjects, weightTarget } from "./held-objects.ts";

export class LocalActuator implements TrafficActuator {
  readonly #held: HeldObjects;

  constructor(held: HeldObjects) {
    this.#held = held;
  }

  async readFields(fields: readonly WeightField[]): Promise<unknown[]> {
    return fields.map((f) => {
      const { obj, path } = weightTarget(this.#held.objects, f);
      // A copy: the held objects change only through commit.
      return structuredClone(getPath(obj, path));
    });
  }

  writeFields(writes: readonly FieldWrite[]): Promise<void> {
    return this.#held.serial(async () => {
      const state = this.#held.state;
      for (const { field, value } of writes) {
        const { obj, path } = weightTarget(state.objects, field);
        setPath(obj, path, value);
      }
      await this.#held.commit(state);
    });
  }
}
