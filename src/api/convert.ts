// Conversion between v2alpha1 and v2alpha2 in both directions, for a CRD conversion webhook that
// serves both versions (seed 004 applies a v2alpha1 Experiment unchanged to a cluster that stores
// v2alpha2). Kubernetes requires conversions to round-trip without loss: reading an object in the
// other version and writing it back must not change it.
//
// The mapping itself is upgrade.ts (v2alpha1 -> v2alpha2, with the v2alpha1 defaults) and
// `downgradeExperiment` / `downgradeMetric` below. Where a part of the object (spec, or status with
// the metric snapshot) does not survive the trip back, the original part is kept verbatim in an
// annotation and restored on the way back, as long as the converted part has not been changed in
// between. Changed parts are converted field by field (best effort, with the same mapping).

import { isDeepStrictEqual } from "node:util";
import { fieldPathToPointer, isFieldPath } from "../kinds/fieldpath.ts";
import { isRecord } from "../lib/objects.ts";
import { V2ALPHA1, V2ALPHA2 } from "./types.ts";
import { movedCopy, SOURCE_VERSION_ANNOTATION, upgradeExperiment, upgradeMetric } from "./upgrade.ts";

type Obj = Record<string, unknown>;
export type ApiVersionString = typeof V2ALPHA1 | typeof V2ALPHA2;

/** Annotation prefix under which a part of the object in the other version is kept, e.g. `iter8.tools/v2alpha1-spec`. */
export const STASH_PREFIX = "iter8.tools/";

const clone = <T>(x: T): T => structuredClone(x);

/** `.spec.traffic[0].percent` -> `/spec/traffic/0/percent`; anything else is returned unchanged. */
export function fieldPathToJsonPointer(fieldPath: string): string {
  return isFieldPath(fieldPath) ? fieldPathToPointer(fieldPath) : fieldPath;
}

// ---- v2alpha2 -> v2alpha1, field by field ----------------------------------------------------------

function annotations(obj: Obj): Obj | undefined {
  const md = obj["metadata"];
  return isRecord(md) && isRecord(md["annotations"]) ? md["annotations"] : undefined;
}

function setAnnotation(obj: Obj, key: string, value: string | undefined): void {
  const md = obj["metadata"];
  if (!isRecord(md)) {
    // Only an object with metadata can carry annotations; one without stays without.
    if (value !== undefined && md === undefined) obj["metadata"] = { annotations: { [key]: value } };
    return;
  }
  const ann = isRecord(md["annotations"]) ? md["annotations"] : {};
  if (value === undefined) {
    if (!(key in ann)) return;
    delete ann[key];
  } else ann[key] = value;
  if (Object.keys(ann).length > 0) md["annotations"] = ann;
  else delete md["annotations"];
  if (Object.keys(md).length === 0 && value === undefined) delete obj["metadata"];
}

/** The source-version marker in the other direction (see upgrade.ts `markUpgraded`). */
function markDowngraded(obj: Obj): void {
  const ann = annotations(obj);
  if (ann?.[SOURCE_VERSION_ANNOTATION] === "v2alpha1")
    setAnnotation(obj, SOURCE_VERSION_ANNOTATION, undefined);
  else setAnnotation(obj, SOURCE_VERSION_ANNOTATION, "v2alpha2");
}

/** A v2alpha2 Metric in v2alpha1 shape; fields v2alpha1 does not have are dropped. */
export function downgradeMetric(input: Obj): Obj {
  const moved = movedCopy(input, V2ALPHA2, V2ALPHA1);
  if (!moved) return clone(input);
  const { object: metric, spec } = moved;
  markDowngraded(metric);
  if (!spec) return metric;
  const out: Obj = {};
  for (const k of ["description", "units", "provider", "params"]) if (spec[k] !== undefined) out[k] = spec[k];
  if (spec["type"] === "Counter") out["type"] = "counter";
  else if (spec["type"] === "Gauge") out["type"] = "gauge";
  if (typeof spec["sampleSize"] === "string") {
    const ss = spec["sampleSize"];
    const i = ss.indexOf("/");
    out["sampleSize"] = i < 0 ? { name: ss } : { namespace: ss.slice(0, i), name: ss.slice(i + 1) };
  }
  if (Array.isArray(out["params"])) {
    const elapsed = `$${"{elapsedTime}"}s`;
    out["params"] = out["params"].map((p) =>
      isRecord(p) && typeof p["value"] === "string"
        ? { ...p, value: p["value"].split(elapsed).join("$interval") }
        : p,
    );
  }
  metric["spec"] = out;
  return metric;
}

/** A v2alpha2 Experiment in v2alpha1 shape; what v2alpha1 cannot express is dropped or approximated. */
export function downgradeExperiment(input: Obj): Obj {
  const moved = movedCopy(input, V2ALPHA2, V2ALPHA1);
  if (!moved) return clone(input);
  const { object: exp, spec } = moved;
  markDowngraded(exp);
  const status = isRecord(exp["status"]) ? exp["status"] : undefined;
  if (spec) {
    const strategy = isRecord(spec["strategy"]) ? spec["strategy"] : undefined;
    const actions = strategy && isRecord(strategy["actions"]) ? strategy["actions"] : undefined;
    if (actions) {
      for (const [name, tasks] of Object.entries(actions)) {
        if (!Array.isArray(tasks)) continue;
        actions[name] = tasks.map((t) => {
          if (!isRecord(t)) return t;
          const { task, run, if: _condition, ...rest } = t;
          if (typeof run === "string") return { library: "common", task: "bash", with: { script: run } };
          if (typeof task === "string" && task.includes("/")) {
            const i = task.indexOf("/");
            return { library: task.slice(0, i), task: task.slice(i + 1), ...rest };
          }
          return { ...rest, ...(task !== undefined ? { task } : {}) };
        });
      }
    }
    const criteria = isRecord(spec["criteria"]) ? spec["criteria"] : undefined;
    if (criteria) {
      const rewards = criteria["rewards"];
      delete criteria["rewards"];
      delete criteria["strength"];
      if (Array.isArray(rewards) && rewards.length > 0) criteria["reward"] = rewards[0];
    }
    const vi = isRecord(spec["versionInfo"]) ? spec["versionInfo"] : undefined;
    if (vi) {
      for (const v of [vi["baseline"], ...(Array.isArray(vi["candidates"]) ? vi["candidates"] : [])]) {
        const ref = isRecord(v) && isRecord(v["weightObjRef"]) ? v["weightObjRef"] : undefined;
        if (ref && typeof ref["fieldPath"] === "string")
          ref["fieldPath"] = fieldPathToJsonPointer(ref["fieldPath"]);
      }
    }
  }
  if (status) {
    if ("versionRecommendedForPromotion" in status) {
      status["recommendedBaseline"] = status["versionRecommendedForPromotion"];
      delete status["versionRecommendedForPromotion"];
    }
    if (isRecord(status["analysis"])) delete status["analysis"]["aggregatedBuiltinHists"];
    if ("metrics" in status) {
      const metrics = status["metrics"];
      delete status["metrics"];
      if (Array.isArray(metrics) && metrics.length > 0) {
        const target = spec ?? {};
        exp["spec"] = target;
        target["metrics"] = metrics.map((m) =>
          isRecord(m) && isRecord(m["metricObj"]) ? { ...m, metricObj: downgradeMetric(m["metricObj"]) } : m,
        );
      }
    }
  }
  return exp;
}

// ---- lossless conversion ---------------------------------------------------------------------------

/** The parts of an object that are stashed independently, by version. */
interface Parts {
  names: readonly string[];
  get(obj: Obj, part: string, version: ApiVersionString): unknown;
  set(obj: Obj, part: string, version: ApiVersionString, value: unknown): void;
}

function withoutMetrics(spec: unknown): unknown {
  if (!isRecord(spec)) return spec;
  const { metrics: _m, ...rest } = spec;
  return rest;
}

// v2alpha1 keeps the metric snapshot in spec.metrics, v2alpha2 in status.metrics: both belong to the
// "status" part so that a user's spec and the controller's status are stashed independently.
const EXPERIMENT_PARTS: Parts = {
  names: ["spec", "status"],
  get(obj, part, version) {
    if (part === "spec") return version === V2ALPHA1 ? withoutMetrics(obj["spec"]) : obj["spec"];
    if (version === V2ALPHA1)
      return { status: obj["status"], metrics: isRecord(obj["spec"]) ? obj["spec"]["metrics"] : undefined };
    return obj["status"];
  },
  set(obj, part, version, value) {
    if (part === "spec") {
      const metrics = version === V2ALPHA1 && isRecord(obj["spec"]) ? obj["spec"]["metrics"] : undefined;
      obj["spec"] = clone(value);
      if (metrics !== undefined && isRecord(obj["spec"])) obj["spec"]["metrics"] = metrics;
      if (value === undefined) delete obj["spec"];
      return;
    }
    if (version === V2ALPHA1) {
      const v = isRecord(value) ? value : {};
      assign(obj, "status", clone(v["status"]));
      const spec = isRecord(obj["spec"]) ? obj["spec"] : {};
      if (v["metrics"] === undefined) delete spec["metrics"];
      else {
        spec["metrics"] = clone(v["metrics"]);
        obj["spec"] = spec;
      }
      return;
    }
    assign(obj, "status", clone(value));
  },
};

const METRIC_PARTS: Parts = {
  names: ["spec"],
  get: (obj) => obj["spec"],
  set: (obj, _part, _version, value) => assign(obj, "spec", clone(value)),
};

function assign(obj: Obj, key: string, value: unknown): void {
  if (value === undefined) delete obj[key];
  else obj[key] = value;
}

const stashKey = (version: ApiVersionString, part: string) =>
  `${STASH_PREFIX}${version.slice(STASH_PREFIX.length)}-${part}`;

function convert(
  input: Obj,
  to: ApiVersionString,
  parts: Parts,
  up: (o: Obj) => Obj,
  down: (o: Obj) => Obj,
): Obj {
  const from = input["apiVersion"];
  if (from === to || (from !== V2ALPHA1 && from !== V2ALPHA2)) return clone(input);
  const there = to === V2ALPHA2 ? up : down;
  const back = to === V2ALPHA2 ? down : up;

  // Stashes carried by the input: parts of the object as they were in the target version.
  const source = clone(input);
  const carried = new Map<string, unknown>();
  for (const part of parts.names) {
    const key = stashKey(to, part);
    const text = annotations(source)?.[key];
    if (typeof text === "string") {
      try {
        carried.set(part, JSON.parse(text));
      } catch {
        // A damaged stash is ignored: the part is converted field by field.
      }
    }
    setAnnotation(source, key, undefined);
  }

  const out = there(source);
  for (const part of parts.names) {
    // Restore a carried part if converting it back yields exactly what the input holds now.
    if (carried.has(part)) {
      const probe = clone(out);
      parts.set(probe, part, to, carried.get(part));
      if (isDeepStrictEqual(parts.get(back(probe), part, from), parts.get(source, part, from))) {
        parts.set(out, part, to, carried.get(part));
        continue;
      }
    }
    // Otherwise keep the input's part if the field-by-field conversion would not survive the trip back.
    const original = parts.get(source, part, from);
    if (!isDeepStrictEqual(parts.get(back(out), part, from), original) && original !== undefined) {
      setAnnotation(out, stashKey(from, part), JSON.stringify(original));
    }
  }
  return out;
}

/**
 * An Experiment converted to `to` for a conversion webhook: converting the result back gives the
 * input again (see the module comment). Objects already in `to` are returned as a copy.
 */
export function convertExperiment(input: Obj, to: ApiVersionString): Obj {
  return convert(input, to, EXPERIMENT_PARTS, (o) => upgradeExperiment(o).object, downgradeExperiment);
}

/** A Metric converted to `to`, losslessly in the same way as `convertExperiment`. */
export function convertMetric(input: Obj, to: ApiVersionString): Obj {
  return convert(input, to, METRIC_PARTS, (o) => upgradeMetric(o).object, downgradeMetric);
}
