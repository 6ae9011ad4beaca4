import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { effectiveSpec, rollbackOnFailure, totalIterations } from "../../../src/api/defaults.ts";
import { namespaceOf } from "../../../src/api/refs.ts";
import type { ExperimentSpec } from "../../../src/api/types.ts";

describe("effectiveSpec", () => {
  it("fills every default of Iter8 v2", () => {
    const spec: ExperimentSpec = {
      target: "t",
      strategy: { testingPattern: "Canary" },
      criteria: { objectives: [{ metric: "a/b", upperLimit: 1 }] },
    };
    assert.deepEqual(effectiveSpec(spec), {
      target: "t",
      strategy: {
        testingPattern: "Canary",
        deploymentPattern: "Progressive",
        weights: { maxCandidateWeight: 100, maxCandidateWeightIncrement: 10 },
      },
      criteria: { objectives: [{ metric: "a/b", upperLimit: 1, rollback_on_failure: false }] },
      duration: { intervalSeconds: 20, iterationsPerLoop: 15, maxLoops: 1 },
    });
    assert.equal(spec.duration, undefined, "the input is not modified");
  });

  it("keeps what the user wrote", () => {
    const spec: ExperimentSpec = {
      target: "t",
      strategy: {
        testingPattern: "Canary",
        deploymentPattern: "FixedSplit",
        weights: { maxCandidateWeight: 75, maxCandidateWeightIncrement: 0 },
      },
      duration: { intervalSeconds: 1, maxLoops: 3 },
    };
    const e = effectiveSpec(spec);
    assert.deepEqual(e.strategy.weights, { maxCandidateWeight: 75, maxCandidateWeightIncrement: 0 });
    assert.deepEqual(e.duration, { intervalSeconds: 1, iterationsPerLoop: 15, maxLoops: 3 });
    assert.equal(totalIterations(spec), 45);
  });

  it("rollback_on_failure defaults to true only for BlueGreen", () => {
    const spec: ExperimentSpec = {
      target: "t",
      strategy: { testingPattern: "Canary", deploymentPattern: "BlueGreen" },
    };
    assert.equal(rollbackOnFailure(spec, { metric: "a/b" }), true);
    assert.equal(rollbackOnFailure(spec, { metric: "a/b", rollback_on_failure: false }), false);
    assert.equal(
      rollbackOnFailure({ ...spec, strategy: { testingPattern: "Canary" } }, { metric: "a/b" }),
      false,
    );
  });

  it("namespace defaults to default", () => {
    assert.equal(namespaceOf({ metadata: { name: "x" } }), "default");
    assert.equal(namespaceOf({ metadata: { name: "x", namespace: "prod" } }), "prod");
  });
});
