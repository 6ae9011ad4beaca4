// Quantity values as numbers for the analytics: a value that cannot be read is "unavailable", never
// an exception, so a bad reading leaves an objective unsatisfied instead of crashing the iteration.
import { parseQuantity, QuantityError } from "../api/quantity.ts";
import type { Quantity } from "../api/types.ts";

export type NumberReading = { ok: true; value: number } | { ok: false; missing: boolean; reason: string };

export function readQuantity(q: Quantity | null | undefined): NumberReading {
  if (q === undefined || q === null) return { ok: false, missing: true, reason: "absent" };
  try {
    return { ok: true, value: parseQuantity(q) };
  } catch (err) {
    const reason = err instanceof QuantityError ? err.message : String(err);
    return { ok: false, missing: false, reason };
  }
}
