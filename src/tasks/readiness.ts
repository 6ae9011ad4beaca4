// `common/readiness`: after an initial delay, check that every
// listed object (plus every version's weightObjRef object) exists and, when `waitFor` is given,
// satisfies it; retry every `intervalSeconds` until all pass or the retries are used up.
// Objects are read through the platform hook, so locally the lab answers for them.

import { namespaceOf } from "../api/refs.ts";
import type { Experiment } from "../api/types.ts";
import { errorText } from "../lib/errors.ts";
import { type Input, InputError, optList, optNumber, problemsOf } from "./inputs.ts";
import type { ObjectRef, TaskContext, TaskImpl, TaskPlatform } from "./types.ts";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

interface ReadinessRef extends ObjectRef {
  waitFor?: string;
}

interface ReadinessInput {
  initialDelayMs: number;
  numRetries: number;
  intervalMs: number;
  objRefs: ReadinessRef[];
}

function readInput(input: Input, exp: Experiment | undefined): ReadinessInput {
  const ns = exp ? namespaceOf(exp) : "default";
  const objRefs = (optList(input, "objRefs") ?? []).map((o, i): ReadinessRef => {
    const r = o as Record<string, unknown>;
    if (!o || typeof o !== "object") throw new InputError(`with.objRefs[${i}] must be a map`);
    if (typeof r["kind"] !== "string" || r["kind"] === "")
      throw new InputError(`with.objRefs[${i}].kind is required`);
    if (typeof r["name"] !== "string" || !DNS_LABEL.test(r["name"])) {
      throw new InputError(`with.objRefs[${i}].name must be a DNS label, got ${JSON.stringify(r["name"])}`);
    }
    if (r["namespace"] !== undefined && typeof r["namespace"] !== "string") {
      throw new InputError(`with.objRefs[${i}].namespace must be a string`);
    }
    if (r["waitFor"] !== undefined && typeof r["waitFor"] !== "string") {
      throw new InputError(`with.objRefs[${i}].waitFor must be a string`);
    }
    if (typeof r["waitFor"] === "string") waitForProblem(r["waitFor"], `with.objRefs[${i}].waitFor`);
    const ref: ReadinessRef = {
      kind: r["kind"],
      name: r["name"],
      namespace: (r["namespace"] as string) || ns,
    };
    if (r["waitFor"]) ref.waitFor = r["waitFor"] as string;
    return ref;
  });
  return {
    initialDelayMs: optNumber(input, "initialDelaySeconds", 5, { min: 0 }) * 1000,
    numRetries: optNumber(input, "numRetries", 12, { min: 0, integer: true }),
    intervalMs: optNumber(input, "intervalSeconds", 5, { min: 0 }) * 1000,
    objRefs,
  };
}

/** `kubectl wait --for` forms: `delete`, `condition=Type[=value]`, `jsonpath={.path}=value`. */
function waitForProblem(waitFor: string, field: string): void {
  if (waitFor === "delete" || /^condition=[^=]+(=.+)?$/.test(waitFor) || /^jsonpath=.+$/.test(waitFor))
    return;
  throw new InputError(
    `${field} must be "delete", "condition=<type>[=<value>]" or "jsonpath=<path>=<value>", got ${JSON.stringify(waitFor)}`,
  );
}

function pathValue(obj: unknown, path: string): unknown {
  const segs = path
    .replace(/^\{|\}$/g, "")
    .replace(/^\./, "")
    .split(/\.|\[(\d+)\]/)
    .filter((s) => s !== undefined && s !== "");
  let cur: unknown = obj;
  for (const s of segs) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = Array.isArray(cur) ? cur[Number(s)] : (cur as Record<string, unknown>)[s];
  }
  return cur;
}

/** Why `obj` does not satisfy `waitFor`, or undefined when it does. */
export function unmetWaitFor(
  obj: Record<string, unknown> | undefined,
  waitFor: string | undefined,
): string | undefined {
  if (waitFor === "delete") return obj === undefined ? undefined : "still exists";
  if (obj === undefined) return "not found";
  if (!waitFor) return undefined;
  const cond = /^condition=([^=]+)(?:=(.+))?$/.exec(waitFor);
  if (cond) {
    const [, type, want = "True"] = cond;
    const conditions =
      (pathValue(obj, ".status.conditions") as Array<Record<string, unknown>> | undefined) ?? [];
    const c = Array.isArray(conditions)
      ? conditions.find((x) => String(x["type"]).toLowerCase() === type!.toLowerCase())
      : undefined;
    if (!c) return `condition ${type} not reported`;
    return String(c["status"]).toLowerCase() === want.toLowerCase()
      ? undefined
      : `condition ${type} is ${String(c["status"])}`;
  }
  const jp = /^jsonpath=(.+?)=([^=]*)$/.exec(waitFor);
  if (jp) {
    const got = pathValue(obj, jp[1]!.replace(/^'|'$/g, ""));
    const want = jp[2]!.replace(/^'|'$/g, "");
    return String(got) === want ? undefined : `${jp[1]} is ${JSON.stringify(got)}, want ${want}`;
  }
  return `unsupported waitFor ${waitFor}`;
}

async function check(platform: TaskPlatform, refs: ReadinessRef[]): Promise<string[]> {
  const problems: string[] = [];
  for (const ref of refs) {
    let obj: Record<string, unknown> | undefined;
    try {
      obj = await platform.getObject(ref);
    } catch (err) {
      problems.push(`${ref.kind} ${ref.namespace}/${ref.name}: ${errorText(err)}`);
      continue;
    }
    const why = unmetWaitFor(obj, ref.waitFor);
    if (why) problems.push(`${ref.kind} ${ref.namespace}/${ref.name}: ${why}`);
  }
  return problems;
}

export function weightObjRefs(exp: Experiment): ReadinessRef[] {
  const info = exp.spec.versionInfo;
  if (!info) return [];
  const out: ReadinessRef[] = [];
  for (const v of [info.baseline, ...(info.candidates ?? [])]) {
    const w = v.weightObjRef;
    if (!w?.kind || !w.name) continue;
    const ref: ReadinessRef = {
      kind: w.kind,
      name: w.name,
      namespace: w.namespace || namespaceOf(exp),
    };
    if (w.apiVersion) ref.apiVersion = w.apiVersion;
    if (!out.some((o) => o.kind === ref.kind && o.name === ref.name && o.namespace === ref.namespace))
      out.push(ref);
  }
  return out;
}

export const readinessTask: TaskImpl = {
  name: "common/readiness",
  validate: (input) => problemsOf(() => readInput(input, undefined)),
  timeoutMs: (input) => {
    const r = readInput(input, undefined);
    // Enough for every attempt plus a margin for the reads themselves.
    return r.initialDelayMs + r.numRetries * r.intervalMs + (r.numRetries + 1) * 10_000;
  },
  async run(ctx: TaskContext, input: Input) {
    const r = readInput(input, ctx.experiment);
    const refs = [...r.objRefs, ...weightObjRefs(ctx.experiment)];
    if (r.initialDelayMs > 0) await ctx.clock.sleep(r.initialDelayMs, ctx.signal);
    for (let attempt = 0; ; attempt++) {
      const problems = await check(ctx.platform, refs);
      if (problems.length === 0) {
        ctx.log(`all ${refs.length} objects ready after ${attempt + 1} attempt(s)\n`);
        return;
      }
      ctx.log(`attempt ${attempt + 1}: ${problems.join("; ")}\n`);
      if (attempt >= r.numRetries)
        throw new Error(`objects not ready after ${attempt + 1} attempts: ${problems.join("; ")}`);
      await ctx.clock.sleep(r.intervalMs, ctx.signal);
    }
  },
};
