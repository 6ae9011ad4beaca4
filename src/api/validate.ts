// Validation of Experiment and Metric objects as written (v2alpha2 or v2alpha1):
//  1. the JSON Schema of their version (schema.ts), run by ajv with every error reported, on a copy
//     that also rejects unknown fields (the CRD itself cannot say so: Kubernetes prunes them);
//  2. static rules a schema cannot express (unique version names, reward count per testing pattern,
//     fieldPath syntax, task names and conditions, limits as quantities, metric references, ...).
// A valid object comes back upgraded to v2alpha2 with its metric references normalised.
//
// Rules that depend on the start action (which may fill versionInfo) are in `checkVersionCounts`
// and `checkStartedExperiment`, for the engine to call after `start`.

import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { isRecord } from "../lib/objects.ts";
import { TASK_NAMES } from "../tasks/names.ts";
import {
  ACTION_NAMES,
  asList,
  CANDIDATES,
  checkActions,
  checkCriteria,
  checkFieldPaths,
  checkMetadata,
  checkQuantity,
  checkRef,
  checkRewards,
  checkStaticVersionCounts,
  checkStatusValues,
  checkVersionNames,
  describeValue,
  type ExperimentView,
  REWARDS_NEEDED,
  TYPE_NAMES,
  versions,
} from "./experiment-rules.ts";
import { childPath, formatProblem, pointerToPath, prefixProblems } from "./paths.ts";
import { QUANTITY_PATTERN } from "./quantity.ts";
import {
  type MetricLookup,
  makeRefResolver,
  namespaceOf,
  normaliseExperimentRefs,
  normaliseMetricRefs,
} from "./refs.ts";
import { type ApiVersionName, experimentSchema, type JsonSchema, metricSchema } from "./schema.ts";
import type { Experiment, Metric, Problem, SourceVersion, TestingPattern } from "./types.ts";
import { GROUP } from "./types.ts";
import { upgradeExperiment, upgradeMetric, v1MetricRef } from "./upgrade.ts";
import {
  limitProblems,
  MAX_NESTING,
  type TaskInputCheck,
  taskInputProblems,
  tooDeepPath,
  unsafeNameWarnings,
} from "./validate-safety.ts";

export { parseCondition } from "./condition.ts";
export { ACTION_NAMES };

/** Task names the engine knows: the task registry's list (kept import-free for this use). */
export const KNOWN_TASKS: readonly string[] = TASK_NAMES;

export interface ValidateOptions {
  /** Resolves bare metric names against existing Metrics (experiment namespace, then install namespace). */
  metricExists?: MetricLookup;
  /** Namespace iter8 is installed in (default `iter8-system`). */
  installNamespace?: string;
  /** Task names accepted in `task:` (default `KNOWN_TASKS`). */
  knownTasks?: readonly string[];
  /** Checks a task's `with:` inputs (the task runner's own checks; the CLI passes them). */
  taskInputs?: TaskInputCheck;
}

export interface ValidationResult<T> {
  /** The API version the object was written in, when it is one iter8 reads. */
  sourceVersion?: SourceVersion;
  /** Everything wrong with the object; empty when it is valid. */
  problems: Problem[];
  /** Things that do not make it invalid but that the user should know, as "path: message". */
  warnings: string[];
  /** The object upgraded to v2alpha2 with normalised references; present only when valid. */
  resource?: T;
}

type Obj = Record<string, unknown>;
// ---- schema validation ---------------------------------------------------------------------------

/** Copy of `schema` where every fixed-shape object node rejects unknown fields. */
function closeObjects(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = { ...schema };
  if (out.properties && !out["x-kubernetes-preserve-unknown-fields"]) {
    out.additionalProperties = false;
    out.properties = Object.fromEntries(Object.entries(out.properties).map(([k, v]) => [k, closeObjects(v)]));
  }
  if (out.items) out.items = closeObjects(out.items);
  if (typeof out.additionalProperties === "object")
    out.additionalProperties = closeObjects(out.additionalProperties);
  return out;
}

/** Status is written by iter8 (possibly a newer one): its unknown fields are not the user's mistake. */
function closeSpecOnly(schema: JsonSchema): JsonSchema {
  const props = schema.properties ?? {};
  return {
    ...schema,
    additionalProperties: false,
    properties: { ...props, spec: closeObjects(props["spec"]!) },
  };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

let ajv: Ajv | undefined;
const compiled = new Map<string, ValidateFunction>();

function validator(kind: "Experiment" | "Metric", version: ApiVersionName): ValidateFunction {
  const key = `${kind}/${version}`;
  let fn = compiled.get(key);
  if (fn) return fn;
  if (!ajv) {
    ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
    ajv.addFormat("int32", { type: "number", validate: (n: number) => n >= -(2 ** 31) && n < 2 ** 31 });
    ajv.addFormat("date-time", {
      type: "string",
      validate: (s: string) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)),
    });
  }
  const schema = kind === "Experiment" ? experimentSchema(version) : metricSchema(version);
  fn = ajv.compile(closeSpecOnly(schema));
  compiled.set(key, fn);
  return fn;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
    }
  }
  return d[a.length]![b.length]!;
}

export function schemaProblems(errors: readonly ErrorObject[], root: unknown): Problem[] {
  // An int-or-string node reports one error per branch plus the anyOf itself: keep only the anyOf.
  const anyOfPaths = errors.filter((e) => e.keyword === "anyOf").map((e) => `${e.schemaPath}/`);
  const problems: Problem[] = [];
  for (const e of errors) {
    if (anyOfPaths.some((p) => e.schemaPath.startsWith(p))) continue;
    const path = pointerToPath(e.instancePath, root);
    const parent = (e.parentSchema ?? {}) as JsonSchema;
    switch (e.keyword) {
      case "required":
        problems.push({
          path: childPath(path, (e.params as { missingProperty: string }).missingProperty),
          message: "is required",
        });
        break;
      case "additionalProperties": {
        const field = (e.params as { additionalProperty: string }).additionalProperty;
        const known = Object.keys(parent.properties ?? {});
        // Bounded: the distance is computed only for names of about the same length.
        const near = known.filter(
          (k) => Math.abs(k.length - field.length) <= 2 && editDistance(k, field) <= 2,
        );
        const hint =
          near.length > 0
            ? ` (did you mean ${near.join(" or ")}?)`
            : known.length > 0
              ? ` (known fields: ${known.join(", ")})`
              : "";
        problems.push({ path: childPath(path, field), message: `unknown field${hint}` });
        break;
      }
      case "enum":
        problems.push({
          path,
          message: `must be one of ${(parent.enum ?? []).join(", ")} (got ${describeValue(e.data)})`,
        });
        break;
      case "type": {
        const t = String((e.params as { type: string }).type);
        problems.push({ path, message: `must be ${TYPE_NAMES[t] ?? t} (got ${describeValue(e.data)})` });
        break;
      }
      case "anyOf":
        problems.push({
          path,
          message: parent["x-kubernetes-int-or-string"]
            ? `must be an integer or a quantity string such as "0.01" or "10m" (got ${describeValue(e.data)}; quote decimals)`
            : (e.message ?? "is invalid"),
        });
        break;
      case "pattern":
        problems.push({
          path,
          message:
            parent.pattern === QUANTITY_PATTERN
              ? `${describeValue(e.data)} is not a valid quantity (e.g. 50, "0.01", "10m", "1.5e2")`
              : `must match ${parent.pattern}`,
        });
        break;
      case "minLength":
        problems.push({ path, message: "must not be empty" });
        break;
      case "minimum":
      case "maximum": {
        const p = e.params as { comparison: string; limit: number };
        problems.push({ path, message: `must be ${p.comparison} ${p.limit}` });
        break;
      }
      case "format": {
        const f = (e.params as { format: string }).format;
        problems.push({
          path,
          message:
            f === "int32"
              ? `must be between ${-(2 ** 31)} and ${2 ** 31 - 1}`
              : f === "date-time"
                ? `must be a timestamp such as 2021-06-01T10:00:00Z (got ${describeValue(e.data)})`
                : `must be a ${f}`,
        });
        break;
      }
      default:
        problems.push({ path, message: e.message ?? "is invalid" });
    }
  }
  return problems;
}

function versionOf(apiVersion: unknown): SourceVersion | undefined {
  if (apiVersion === `${GROUP}/v2alpha2`) return "v2alpha2";
  if (apiVersion === `${GROUP}/v2alpha1`) return "v2alpha1";
  return undefined;
}

/** Problems found by the schema win: a rule's problem at the same path would repeat it. */
function merge(schema: Problem[], rules: Problem[]): Problem[] {
  const seen = new Set(schema.map((p) => p.path));
  const out = [...schema];
  const keys = new Set(schema.map((p) => `${p.path}\0${p.message}`));
  for (const p of rules) {
    const key = `${p.path}\0${p.message}`;
    if (seen.has(p.path) || keys.has(key)) continue;
    keys.add(key);
    out.push(p);
  }
  return out;
}

function header(
  raw: unknown,
  kind: "Experiment" | "Metric",
): { problems: Problem[]; version?: SourceVersion } {
  if (!isRecord(raw))
    return {
      problems: [{ path: "", message: `${kind === "Experiment" ? "an" : "a"} ${kind} must be a mapping` }],
    };
  const problems: Problem[] = [];
  const version = versionOf(raw["apiVersion"]);
  if (!version) {
    problems.push({
      path: "apiVersion",
      message: `must be ${GROUP}/v2alpha2 or ${GROUP}/v2alpha1 (got ${describeValue(raw["apiVersion"])})`,
    });
  }
  if (raw["kind"] !== kind)
    problems.push({ path: "kind", message: `must be ${kind} (got ${describeValue(raw["kind"])})` });
  return version ? { problems, version } : { problems };
}

/** Nesting too deep to validate (checked first, without recursion). */
function shapeProblems(raw: Obj): Problem[] {
  const deep = tooDeepPath(raw);
  return deep === undefined
    ? []
    : [{ path: deep, message: `is nested more than ${MAX_NESTING} levels deep` }];
}

/** One object's checks under way: the schema's problems, and the rules' problems and warnings so far. */
interface Checks {
  version: SourceVersion;
  schema: Problem[];
  rules: Problem[];
  warnings: Problem[];
}

/** What both kinds check first: the schema of the version written, the header and the metadata. */
function startChecks(
  raw: Obj,
  kind: "Experiment" | "Metric",
  head: { problems: Problem[]; version: SourceVersion },
): Checks {
  const validate = validator(kind, head.version);
  validate(raw);
  const schema = schemaProblems(validate.errors ?? [], raw);
  const rules: Problem[] = [...head.problems];
  checkMetadata(raw, rules);
  return { version: head.version, schema, rules, warnings: [] };
}

/** The result before any upgrade: schema and rule problems merged, warnings as lines. */
function checked<T>(c: Checks): ValidationResult<T> {
  return {
    sourceVersion: c.version,
    problems: merge(c.schema, c.rules),
    warnings: c.warnings.map(formatProblem),
  };
}

/** Validates an Experiment as written; see `ValidationResult`. */
export function validateExperiment(raw: unknown, opts: ValidateOptions = {}): ValidationResult<Experiment> {
  const head = header(raw, "Experiment");
  if (!head.version || !isRecord(raw)) return { problems: head.problems, warnings: [] };
  const tooDeep = shapeProblems(raw);
  if (tooDeep.length > 0) return { sourceVersion: head.version, problems: tooDeep, warnings: [] };
  const checks = startChecks(raw, "Experiment", { problems: head.problems, version: head.version });
  const { version, rules, warnings } = checks;
  rules.push(...limitProblems(raw));
  const spec = isRecord(raw["spec"]) ? raw["spec"] : undefined;
  if (spec) {
    const strategy = isRecord(spec["strategy"]) ? spec["strategy"] : {};
    const tp = strategy["testingPattern"];
    const view: ExperimentView = {
      v1: version === "v2alpha1",
      spec,
      pattern: typeof tp === "string" && tp in REWARDS_NEEDED ? (tp as TestingPattern) : undefined,
    };
    checkVersionNames(spec, rules);
    checkFieldPaths(view, rules);
    checkRewards(view, rules);
    checkCriteria(view, rules, warnings);
    checkActions(view, opts.knownTasks ?? KNOWN_TASKS, rules, warnings);
    checkStaticVersionCounts(view, rules);
    warnings.push(...unsafeNameWarnings(versions(spec)));
    if (opts.taskInputs) rules.push(...taskInputProblems(spec, opts.taskInputs));
  }
  checkStatusValues(raw, rules);
  // Embedded Metric snapshots (v2alpha2 status.metrics, v2alpha1 spec.metrics).
  const snapshots =
    version === "v2alpha1"
      ? ["spec", spec?.["metrics"]]
      : ["status", isRecord(raw["status"]) ? raw["status"]["metrics"] : undefined];
  asList(snapshots[1]).forEach((m, i) => {
    if (!isRecord(m) || !isRecord(m["metricObj"])) return;
    const r = validateMetric(m["metricObj"], opts);
    rules.push(...prefixProblems(`${snapshots[0]}.metrics[${i}].metricObj`, r.problems));
  });

  const result = checked<Experiment>(checks);
  if (result.problems.length > 0) return result;

  const up = upgradeExperiment(raw);
  result.warnings.push(...up.warnings);
  const exp = up.object as unknown as Experiment;
  const resolve = makeRefResolver({
    namespace: namespaceOf(exp),
    ...(opts.installNamespace ? { installNamespace: opts.installNamespace } : {}),
    ...(opts.metricExists ? { metricExists: opts.metricExists } : {}),
  });
  result.resource = normaliseExperimentRefs(exp, resolve);
  return result;
}

/** Validates a Metric as written; see `ValidationResult`. */
export function validateMetric(raw: unknown, _opts: ValidateOptions = {}): ValidationResult<Metric> {
  const head = header(raw, "Metric");
  if (!head.version || !isRecord(raw)) return { problems: head.problems, warnings: [] };
  const checks = startChecks(raw, "Metric", { problems: head.problems, version: head.version });
  const { version, rules, warnings } = checks;
  const spec = isRecord(raw["spec"]) ? raw["spec"] : undefined;
  if (spec) {
    if (version === "v2alpha2") {
      checkRef("spec.sampleSize", spec["sampleSize"], rules);
      if (spec["authType"] === "Basic" && (typeof spec["secret"] !== "string" || spec["secret"] === "")) {
        rules.push({
          path: "spec.secret",
          message: "is required when authType is Basic (it holds username and password)",
        });
      }
      checkRef("spec.secret", spec["secret"], rules);
      const names = new Set<string>();
      asList(spec["mock"]).forEach((m, i) => {
        if (!isRecord(m)) return;
        checkQuantity(`spec.mock[${i}].level`, m["level"], rules);
        if (typeof m["name"] === "string") {
          if (names.has(m["name"]))
            rules.push({ path: `spec.mock[${i}].name`, message: `duplicate version name "${m["name"]}"` });
          names.add(m["name"]);
        }
      });
      const mocked = Array.isArray(spec["mock"]) && spec["mock"].length > 0;
      if (!mocked && spec["provider"] !== "iter8") {
        if (spec["urlTemplate"] === undefined)
          warnings.push({
            path: "spec.urlTemplate",
            message: "is not set and the metric is not mocked, so every query will fail",
          });
        if (spec["jqExpression"] === undefined)
          warnings.push({
            path: "spec.jqExpression",
            message: "is not set and the metric is not mocked, so every query will fail",
          });
      }
      if (spec["body"] !== undefined && spec["method"] !== "POST") {
        warnings.push({ path: "spec.body", message: "is only sent with method: POST" });
      }
    } else {
      const ref = v1MetricRef(spec["sampleSize"]);
      if (ref !== undefined) checkRef("spec.sampleSize", ref, rules);
    }
  }
  const result = checked<Metric>(checks);
  if (result.problems.length > 0) return result;
  const up = upgradeMetric(raw);
  result.warnings.push(...up.warnings);
  result.resource = normaliseMetricRefs(up.object as unknown as Metric);
  return result;
}

// ---- rules for after the start action ----------------------------------------

/**
 * versionInfo present and the candidate count the testing pattern needs (Conformance 0; Canary and
 * A/B exactly 1; A/B/N at least 1), with the original's messages.
 */
export function checkVersionCounts(exp: Experiment): Problem[] {
  const vi = exp.spec.versionInfo;
  if (!vi) return [{ path: "spec.versionInfo", message: "No versionInfo in experiment" }];
  const pattern = exp.spec.strategy.testingPattern;
  const rule = CANDIDATES[pattern];
  if (rule && !rule.ok(vi.candidates?.length ?? 0)) {
    return [
      {
        path: "spec.versionInfo.candidates",
        message: `Invalid number of candidates for ${pattern} experiment`,
      },
    ];
  }
  return [];
}

/**
 * Everything step 12 checks once the start action has run, in its order: version counts, unique
 * names, reward count, fieldPaths starting with '.'. The engine fails the experiment with reason
 * `InvalidExperiment` and the first message.
 */
export function checkStartedExperiment(exp: Experiment): Problem[] {
  const problems = checkVersionCounts(exp);
  const vi = exp.spec.versionInfo;
  if (vi) {
    const all = [vi.baseline, ...(vi.candidates ?? [])];
    const names = all.map((v) => v.name);
    if (new Set(names).size !== names.length)
      problems.push({ path: "spec.versionInfo", message: "Version names are not unique" });
  }
  const pattern = exp.spec.strategy.testingPattern;
  if ((exp.spec.criteria?.rewards?.length ?? 0) !== (REWARDS_NEEDED[pattern] ?? 0)) {
    problems.push({
      path: "spec.criteria.rewards",
      message: `Invalid number of rewards for ${pattern} experiment`,
    });
  }
  if (vi) {
    const all = [
      { path: "spec.versionInfo.baseline", v: vi.baseline },
      ...(vi.candidates ?? []).map((v, i) => ({ path: `spec.versionInfo.candidates[${i}]`, v })),
    ];
    for (const { path, v } of all) {
      const fp = v.weightObjRef?.fieldPath;
      if (fp !== undefined && fp !== "" && !fp.startsWith(".")) {
        problems.push({ path: `${path}.weightObjRef.fieldPath`, message: "Fieldpaths must start with '.'" });
      }
    }
  }
  return problems;
}
