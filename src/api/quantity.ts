// Kubernetes quantities (`50`, `"0.01"`, `"10m"`, `"1.5e2"`, `"2Ki"`), the type of objective limits,
// mock levels and analysis values. The grammar is apimachinery's `resource.ParseQuantity`:
//
//   quantity ::= sign? number suffix?
//   number   ::= digits | digits "." digits? | "." digits
//   suffix   ::= Ki|Mi|Gi|Ti|Pi|Ei  |  n|u|m|k|M|G|T|P|E  |  (e|E) sign? digits
//
// The exponent must be an integer (apimachinery rejects `1e1.5` even though the CRD pattern allows it).

import type { Quantity } from "./types.ts";

/** The pattern the Kubernetes API server applies to quantity strings (emitted into the CRDs). */
export const QUANTITY_PATTERN =
  "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";

export class QuantityError extends Error {
  override readonly name = "QuantityError";
  readonly input: unknown;
  constructor(input: unknown, reason: string) {
    super(`${describeInput(input)} is not a valid quantity: ${reason}`);
    this.input = input;
  }
}

const SYNTAX = /^([+-]?)((?:[0-9]+(?:\.[0-9]*)?)|(?:\.[0-9]+))(.*)$/;
const EXPONENT = /^[eE]([+-]?[0-9]+)$/;
const DECIMAL_SI: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  "": 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_SI: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const HINT = 'expected a number with an optional suffix, e.g. 50, "0.01", "10m", "1.5e2", "2Ki"';

/** The numeric value of a quantity; throws `QuantityError` for anything else. */
export function parseQuantity(q: number | string): number {
  if (typeof q === "number") {
    if (!Number.isFinite(q)) throw new QuantityError(q, "it must be finite");
    return q;
  }
  if (typeof q !== "string") throw new QuantityError(q, "it must be a number or a string");
  if (q === "") throw new QuantityError(q, "it is empty");
  const m = SYNTAX.exec(q);
  if (!m) throw new QuantityError(q, HINT);
  const sign = m[1] === "-" ? -1 : 1;
  const digits = m[2]!;
  const suffix = m[3]!;
  let value: number;
  const binary = BINARY_SI[suffix];
  const decimal = DECIMAL_SI[suffix];
  if (binary !== undefined) {
    // Scaling by a power of two is exact.
    value = Number(digits) * 2 ** binary;
  } else if (decimal !== undefined) {
    // Let the number parser apply the power of ten so that "10m" is exactly the double nearest 0.01.
    value = Number(`${digits}e${decimal}`);
  } else {
    const e = EXPONENT.exec(suffix);
    if (!e) throw new QuantityError(q, `unknown suffix "${suffix}"; ${HINT}`);
    value = Number(`${digits}e${e[1]}`);
  }
  if (!Number.isFinite(value)) throw new QuantityError(q, "it is too large");
  return sign * value;
}

/** True when `q` parses as a quantity. */
export function isQuantity(q: unknown): q is Quantity {
  if (typeof q !== "number" && typeof q !== "string") return false;
  try {
    parseQuantity(q);
    return true;
  } catch {
    return false;
  }
}

/**
 * A number as a quantity the Kubernetes API accepts in an int-or-string field: safe integers stay
 * numbers, anything else becomes its shortest decimal string (`0.01`, `1e-7`, `1.5e+21`).
 */
export function formatQuantity(n: number): Quantity {
  if (!Number.isFinite(n)) throw new QuantityError(n, "it must be finite");
  if (Number.isSafeInteger(n)) return Object.is(n, -0) ? 0 : n;
  return String(n);
}

function describeInput(input: unknown): string {
  if (typeof input === "string") return JSON.stringify(input);
  if (typeof input === "number") return String(input);
  if (input === null) return "null";
  if (Array.isArray(input)) return "a list";
  return typeof input === "object" ? "a mapping" : String(input);
}
