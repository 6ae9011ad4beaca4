// Numbers in the describe output: a quantity (limit or metric value) is printed as a decimal rounded
// toward +infinity to 3 places, always with 3 decimals (`0.000`, `0.010`, `330.682`, `50.000`), as
// iter8ctl's `inf.Dec.Round(3, RoundCeil)` did.

import { parseQuantity } from "../api/quantity.ts";
import type { Quantity } from "../api/types.ts";
import { ceilDecimalText } from "./decimal.ts";

/** Decimal places in every number of the describe output. */
export const DESCRIBE_DECIMALS = 3;

/**
 * Formats a quantity (`50`, `"0.01"`, `"10m"`, `"310319302313n"`) rounded up to 3 decimals.
 * The rounding is done on the shortest decimal text of the parsed value (which is the quantity's own
 * decimal digits for anything up to 15 significant digits), never on binary float arithmetic.
 * Throws the quantity parser's error, naming the value, for anything that is not a quantity.
 */
export function formatQuantityRoundedUp(q: Quantity): string {
  const value = parseQuantity(q);
  return ceilDecimalText(String(value), DESCRIBE_DECIMALS);
}

/** Compares two formatted values numerically (they share the same number of decimals). */
export function compareFormatted(a: string, b: string): number {
  const x = BigInt(a.replace(".", ""));
  const y = BigInt(b.replace(".", ""));
  return x < y ? -1 : x > y ? 1 : 0;
}
