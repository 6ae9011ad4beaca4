// Target locking: experiments on one target run one after
// another, the earliest `initTime` first, ties broken by namespace/name. Because the order is total,
// only the first uncompleted contender can acquire, so two engines never both hold a target.

import { namespaceOf } from "../api/refs.ts";
import type { Experiment } from "../api/types.ts";
import type { ObjectKey } from "./ports.ts";
import { conditionIs, isCompleted } from "./status.ts";

export function keyOf(exp: Experiment): ObjectKey {
  return { namespace: namespaceOf(exp), name: exp.metadata.name };
}

export function keyText(key: ObjectKey): string {
  return `${key.namespace}/${key.name}`;
}

/** Negative when `a` comes before `b` in the queue for a target. */
export function compareQueueOrder(a: Experiment, b: Experiment): number {
  const ta = Date.parse(a.status?.initTime ?? "");
  const tb = Date.parse(b.status?.initTime ?? "");
  if (ta !== tb) return ta - tb;
  const ka = keyText(keyOf(a));
  const kb = keyText(keyOf(b));
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Initialised, not completed experiments on the same target, other than `exp` itself. */
export function contenders(exp: Experiment, all: Experiment[]): Experiment[] {
  const self = keyText(keyOf(exp));
  return all.filter(
    (other) =>
      other.spec?.target === exp.spec.target &&
      keyText(keyOf(other)) !== self &&
      other.status?.initTime !== undefined &&
      !isCompleted(other),
  );
}

/** Whether `exp` may take the target now: nobody holds it and nobody is ahead in the queue. */
export function mayAcquire(exp: Experiment, all: Experiment[]): boolean {
  return contenders(exp, all).every(
    (other) => !conditionIs(other, "TargetAcquired", "True") && compareQueueOrder(other, exp) > 0,
  );
}

/** The experiment that should run next on `target` once the current holder ends, if any. */
export function nextInQueue(target: string, all: Experiment[], except?: ObjectKey): Experiment | undefined {
  const skip = except ? keyText(except) : undefined;
  return all
    .filter(
      (e) =>
        e.spec?.target === target &&
        e.status?.initTime !== undefined &&
        !isCompleted(e) &&
        keyText(keyOf(e)) !== skip,
    )
    .sort(compareQueueOrder)[0];
}
