// The local TrafficActuator: reads and writes the integer at each version's `weightObjRef.fieldPath`
// in the held objects; all weights of one change are applied as one new routing state.

import type { Experiment, VersionWeight } from "../../api/types.ts";
import type { TrafficActuator } from "../../engine/ports.ts";
import { allVersions, withRemainingWeight } from "../../engine/weights.ts";
import { getPath, setPath } from "../../kinds/fieldpath.ts";
import { type HeldObjects, weightTarget } from "./held-objects.ts";

export class LocalActuator implements TrafficActuator {
  readonly #held: HeldObjects;

  constructor(held: HeldObjects) {
    this.#held = held;
  }

  async read(exp: Experiment): Promise<VersionWeight[]> {
    const out: VersionWeight[] = [];
    const missing: string[] = [];
    for (const v of allVersions(exp)) {
      if (!v.weightObjRef) {
        missing.push(v.name);
        continue;
      }
      const { obj, path, kind } = weightTarget(this.#held.objects, exp, v);
      // An absent weight field means what the kind says (Istio 0, Gateway API 1, ...).
      const value = getPath(obj, path) ?? kind.absentWeight(path);
      if (typeof value !== "number" || !Number.isInteger(value))
        throw new Error(
          `version ${v.name}: ${v.weightObjRef.fieldPath} is ${JSON.stringify(value)}, not an integer`,
        );
      out.push({ name: v.name, value });
    }
    return withRemainingWeight(exp, out, missing);
  }

  apply(exp: Experiment, weights: VersionWeight[]): Promise<void> {
    return this.#held.serial(async () => {
      const state = this.#held.state;
      for (const v of allVersions(exp)) {
        if (!v.weightObjRef?.fieldPath) continue;
        const w = weights.find((x) => x.name === v.name);
        if (!w) continue;
        const { obj, path } = weightTarget(state.objects, exp, v);
        setPath(obj, path, w.value);
      }
      await this.#held.commit(state);
    });
  }
}
