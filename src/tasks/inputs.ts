// Reading a task's `with` inputs with clear errors naming the field.

export type Input = Record<string, unknown>;

export class InputError extends Error {
  override readonly name = "InputError";
}

function describe(v: unknown): string {
  return v === null
    ? "null"
    : Array.isArray(v)
      ? "a list"
      : typeof v === "object"
        ? "an object"
        : JSON.stringify(v);
}

export function optString(input: Input, field: string): string | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new InputError(`with.${field} must be a string, got ${describe(v)}`);
  return v;
}

export function reqString(input: Input, field: string): string {
  const v = optString(input, field);
  if (v === undefined || v === "") throw new InputError(`with.${field} is required`);
  return v;
}

export function optBool(input: Input, field: string, dflt: boolean): boolean {
  const v = input[field];
  if (v === undefined || v === null) return dflt;
  if (typeof v === "boolean") return v;
  if (v === "true" || v === "false") return v === "true";
  throw new InputError(`with.${field} must be true or false, got ${describe(v)}`);
}

export function optNumber(
  input: Input,
  field: string,
  dflt: number,
  opts: { min?: number; integer?: boolean } = {},
): number {
  const v = input[field];
  if (v === undefined || v === null) return dflt;
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n))
    throw new InputError(`with.${field} must be a number, got ${describe(v)}`);
  if (opts.integer && !Number.isInteger(n))
    throw new InputError(`with.${field} must be a whole number, got ${n}`);
  if (opts.min !== undefined && n < opts.min)
    throw new InputError(`with.${field} must be at least ${opts.min}, got ${n}`);
  return n;
}

export function optList(input: Input, field: string): unknown[] | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new InputError(`with.${field} must be a list, got ${describe(v)}`);
  return v;
}

export function optObject(input: Input, field: string): Input | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v))
    throw new InputError(`with.${field} must be a map, got ${describe(v)}`);
  return v as Input;
}

/** Runs `read` and returns its error message as a problem list (for validation). */
export function problemsOf(read: () => unknown): string[] {
  try {
    read();
    return [];
  } catch (err) {
    if (err instanceof InputError) return [err.message];
    throw err;
  }
}

/** `ns/name` or `name` (in `defaultNs`) as an object key. */
export function parseObjectRef(
  ref: string,
  defaultNs: string,
  field: string,
): { namespace: string; name: string } {
  const parts = ref.split("/");
  if (parts.length === 1 && parts[0]) return { namespace: defaultNs, name: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { namespace: parts[0], name: parts[1] };
  throw new InputError(`with.${field} must be "name" or "namespace/name", got ${JSON.stringify(ref)}`);
}
