// v2alpha1 -> v2alpha2. Objects written in v2alpha1 are upgraded on read, so everything
// past the API layer sees one shape. The functions are total over well-formed input and defensive
// over anything else (they run before validation has passed, and leave unknown shapes as they are).
//
// Beyond the renames, two v2alpha1 behaviours are carried over so that the upgraded object means the
// same thing: the controller's default `requestCount: request-count`, and the fixed jq program and
// `$interval` placeholder of v2alpha1 metrics (now `jqExpression` and `${elapsedTime}s`).

import { pointerToFieldPath } from "../kinds/fieldpath.ts";
import { isRecord } from "../lib/objects.ts";
import { V2ALPHA1, V2ALPHA2 } from "./types.ts";

type Obj = Record<string, unknown>;

export interface UpgradeResult {
  /** The object in v2alpha2 shape (a copy; the input is not modified). */
  object: Obj;
  /** What could not be carried over, as "path: message". */
  warnings: string[];
}

/**
 * Annotation set on objects upgraded from v2alpha1 (value `v2alpha1`), so that whoever reads the
 * normalised object later (describe, the engine's store) can still tell which layout it came from.
 */
export const SOURCE_VERSION_ANNOTATION = "iter8.tools/source-version";

/** The jq program the v2alpha1 analytics applied to every Prometheus response. */
export const V2ALPHA1_JQ_EXPRESSION = ".data.result[0].value[1] | tonumber";
/** What `$interval` becomes: the metric template placeholder, not a JavaScript template. */
const ELAPSED_SECONDS = "$" + "{elapsedTime}s";

/** The metric the v2alpha1 controller used for requestCount when none was given. */
export const V2ALPHA1_REQUEST_COUNT = "request-count";

function clone<T>(x: T): T {
  return structuredClone(x);
}

/** `/spec/traffic/0/percent` -> `.spec.traffic[0].percent`; other strings are returned unchanged. */
export function jsonPointerToFieldPath(pointer: string): string {
  return pointer.startsWith("/") ? pointerToFieldPath(pointer) : pointer;
}

/**
 * A copy of `input` at apiVersion `to`, with its spec when that is a mapping, for the caller to
 * convert in place; undefined when `input` is not at `from` (both directions start so).
 */
export function movedCopy(
  input: Obj,
  from: string,
  to: string,
): { object: Obj; spec: Obj | undefined } | undefined {
  if (input["apiVersion"] !== from) return undefined;
  const object = clone(input);
  object["apiVersion"] = to;
  return { object, spec: isRecord(object["spec"]) ? object["spec"] : undefined };
}

/** The copy an upgrade works on, moved to v2alpha2 and marked; undefined when `input` is not v2alpha1. */
function upgrading(input: Obj): { object: Obj; spec: Obj | undefined; v1Semantics: boolean } | undefined {
  const moved = movedCopy(input, V2ALPHA1, V2ALPHA2);
  return moved && { ...moved, v1Semantics: !markUpgraded(moved.object) };
}

/** Upgrades a v2alpha1 Experiment; a v2alpha2 one is returned as a copy. */
export function upgradeExperiment(input: Obj): UpgradeResult {
  const warnings: string[] = [];
  const up = upgrading(input);
  if (!up) return { object: clone(input), warnings };
  const { object: exp, spec, v1Semantics } = up;

  if (spec) {
    upgradeStrategy(spec, warnings);
    upgradeVersionInfo(spec);
    upgradeCriteria(spec, v1Semantics);
    upgradeDuration(spec);
    if ("metrics" in spec) {
      // v2alpha1 kept the controller's metric snapshot in the spec; v2alpha2 keeps it in status.
      const metrics = spec["metrics"];
      delete spec["metrics"];
      if (Array.isArray(metrics) && metrics.length > 0) {
        const status = isRecord(exp["status"]) ? exp["status"] : {};
        exp["status"] = status;
        status["metrics"] = metrics.map((m, i) => {
          if (!isRecord(m) || !isRecord(m["metricObj"])) return m;
          const up = upgradeMetric(m["metricObj"]);
          for (const w of up.warnings) warnings.push(`status.metrics[${i}].metricObj.${w}`);
          return { ...m, metricObj: up.object };
        });
      }
    }
  }

  const status = isRecord(exp["status"]) ? exp["status"] : undefined;
  if (status) {
    if ("recommendedBaseline" in status) {
      if (status["versionRecommendedForPromotion"] === undefined) {
        status["versionRecommendedForPromotion"] = status["recommendedBaseline"];
      }
      delete status["recommendedBaseline"];
    }
    // endTime was removed from the API; the Completed condition carries the end.
    delete status["endTime"];
  }
  return { object: exp, warnings };
}

/** Marks the object as written in v2alpha1; returns true when it was in fact written in v2alpha2. */
function markUpgraded(obj: Obj): boolean {
  const metadata = isRecord(obj["metadata"]) ? obj["metadata"] : {};
  obj["metadata"] = metadata;
  const annotations = isRecord(metadata["annotations"]) ? metadata["annotations"] : {};
  if (annotations[SOURCE_VERSION_ANNOTATION] === "v2alpha2") {
    // Written in v2alpha2 and read back through v2alpha1 (a conversion round trip): it is v2alpha2 again.
    delete annotations[SOURCE_VERSION_ANNOTATION];
    if (Object.keys(annotations).length === 0) delete metadata["annotations"];
    return true;
  }
  metadata["annotations"] = annotations;
  annotations[SOURCE_VERSION_ANNOTATION] = "v2alpha1";
  return false;
}

function upgradeStrategy(spec: Obj, warnings: string[]): void {
  const strategy = isRecord(spec["strategy"]) ? spec["strategy"] : undefined;
  if (!strategy) return;
  if ("handlers" in strategy) {
    delete strategy["handlers"];
    warnings.push(
      "spec.strategy.handlers: dropped: v2alpha2 has no handlers; the start, loop and finish actions run instead",
    );
  }
  const weights = isRecord(strategy["weights"]) ? strategy["weights"] : undefined;
  if (weights) {
    for (const old of ["algorithm", "weightDistribution"]) {
      if (old in weights) {
        delete weights[old];
        warnings.push(`spec.strategy.weights.${old}: dropped: not part of v2alpha2`);
      }
    }
  }
  const actions = isRecord(strategy["actions"]) ? strategy["actions"] : undefined;
  if (!actions) return;
  for (const [name, tasks] of Object.entries(actions)) {
    if (!Array.isArray(tasks)) continue;
    actions[name] = tasks.map((t) => {
      if (!isRecord(t) || typeof t["library"] !== "string") return t;
      const { library, task, ...rest } = t;
      return { ...rest, task: typeof task === "string" ? `${library}/${task}` : task };
    });
  }
}

function upgradeVersionInfo(spec: Obj): void {
  const vi = isRecord(spec["versionInfo"]) ? spec["versionInfo"] : undefined;
  if (!vi) return;
  const versions = [vi["baseline"], ...(Array.isArray(vi["candidates"]) ? vi["candidates"] : [])];
  for (const v of versions) {
    if (!isRecord(v)) continue;
    if (isRecord(v["tags"])) {
      // Early v2alpha1 `tags` map: the same information as `variables`.
      const variables = Array.isArray(v["variables"]) ? [...v["variables"]] : [];
      const have = new Set(variables.filter(isRecord).map((x) => x["name"]));
      for (const [name, value] of Object.entries(v["tags"])) {
        if (!have.has(name)) variables.push({ name, value: String(value) });
      }
      v["variables"] = variables;
      delete v["tags"];
    }
    const ref = isRecord(v["weightObjRef"]) ? v["weightObjRef"] : undefined;
    if (ref && typeof ref["fieldPath"] === "string")
      ref["fieldPath"] = jsonPointerToFieldPath(ref["fieldPath"]);
  }
}

function upgradeCriteria(spec: Obj, v1Semantics: boolean): void {
  const criteria = isRecord(spec["criteria"]) ? spec["criteria"] : undefined;
  if (!criteria) return;
  if ("reward" in criteria) {
    const reward = criteria["reward"];
    delete criteria["reward"];
    if (reward !== undefined && reward !== null) criteria["rewards"] = [reward];
  }
  const usesMetrics = ["rewards", "objectives", "indicators"].some(
    (k) => Array.isArray(criteria[k]) && (criteria[k] as unknown[]).length > 0,
  );
  if (v1Semantics && usesMetrics && criteria["requestCount"] === undefined) {
    criteria["requestCount"] = V2ALPHA1_REQUEST_COUNT;
  }
}

function upgradeDuration(spec: Obj): void {
  const duration = isRecord(spec["duration"]) ? spec["duration"] : undefined;
  if (!duration || !("maxIterations" in duration)) return;
  if (duration["iterationsPerLoop"] === undefined) duration["iterationsPerLoop"] = duration["maxIterations"];
  delete duration["maxIterations"];
}

/** A v2alpha1 metric reference `{namespace, name}` as v2alpha2 writes it (`namespace/name` or `name`). */
export function v1MetricRef(ref: unknown): string | undefined {
  if (!isRecord(ref) || typeof ref["name"] !== "string") return undefined;
  const ns = ref["namespace"];
  return typeof ns === "string" && ns !== "" ? `${ns}/${ref["name"]}` : ref["name"];
}

/** Upgrades a v2alpha1 Metric; a v2alpha2 one is returned as a copy. */
export function upgradeMetric(input: Obj): UpgradeResult {
  const warnings: string[] = [];
  const up = upgrading(input);
  if (!up) return { object: clone(input), warnings };
  const { object: metric, spec, v1Semantics } = up;
  if (!spec) return { object: metric, warnings };

  if (spec["type"] === "counter") spec["type"] = "Counter";
  else if (spec["type"] === "gauge") spec["type"] = "Gauge";

  const ref = v1MetricRef(spec["sampleSize"]);
  if (ref !== undefined) spec["sampleSize"] = ref;

  // Below: what a metric written in v2alpha1 meant; skipped for a v2alpha2 metric read through v2alpha1.
  if (!v1Semantics) return { object: metric, warnings };
  if (Array.isArray(spec["params"])) {
    // `$interval` was "<seconds since start>s"; `$elapsedTime` is the same number without the unit.
    spec["params"] = spec["params"].map((p) =>
      isRecord(p) && typeof p["value"] === "string"
        ? { ...p, value: p["value"].replace(/\$\{interval\}|\$interval(?![A-Za-z0-9_])/g, ELAPSED_SECONDS) }
        : p,
    );
  }
  if (spec["jqExpression"] === undefined) spec["jqExpression"] = V2ALPHA1_JQ_EXPRESSION;
  if (spec["urlTemplate"] === undefined) {
    warnings.push(
      "spec.urlTemplate: v2alpha1 metrics took the Prometheus URL from the analytics configuration; set spec.urlTemplate (e.g. http://prometheus-operated.iter8-monitoring:9090/api/v1/query)",
    );
  }
  return { object: metric, warnings };
}
