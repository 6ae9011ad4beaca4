// Field paths as `weightObjRef.fieldPath` writes them (`.spec.http[0].route[1].weight`,
// `.spec.traffic[1].percent`): parsed into segments, read and written on plain objects. The same
// conversion etc3 applies, with its limits stated as errors instead of silent misses.

export type Segment = string | number;

/** `.spec.http[0].route[1].weight` -> ["spec", "http", 0, "route", 1, "weight"]. */
export function parseFieldPath(path: string): Segment[] {
  if (typeof path !== "string" || !path.startsWith(".")) {
    throw new Error(`field path must start with ".", got ${JSON.stringify(path)}`);
  }
  const out: Segment[] = [];
  const re = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]/y;
  let pos = 0;
  while (pos < path.length) {
    re.lastIndex = pos;
    const m = re.exec(path);
    if (!m) throw new Error(`field path ${JSON.stringify(path)}: cannot parse at "${path.slice(pos)}"`);
    out.push(m[1] !== undefined ? m[1] : Number(m[2]));
    pos = re.lastIndex;
  }
  if (out.length === 0) throw new Error(`field path ${JSON.stringify(path)} names no field`);
  return out;
}

/** The value at `path`, or undefined when any step is missing. */
export function getPath(obj: unknown, path: Segment[]): unknown {
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
export function setPath(obj: unknown, path: Segment[], value: unknown): void {
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
export function deletePath(obj: unknown, path: Segment[]): void {
  const parent = getPath(obj, path.slice(0, -1));
  const last = path[path.length - 1]!;
  if (parent === null || typeof parent !== "object") return;
  if (Array.isArray(parent) && typeof last === "number") parent.splice(last, 1);
  else if (!Array.isArray(parent) && typeof last === "string")
    delete (parent as Record<string, unknown>)[last];
}

export function formatFieldPath(path: Segment[]): string {
  return path.map((s) => (typeof s === "number" ? `[${s}]` : `.${s}`)).join("");
}
