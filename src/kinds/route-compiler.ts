// What the compilers of the explicit routing kinds (Istio VirtualService, Gateway API HTTPRoute)
// share: each object is compiled on its own once all are added and starts the same way (its name
// for the issues, a required metadata.name and spec); lists of mappings, mappings that hold one
// field, required names and request header changes are read the same way in both.

import { type CompileContext, type HeaderEdit, isRecord, type Obj, objectName } from "../router/compile.ts";
import type { HeaderOp, RuleDraft } from "../router/table.ts";
import type { KindCompiler } from "./types.ts";

/** Request header operations and an authority rewrite (setting Host), as a route level collects them. */
export interface HeaderChanges {
  ops: HeaderOp[];
  authority: string | null;
}

/** Adds one validated header edit (reported already when null) to `out`. */
export function addHeaderEdit(out: HeaderChanges, edit: HeaderEdit): void {
  if (edit && "op" in edit) out.ops.push(edit.op);
  else if (edit) out.authority = edit.authority;
}

/** `obj[key]` when it is a non-empty string; else "required" is reported at `path.key`. */
export function requiredString(ctx: CompileContext, obj: Obj, key: string, path: string): string | undefined {
  const value = obj[key];
  if (typeof value === "string" && value !== "") return value;
  ctx.issue(`${path}.${key}`, "required");
  return undefined;
}

/** An object's namespace, its `namespace/name` label and its spec. */
export interface ObjectHead {
  readonly namespace: string;
  readonly label: string;
  readonly spec: Obj;
}

export abstract class RouteCompiler implements KindCompiler {
  protected readonly ctx: CompileContext;
  readonly #objects: Array<{ obj: Obj; index: number }> = [];

  constructor(ctx: CompileContext) {
    this.ctx = ctx;
  }

  add(obj: Obj, index: number): void {
    this.#objects.push({ obj, index });
  }

  abstract rules(): RuleDraft[];

  /** What `compile` makes of every object, in the order they were added. */
  protected compileAll<T>(compile: (obj: Obj, index: number) => T[]): T[] {
    return this.#objects.flatMap(({ obj, index }) => compile(obj, index));
  }

  /** Calls `each` with every item of `list` that is a mapping and its path (`path[i]`); reports the rest. */
  protected eachMapping(
    list: readonly unknown[],
    path: string,
    each: (item: Obj, at: string, i: number) => void,
  ): void {
    list.forEach((item, i) => {
      const at = `${path}[${i}]`;
      if (isRecord(item)) each(item, at, i);
      else this.ctx.issue(at, "must be a mapping");
    });
  }

  /**
   * The field `key` of a mapping that may hold only it (`rewrite.authority`, `timeouts.request`);
   * undefined when it is absent or `raw` is not a mapping (reported as `notMapping`).
   */
  protected soleField(raw: unknown, path: string, key: string, notMapping: string): unknown {
    if (!isRecord(raw)) {
      this.ctx.issue(path, notMapping);
      return undefined;
    }
    this.ctx.onlyKeys(raw, [key], path, `only ${key}`);
    return raw[key];
  }

  /**
   * Names the object (`kind namespace/name`, `#index` when unnamed) for the issues that follow and
   * checks metadata.name; undefined when it has no spec (reported).
   */
  protected head(obj: Obj, index: number, kind: string): ObjectHead | undefined {
    const ctx = this.ctx;
    const { name, namespace } = objectName(obj);
    const label = `${namespace}/${typeof name === "string" ? name : `#${index}`}`;
    ctx.object = `${kind} ${label}`;
    if (typeof name !== "string" || name === "") ctx.issue("metadata.name", "required");
    const spec = obj["spec"];
    if (!isRecord(spec)) {
      ctx.issue("spec", "required");
      return undefined;
    }
    return { namespace, label, spec };
  }
}
