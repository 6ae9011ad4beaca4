// The schemas double as the CRDs' openAPIV3Schema, so they must be Kubernetes structural schemas:
// checked here rule by rule, for all four (kind, version) pairs.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { QUANTITY_PATTERN } from "../../../src/api/quantity.ts";
import { experimentSchema, type JsonSchema, metricSchema } from "../../../src/api/schema.ts";

const ALLOWED_KEYS = new Set([
  "type",
  "description",
  "properties",
  "additionalProperties",
  "required",
  "items",
  "enum",
  "minimum",
  "maximum",
  "minLength",
  "pattern",
  "format",
  "anyOf",
  "x-kubernetes-int-or-string",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-map-type",
]);

/** Every violation of the structural-schema rules, as "path: rule". */
function structuralViolations(node: JsonSchema, path: string, out: string[] = []): string[] {
  for (const k of Object.keys(node))
    if (!ALLOWED_KEYS.has(k)) out.push(`${path}: keyword ${k} is not allowed`);
  const intOrString = node["x-kubernetes-int-or-string"] === true;
  const preserve = node["x-kubernetes-preserve-unknown-fields"] === true;
  if (!node.type && !intOrString && !preserve) out.push(`${path}: no type`);
  if (intOrString && node.type) out.push(`${path}: int-or-string with a type`);
  if (preserve && node.type && node.type !== "object")
    out.push(`${path}: preserve-unknown-fields on a ${node.type}`);
  const mapType = node["x-kubernetes-map-type"];
  if (mapType !== undefined && (node.type !== "object" || !["atomic", "granular"].includes(mapType)))
    out.push(`${path}: map-type ${mapType} on a ${node.type}`);
  if (node.properties && node.additionalProperties !== undefined)
    out.push(`${path}: properties and additionalProperties`);
  if (typeof node.additionalProperties === "boolean") out.push(`${path}: boolean additionalProperties`);
  if (node.anyOf) {
    const ok =
      intOrString &&
      node.anyOf.length === 2 &&
      node.anyOf[0]?.type === "integer" &&
      node.anyOf[1]?.type === "string" &&
      node.anyOf.every((b) => Object.keys(b).length === 1);
    if (!ok) out.push(`${path}: anyOf other than the int-or-string form`);
  }
  if (node.required) {
    for (const r of node.required)
      if (!node.properties?.[r]) out.push(`${path}: required ${r} is not a property`);
  }
  if (node.enum && node.type !== "string") out.push(`${path}: enum on a non-string`);
  if (node.format && !["int32", "date-time"].includes(node.format))
    out.push(`${path}: format ${node.format}`);
  if ((node.minimum !== undefined || node.maximum !== undefined) && node.type !== "integer")
    out.push(`${path}: range on a non-integer`);
  if (
    node.type === "object" &&
    !node.properties &&
    node.additionalProperties === undefined &&
    !preserve &&
    path !== "metadata"
  ) {
    out.push(`${path}: object without properties, additionalProperties or preserve-unknown-fields`);
  }
  for (const [k, v] of Object.entries(node.properties ?? {}))
    structuralViolations(v, path ? `${path}.${k}` : k, out);
  if (node.items) structuralViolations(node.items, `${path}[]`, out);
  if (typeof node.additionalProperties === "object")
    structuralViolations(node.additionalProperties, `${path}{}`, out);
  return out;
}

function at(schema: JsonSchema, path: string): JsonSchema | undefined {
  let node: JsonSchema | undefined = schema;
  for (const part of path.split(".")) {
    if (!node) return undefined;
    if (part === "[]") node = node.items;
    else if (part === "{}")
      node = typeof node.additionalProperties === "object" ? node.additionalProperties : undefined;
    else node = node.properties?.[part];
  }
  return node;
}

const schemas = [
  ["Experiment v2alpha2", experimentSchema("v2alpha2")],
  ["Experiment v2alpha1", experimentSchema("v2alpha1")],
  ["Metric v2alpha2", metricSchema("v2alpha2")],
  ["Metric v2alpha1", metricSchema("v2alpha1")],
] as const;

describe("schemas are Kubernetes structural schemas", () => {
  for (const [name, schema] of schemas) {
    it(name, () => {
      assert.deepEqual(structuralViolations(schema, ""), []);
      assert.equal(JSON.stringify(schema).includes("$ref"), false);
      assert.deepEqual(schema.properties?.["metadata"], { type: "object" });
      // A JSON round trip loses nothing (no undefined, functions or cycles).
      assert.deepEqual(JSON.parse(JSON.stringify(schema)), schema);
    });
  }

  it("the checker itself catches violations", () => {
    const bad: JsonSchema = {
      type: "object",
      properties: {
        a: { description: "no type" },
        b: { type: "object", properties: {}, additionalProperties: { type: "string" } },
      },
    };
    assert.deepEqual(structuralViolations(bad, ""), ["a: no type", "b: properties and additionalProperties"]);
  });

  // Written whole by the controller only: one managed field for the API server to track, not one per leaf.
  it("status is an atomic map in both versions", () => {
    for (const v of ["v2alpha2", "v2alpha1"] as const) {
      assert.equal(experimentSchema(v).properties?.["status"]?.["x-kubernetes-map-type"], "atomic", v);
    }
  });
});

describe("Experiment v2alpha2 schema covers every v2alpha2 field", () => {
  const s = experimentSchema("v2alpha2");
  const fields = [
    "spec.target",
    "spec.versionInfo.baseline.name",
    "spec.versionInfo.baseline.variables.[].name",
    "spec.versionInfo.baseline.variables.[].value",
    "spec.versionInfo.baseline.weightObjRef.fieldPath",
    "spec.versionInfo.candidates.[].weightObjRef.namespace",
    "spec.strategy.testingPattern",
    "spec.strategy.deploymentPattern",
    "spec.strategy.actions.{}.[].task",
    "spec.strategy.actions.{}.[].run",
    "spec.strategy.actions.{}.[].if",
    "spec.strategy.actions.{}.[].with",
    "spec.strategy.weights.maxCandidateWeight",
    "spec.strategy.weights.maxCandidateWeightIncrement",
    "spec.criteria.requestCount",
    "spec.criteria.rewards.[].metric",
    "spec.criteria.rewards.[].preferredDirection",
    "spec.criteria.objectives.[].metric",
    "spec.criteria.objectives.[].upperLimit",
    "spec.criteria.objectives.[].lowerLimit",
    "spec.criteria.objectives.[].rollback_on_failure",
    "spec.criteria.indicators.[]",
    "spec.criteria.strength",
    "spec.duration.intervalSeconds",
    "spec.duration.iterationsPerLoop",
    "spec.duration.maxLoops",
    "status.conditions.[].type",
    "status.initTime",
    "status.startTime",
    "status.lastUpdateTime",
    "status.stage",
    "status.completedIterations",
    "status.currentWeightDistribution.[].value",
    "status.analysis.aggregatedBuiltinHists.data",
    "status.analysis.aggregatedMetrics.data.{}.data.{}.value",
    "status.analysis.versionAssessments.data.{}.[]",
    "status.analysis.winnerAssessment.data.winnerFound",
    "status.analysis.weights.data.[].name",
    "status.versionRecommendedForPromotion",
    "status.message",
    "status.metrics.[].metricObj",
  ];
  for (const f of fields) it(f, () => assert.ok(at(s, f), `${f} missing`));

  it("enums, ranges and int-or-string limits", () => {
    assert.deepEqual(at(s, "spec.strategy.testingPattern")?.enum, ["Canary", "A/B", "A/B/N", "Conformance"]);
    assert.deepEqual(at(s, "spec.strategy.deploymentPattern")?.enum, [
      "Progressive",
      "FixedSplit",
      "BlueGreen",
    ]);
    assert.deepEqual(at(s, "spec.criteria.rewards.[].preferredDirection")?.enum, ["High", "Low"]);
    for (const w of ["maxCandidateWeight", "maxCandidateWeightIncrement"]) {
      const n = at(s, `spec.strategy.weights.${w}`);
      assert.equal(n?.minimum, 0);
      assert.equal(n?.maximum, 100);
    }
    for (const d of ["intervalSeconds", "iterationsPerLoop", "maxLoops"])
      assert.equal(at(s, `spec.duration.${d}`)?.minimum, 1);
    const limit = at(s, "spec.criteria.objectives.[].upperLimit");
    assert.equal(limit?.["x-kubernetes-int-or-string"], true);
    assert.equal(limit?.pattern, QUANTITY_PATTERN);
    assert.deepEqual(s.required, ["spec"]);
    assert.deepEqual(at(s, "spec")?.required, ["target", "strategy"]);
    for (const p of [
      "spec.strategy.actions.{}.[].with",
      "status.analysis.aggregatedBuiltinHists.data",
      "spec.criteria.strength",
    ]) {
      assert.equal(at(s, p)?.["x-kubernetes-preserve-unknown-fields"], true, p);
    }
  });
});

describe("Metric schemas cover every Metric field", () => {
  it("v2alpha2", () => {
    const s = metricSchema("v2alpha2");
    for (const f of [
      "description",
      "units",
      "provider",
      "type",
      "sampleSize",
      "params",
      "method",
      "body",
      "urlTemplate",
      "headerTemplates",
      "authType",
      "secret",
      "jqExpression",
      "mock",
    ]) {
      assert.ok(at(s, `spec.${f}`), f);
    }
    assert.deepEqual(at(s, "spec.type")?.enum, ["Counter", "Gauge"]);
    assert.deepEqual(at(s, "spec.method")?.enum, ["GET", "POST"]);
    assert.deepEqual(at(s, "spec.authType")?.enum, ["Basic", "Bearer", "APIKey"]);
    assert.equal(at(s, "spec.mock.[].level")?.["x-kubernetes-int-or-string"], true);
    assert.equal(s.properties?.["status"], undefined);
  });
  it("v2alpha1", () => {
    const s = metricSchema("v2alpha1");
    assert.deepEqual(at(s, "spec.type")?.enum, ["counter", "gauge"]);
    assert.equal(at(s, "spec.sampleSize")?.type, "object");
    assert.deepEqual(at(s, "spec")?.required, ["provider"]);
  });
  it("v2alpha1 Experiment has the old names", () => {
    const s = experimentSchema("v2alpha1");
    for (const f of [
      "spec.criteria.reward.metric",
      "spec.strategy.handlers.start",
      "spec.strategy.actions.{}.[].library",
      "spec.metrics.[].metricObj",
      "spec.duration.maxIterations",
      "status.recommendedBaseline",
    ]) {
      assert.ok(at(s, f), f);
    }
    assert.equal(at(s, "spec.criteria.rewards"), undefined);
  });
});
