import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { experimentSchema } from "../../../src/api/schema.ts";
import { effectiveStrength, strengthProblems } from "../../../src/api/strength.ts";
import { validateExperiment } from "../../../src/api/validate.ts";

const seed001 = () => parse(readFileSync("test/fixtures/seeds/001-experiment.yaml", "utf8"));

describe("spec.criteria.strength", () => {
  it("is read once it has confidence, with defaults", () => {
    assert.deepEqual(effectiveStrength({ confidence: 0.95 }), {
      confidence: 0.95,
      minSamples: 0,
      earlyStop: true,
      maxExtraIterations: 0,
    });
    // Other JSON stays ignored, as v2alpha2 reserved it.
    assert.equal(effectiveStrength({ anything: 1 }), undefined);
    assert.equal(effectiveStrength(undefined), undefined);
  });
  it("names the field of every problem", () => {
    const exp = seed001();
    exp.spec.criteria.strength = { confidence: 95, minSamples: -1, earlyStop: "yes", maxExtra: 3 };
    const paths = validateExperiment(exp).problems.map((p) => `${p.path}: ${p.message}`);
    assert.deepEqual(paths.sort(), [
      "spec.criteria.strength.confidence: must be a number >= 0.5 and < 1, e.g. 0.95 (got 95)",
      'spec.criteria.strength.earlyStop: must be true or false (got "yes")',
      "spec.criteria.strength.maxExtra: unknown field (known: confidence, minSamples, earlyStop, maxExtraIterations)",
      "spec.criteria.strength.minSamples: must be an integer from 0 to 1000000 (got -1)",
    ]);
    assert.deepEqual(strengthProblems({ confidence: 0.95, maxExtraIterations: 10 }), []);
  });
  it("a valid strength passes validation", () => {
    const exp = seed001();
    exp.spec.criteria.strength = {
      confidence: 0.95,
      maxExtraIterations: 10,
      minSamples: 100,
      earlyStop: false,
    };
    assert.deepEqual(validateExperiment(exp).problems, []);
  });
  it("the CRD keeps status.analysis.evidence and status.extraIterations", () => {
    const schema = experimentSchema("v2alpha2") as {
      properties: { status: { properties: Record<string, { properties?: Record<string, unknown> }> } };
    };
    const status = schema.properties.status.properties;
    assert.ok(status["extraIterations"]);
    assert.ok(status["analysis"]?.properties?.["evidence"]);
  });
});
