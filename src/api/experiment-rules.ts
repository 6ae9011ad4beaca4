// The static rules of an Experiment that a JSON Schema cannot express: metadata names, unique
// version names, fieldPath syntax, reward counts per testing pattern, criteria limits as quantities,
// task names and conditions, version counts where the spec fixes them, status values. Each problem
// is named by its field path; validate.ts runs these after the schema.

import { isFieldPath } from "../kinds/fieldpath.ts";
import { isRecord, type Obj } from "../lib/objects.ts";
import { parseCondition } from "./condition.ts";
import { childPath } from "./paths.ts";
import { isQuantity, parseQuantity } from "./quantity.ts";
import { refProblem } from "./refs.ts";
import { strengthProblems } from "./strength.ts";
import type { Problem, TestingPattern } from "./types.ts";

/** Actions the engine runs; others are reported as warnings. */
export const ACTION_NAMES = ["start", "loop", "finish"] as const;

export const asList = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);

export const TYPE_NAMES: Record<string, string> = {
  integer: "an integer",
  number: "a number",
  string: "a string",
  boolean: "true or false",
  object: "a mapping",
  array: "a list",
};

export function describeValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return String(v);
}

// ---- rules --------------------------------------------------------------------------------

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function checkMetadata(raw: Obj, out: Problem[]): void {
  const md = raw["metadata"];
  if (md === undefined) {
    out.push({ path: "metadata.name", message: "is required" });
    return;
  }
  if (!isRecord(md)) {
    out.push({ path: "metadata", message: "must be a mapping" });
    return;
  }
  const name = md["name"];
  if (name === undefined || name === "") {
    if (typeof md["generateName"] !== "string" || md["generateName"] === "") {
      out.push({ path: "metadata.name", message: "is required" });
    }
  } else if (typeof name !== "string") {
    out.push({ path: "metadata.name", message: `must be a string (got ${describeValue(name)})` });
  } else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    out.push({
      path: "metadata.name",
      message: `${describeValue(name)} is not a valid name: lower-case letters, digits, - and ., starting and ending with a letter or digit`,
    });
  }
  const ns = md["namespace"];
  if (ns !== undefined && (typeof ns !== "string" || ns.length > 63 || !DNS_LABEL.test(ns))) {
    out.push({ path: "metadata.namespace", message: `${describeValue(ns)} is not a valid namespace name` });
  }
}

export function checkRef(path: string, ref: unknown, out: Problem[]): void {
  if (typeof ref !== "string" || ref === "") return; // the schema reports it
  const p = refProblem(ref);
  if (p) out.push({ path, message: p });
}

export function checkQuantity(path: string, q: unknown, out: Problem[]): number | undefined {
  if (typeof q !== "number" && typeof q !== "string") return undefined;
  try {
    return parseQuantity(q);
  } catch (err) {
    out.push({ path, message: (err as Error).message });
    return undefined;
  }
}

export interface ExperimentView {
  v1: boolean;
  spec: Obj;
  pattern: TestingPattern | undefined;
}

export function versions(spec: Obj): { path: string; v: Obj }[] {
  const vi = isRecord(spec["versionInfo"]) ? spec["versionInfo"] : undefined;
  if (!vi) return [];
  const out: { path: string; v: Obj }[] = [];
  if (isRecord(vi["baseline"])) out.push({ path: "spec.versionInfo.baseline", v: vi["baseline"] });
  asList(vi["candidates"]).forEach((c, i) => {
    if (isRecord(c)) out.push({ path: `spec.versionInfo.candidates[${i}]`, v: c });
  });
  return out;
}

export function checkVersionNames(spec: Obj, out: Problem[]): void {
  const seen = new Map<string, string>();
  for (const { path, v } of versions(spec)) {
    const name = v["name"];
    if (typeof name !== "string" || name === "") continue;
    const first = seen.get(name);
    if (first)
      out.push({ path: `${path}.name`, message: `duplicate version name "${name}" (also ${first}.name)` });
    else seen.set(name, path);
  }
}

export function checkFieldPaths(view: ExperimentView, out: Problem[]): void {
  for (const { path, v } of versions(view.spec)) {
    const ref = v["weightObjRef"];
    if (!isRecord(ref) || typeof ref["fieldPath"] !== "string") continue;
    const fp = ref["fieldPath"];
    const p = `${path}.weightObjRef.fieldPath`;
    if (view.v1 && fp.startsWith("/")) continue; // a v2alpha1 JSON pointer, converted on upgrade
    if (!fp.startsWith(".")) {
      out.push({
        path: p,
        message: `must start with '.' (e.g. .spec.traffic[0].percent), got ${describeValue(fp)}`,
      });
    } else if (!isFieldPath(fp)) {
      out.push({
        path: p,
        message: `${describeValue(fp)} is not a field path like .spec.http[0].route[1].weight`,
      });
    }
  }
}

export const REWARDS_NEEDED: Record<TestingPattern, number> = {
  Canary: 0,
  Conformance: 0,
  "A/B": 1,
  "A/B/N": 1,
};

export function checkRewards(view: ExperimentView, out: Problem[]): void {
  if (!view.pattern) return;
  const criteria = isRecord(view.spec["criteria"]) ? view.spec["criteria"] : {};
  const path = view.v1 ? "spec.criteria.reward" : "spec.criteria.rewards";
  const count = view.v1
    ? criteria["reward"] === undefined || criteria["reward"] === null
      ? 0
      : 1
    : Array.isArray(criteria["rewards"])
      ? criteria["rewards"].length
      : 0;
  const need = REWARDS_NEEDED[view.pattern];
  if (count === need) return;
  out.push({
    path,
    message:
      need === 1
        ? `${view.pattern} experiments need exactly one reward (found ${count})`
        : `${view.pattern} experiments take no rewards (found ${count})`,
  });
}

export function checkCriteria(view: ExperimentView, out: Problem[], warnings: Problem[]): void {
  const c = view.spec["criteria"];
  if (!isRecord(c)) return;
  checkRef("spec.criteria.requestCount", c["requestCount"], out);
  if (view.v1) {
    if (isRecord(c["reward"])) checkRef("spec.criteria.reward.metric", c["reward"]["metric"], out);
  } else {
    asList(c["rewards"]).forEach((r, i) => {
      if (isRecord(r)) checkRef(`spec.criteria.rewards[${i}].metric`, r["metric"], out);
    });
  }
  asList(c["indicators"]).forEach((m, i) => {
    checkRef(`spec.criteria.indicators[${i}]`, m, out);
  });
  asList(c["objectives"]).forEach((o, i) => {
    if (!isRecord(o)) return;
    const path = `spec.criteria.objectives[${i}]`;
    checkRef(`${path}.metric`, o["metric"], out);
    const upper = checkQuantity(`${path}.upperLimit`, o["upperLimit"], out);
    const lower = checkQuantity(`${path}.lowerLimit`, o["lowerLimit"], out);
    if (upper !== undefined && lower !== undefined && lower > upper) {
      out.push({ path: `${path}.lowerLimit`, message: `must be <= upperLimit (${lower} > ${upper})` });
    }
    if (o["upperLimit"] === undefined && o["lowerLimit"] === undefined) {
      warnings.push({ path, message: "has neither upperLimit nor lowerLimit, so it is always satisfied" });
    }
  });
  if (!view.v1) out.push(...strengthProblems(c["strength"]));
}

export function checkActions(
  view: ExperimentView,
  knownTasks: readonly string[],
  out: Problem[],
  warnings: Problem[],
): void {
  const strategy = isRecord(view.spec["strategy"]) ? view.spec["strategy"] : {};
  const actions = strategy["actions"];
  if (!isRecord(actions)) return;
  for (const [action, tasks] of Object.entries(actions)) {
    const actionPath = childPath("spec.strategy.actions", action);
    if (!(ACTION_NAMES as readonly string[]).includes(action)) {
      warnings.push({
        path: actionPath,
        message: `is never run: the actions are ${ACTION_NAMES.join(", ")}`,
      });
    }
    asList(tasks).forEach((t, i) => {
      if (!isRecord(t)) return;
      const path = `${actionPath}[${i}]`;
      if (view.v1) {
        if (typeof t["library"] === "string" && typeof t["task"] === "string") {
          const name = `${t["library"]}/${t["task"]}`;
          if (!knownTasks.includes(name)) {
            out.push({
              path: `${path}.task`,
              message: `unknown task "${name}" (known: ${knownTasks.join(", ")})`,
            });
          }
        }
        return;
      }
      const hasTask = typeof t["task"] === "string" && t["task"] !== "";
      const hasRun = typeof t["run"] === "string" && t["run"] !== "";
      if (hasTask === hasRun) {
        out.push({
          path,
          message: hasTask ? "has both task and run; give exactly one" : "needs exactly one of task and run",
        });
      }
      if (hasTask && !knownTasks.includes(t["task"] as string)) {
        out.push({
          path: `${path}.task`,
          message: `unknown task ${describeValue(t["task"])} (known: ${knownTasks.join(", ")}; or use run: for a script)`,
        });
      }
      if (typeof t["if"] === "string") {
        try {
          parseCondition(t["if"]);
        } catch (err) {
          out.push({ path: `${path}.if`, message: `invalid condition: ${(err as Error).message}` });
        }
      }
      if (hasTask && t["task"] === "knative/init-experiment") {
        const target = view.spec["target"];
        if (typeof target === "string" && target !== "" && !/^[^/]+\/[^/]+$/.test(target)) {
          out.push({
            path: "spec.target",
            message: `knative/init-experiment needs the target as namespace/name of the Knative Service (got ${describeValue(target)})`,
          });
        }
      }
    });
  }
}

function hasStartAction(spec: Obj): boolean {
  const strategy = isRecord(spec["strategy"]) ? spec["strategy"] : {};
  const actions = isRecord(strategy["actions"]) ? strategy["actions"] : {};
  return Array.isArray(actions["start"]) && actions["start"].length > 0;
}

export const CANDIDATES: Record<TestingPattern, { ok: (n: number) => boolean; rule: string }> = {
  Conformance: { ok: (n) => n === 0, rule: "no candidates" },
  Canary: { ok: (n) => n === 1, rule: "exactly 1 candidate" },
  "A/B": { ok: (n) => n === 1, rule: "exactly 1 candidate" },
  "A/B/N": { ok: (n) => n >= 1, rule: "at least 1 candidate" },
};

/** Version counts, checked up front when no start action could still fill versionInfo in. */
export function checkStaticVersionCounts(view: ExperimentView, out: Problem[]): void {
  if (!view.pattern || hasStartAction(view.spec)) return;
  const vi = view.spec["versionInfo"];
  if (vi === undefined) {
    out.push({
      path: "spec.versionInfo",
      message: "is required when there is no start action to fill it in",
    });
    return;
  }
  if (!isRecord(vi)) return;
  const n = asList(vi["candidates"]).length;
  const rule = CANDIDATES[view.pattern];
  if (!rule.ok(n)) {
    out.push({
      path: "spec.versionInfo.candidates",
      message: `${view.pattern} experiments need ${rule.rule} (found ${n})`,
    });
  }
}

export function checkStatusValues(raw: Obj, out: Problem[]): void {
  const status = raw["status"];
  if (!isRecord(status) || !isRecord(status["analysis"])) return;
  const agg = status["analysis"]["aggregatedMetrics"];
  if (!isRecord(agg) || !isRecord(agg["data"])) return;
  const check = (path: string, v: unknown) => {
    if (v !== undefined && v !== null && !isQuantity(v))
      out.push({ path, message: `${describeValue(v)} is not a number or quantity` });
  };
  for (const [metric, m] of Object.entries(agg["data"])) {
    if (!isRecord(m)) continue;
    const mp = childPath("status.analysis.aggregatedMetrics.data", metric);
    check(`${mp}.max`, m["max"]);
    check(`${mp}.min`, m["min"]);
    if (!isRecord(m["data"])) continue;
    for (const [version, v] of Object.entries(m["data"])) {
      if (!isRecord(v)) continue;
      const vp = childPath(`${mp}.data`, version);
      for (const k of ["max", "min", "value", "sampleSize"]) check(`${vp}.${k}`, v[k]);
    }
  }
}
