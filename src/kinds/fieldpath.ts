// Field paths as `weightObjRef.fieldPath` writes them (`.spec.http[0].route[1].weight`,
// `.spec.traffic[1].percent`, `.spec.rules[0].backendRefs[1].weight`): one grammar, parsed into
// segments, read and written on plain objects, and converted to and from JSON pointers (what a
// Kubernetes JSON Patch and a v2alpha1 Experiment use). Every platform and the API use this module,
// so a path the validator accepts is exactly a path the actuators can follow.

export type Segment = string | number;

/** The grammar: one or more `.key`, each optionally followed by `[index]`s. */
export const FIELD_PATH_PATTERN = /^(\.[A-Za-z_][A-Za-z0-9_-]*(\[\d+\])*)+$/;

const STEP = /\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]/y;

/** True when `path` is a field path in the grammar above. */
export function isFieldPath(path: unknown): path is string {
  return typeof path === "string" && FIELD_PATH_PATTERN.test(path);
}

/** `.spec.http[0].route[1].weight` -> ["spec", "http", 0, "route", 1, "weight"]; throws naming the bad part. */
export function parseFieldPath(path: string): Segment[] {
  if (typeof path !== "string" || !path.startsWith(".")) {
    throw new Error(`field path must start with ".", got ${JSON.stringify(path)}`);
  }
  const out: Segment[] = [];
  let pos = 0;
  while (pos < path.length) {
    STEP.lastIndex = pos;
    const m = STEP.exec(path);
    if (!m) throw new Error(`field path ${JSON.stringify(path)}: cannot parse at "${path.slice(pos)}"`);
    out.push(m[1] !== undefined ? m[1] : Number(m[2]));
    pos = STEP.lastIndex;
  }
  return out;
}

export function formatFieldPath(path: readonly Segment[]): string {
  return path.map((s) => (typeof s === "number" ? `[${s}]` : `.${s}`)).join("");
}

/** `.spec.http[0].route[1].weight` -> `/spec/http/0/route/1/weight`. */
export function fieldPathToPointer(fieldPath: string): string {
  if (typeof fieldPath !== "string" || !fieldPath.startsWith("."))
    throw new Error(`fieldPath ${JSON.stringify(fieldPath)} must start with '.'`);
  return parseFieldPath(fieldPath)
    .map((s) => `/${String(s).replaceAll("~", "~0").replaceAll("/", "~1")}`)
    .join("");
}

/** `/spec/traffic/0/percent` -> `.spec.traffic[0].percent` (all-digit steps become indexes). */
export function pointerToFieldPath(pointer: string): string {
  return formatFieldPath(pointerSegments(pointer).map((s) => (/^\d+$/.test(s) ? Number(s) : s)));
}

/** `/a~1b/0` -> ["a/b", "0"]: a JSON pointer's reference tokens, unescaped. */
export function pointerSegments(pointer: string): string[] {
  return pointer
    .split("/")
    .slice(1)
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}

/** The value at a JSON pointer, or undefined. */
export function valueAtPointer(obj: unknown, pointer: string): unknown {
  let cur: unknown = obj;
  for (const seg of pointerSegments(pointer)) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = Array.isArray(cur) ? cur[Number(seg)] : (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/** The value at `path`, or undefined when any step is missing. */
export function getPath(obj: unknown, path: readonly Segment[]): unknown {
  let cur: unknown = obj;
  for (const s of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    if (typeof s === "number") {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[s];
    } else {
      if (Array.isArray(cur)) return undefined;
      cur = (cur as Record<string, unknown>)[s];
    }
  }
  return cur;
}

/**
 * Sets `value` at `path` (JSON Patch `add` semantics on existing containers): every container on the
 * way must exist, except that a missing last map key is created. Throws naming the failing step.
 */
export function setPath(obj: unknown, path: readonly Segment[], value: unknown): void {
  const parent = getPath(obj, path.slice(0, -1));
  const last = path[path.length - 1]!;
  const where = formatFieldPath(path.slice(0, -1)) || "the object";
  if (typeof last === "number") {
    if (!Array.isArray(parent)) throw new Error(`${where} is not a list`);
    if (last > parent.length) throw new Error(`${formatFieldPath(path)}: index out of range`);
    parent[last] = value;
    return;
  }
  if (parent === null || typeof parent !== "object" || Array.isArray(parent))
    throw new Error(`${where} is not a mapping`);
  (parent as Record<string, unknown>)[last] = value;
}

/** Removes the field at `path` if present. */
export function deletePath(obj: unknown, path: readonly Segment[]): void {
  const parent = getPath(obj, path.slice(0, -1));
  const last = path[path.length - 1]!;
  if (parent === null || typeof parent !== "object") return;
  if (Array.isArray(parent) && typeof last === "number") parent.splice(last, 1);
  else if (!Array.isArray(parent) && typeof last === "string")
    delete (parent as Record<string, unknown>)[last];
}
