// The shared test builders: their defaults are valid objects, and an option left out (or given as
// undefined) leaves its field out instead of setting it to undefined.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateExperiment, validateMetric } from "../../../src/api/validate.ts";
import {
  abFixture,
  abnFixture,
  analysisPiece,
  conformanceFixture,
  experimentFixture,
  httpRouteRef,
  knativeObjectives,
  knativeTrafficRef,
  metricFixture,
  metricInfo,
  version,
  versionWeights,
  virtualServiceRef,
  winnerAssessment,
} from "../../support/experiments.ts";

/** Paths of every property whose value is undefined. */
function undefinedPaths(x: unknown, path = ""): string[] {
  if (x === null || typeof x !== "object") return [];
  return Object.entries(x).flatMap(([k, v]) =>
    v === undefined ? [`${path}.${k}`] : undefinedPaths(v, `${path}.${k}`),
  );
}

describe("experimentFixture", () => {
  it("is a valid Canary with a baseline and a candidate, and nothing else", () => {
    const exp = experimentFixture();
    assert.deepEqual(exp, {
      apiVersion: "iter8.tools/v2alpha2",
      kind: "Experiment",
      metadata: { name: "e", namespace: "default" },
      spec: {
        target: "default/app",
        versionInfo: { baseline: { name: "current" }, candidates: [{ name: "candidate" }] },
        strategy: { testingPattern: "Canary" },
      },
    });
    assert.deepEqual(validateExperiment(exp).problems, []);
  });

  it("leaves out what is given as undefined", () => {
    const exp = experimentFixture({
      name: undefined,
      deploymentPattern: undefined,
      actions: undefined,
      weights: undefined,
      versions: undefined,
      weightObjRefs: undefined,
      versionInfo: undefined,
      criteria: undefined,
      duration: undefined,
      status: undefined,
    });
    assert.deepEqual(exp, experimentFixture());
    assert.deepEqual(undefinedPaths(exp), []);
  });

  it("sets each option where it belongs, the target following the namespace", () => {
    const exp = experimentFixture({
      name: "x",
      namespace: "ns",
      metadata: { resourceVersion: "3" },
      deploymentPattern: "FixedSplit",
      actions: { finish: [{ task: "common/exec", with: { cmd: "true" } }] },
      weights: { maxCandidateWeight: 50 },
      criteria: { objectives: knativeObjectives() },
      duration: { intervalSeconds: 1 },
      status: { stage: "Running" },
    });
    assert.deepEqual(exp.metadata, { name: "x", namespace: "ns", resourceVersion: "3" });
    assert.equal(exp.spec.target, "ns/app");
    assert.deepEqual(exp.spec.strategy, {
      testingPattern: "Canary",
      deploymentPattern: "FixedSplit",
      actions: { finish: [{ task: "common/exec", with: { cmd: "true" } }] },
      weights: { maxCandidateWeight: 50 },
    });
    assert.deepEqual(exp.spec.duration, { intervalSeconds: 1 });
    assert.deepEqual(exp.status, { stage: "Running" });
    assert.deepEqual(validateExperiment(exp).problems, []);
  });

  it("versions: names or details, weightObjRefs by position, none at all", () => {
    const exp = experimentFixture({
      versions: [version("v1", { revision: "r1" }), "v2", version("v3", {}, { fieldPath: ".x" })],
      weightObjRefs: (i) => virtualServiceRef("vs", i),
    });
    assert.deepEqual(exp.spec.versionInfo, {
      baseline: {
        name: "v1",
        variables: [{ name: "revision", value: "r1" }],
        weightObjRef: virtualServiceRef("vs", 0),
      },
      candidates: [
        { name: "v2", weightObjRef: virtualServiceRef("vs", 1) },
        { name: "v3", variables: [], weightObjRef: { fieldPath: ".x" } },
      ],
    });
    assert.deepEqual(experimentFixture({ versions: ["only"] }).spec.versionInfo, {
      baseline: { name: "only" },
    });
    assert.equal("versionInfo" in experimentFixture({ versions: [] }).spec, false);
    const odd = { baseline: { name: "a" }, candidates: [] };
    assert.equal(experimentFixture({ versions: ["x"], versionInfo: odd }).spec.versionInfo, odd);
  });

  it("new defaults on every call", () => {
    const a = experimentFixture();
    a.spec.versionInfo!.baseline.name = "changed";
    assert.equal(experimentFixture().spec.versionInfo!.baseline.name, "current");
  });
});

describe("shapes", () => {
  it("Conformance: one version", () => {
    const exp = conformanceFixture({ name: "c" });
    assert.equal(exp.spec.strategy.testingPattern, "Conformance");
    assert.deepEqual(exp.spec.versionInfo, { baseline: { name: "current" } });
    assert.deepEqual(validateExperiment(exp).problems, []);
  });

  it("A/B and A/B/N: the reward joins the other criteria", () => {
    const ab = abFixture("ns/conversion", { criteria: { strength: { confidence: 0.95 } } });
    assert.equal(ab.spec.strategy.testingPattern, "A/B");
    assert.deepEqual(ab.spec.criteria, {
      strength: { confidence: 0.95 },
      rewards: [{ metric: "ns/conversion", preferredDirection: "High" }],
    });
    assert.deepEqual(validateExperiment(ab).problems, []);
    const abn = abnFixture({ metric: "ns/cost", preferredDirection: "Low" });
    assert.equal(abn.spec.strategy.testingPattern, "A/B/N");
    assert.deepEqual(abn.spec.criteria, { rewards: [{ metric: "ns/cost", preferredDirection: "Low" }] });
    assert.equal(abn.spec.versionInfo?.candidates?.length, 2);
    assert.deepEqual(validateExperiment(abn).problems, []);
  });

  it("weight references: namespace only when given", () => {
    assert.deepEqual(knativeTrafficRef("sample-app", 1, "default"), {
      apiVersion: "serving.knative.dev/v1",
      kind: "Service",
      namespace: "default",
      name: "sample-app",
      fieldPath: ".spec.traffic[1].percent",
    });
    assert.deepEqual(httpRouteRef("app", 0), {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      name: "app",
      fieldPath: ".spec.rules[0].backendRefs[0].weight",
    });
    const canary = experimentFixture({
      deploymentPattern: "Progressive",
      weightObjRefs: (i) => virtualServiceRef("vs", i, "default"),
    });
    assert.deepEqual(validateExperiment(canary).problems, []);
  });

  it("status pieces", () => {
    assert.deepEqual(versionWeights({ v1: 80, v2: 20 }), [
      { name: "v1", value: 80 },
      { name: "v2", value: 20 },
    ]);
    assert.deepEqual(winnerAssessment("v2", { provenance: "p", timestamp: "t" }), {
      provenance: "p",
      timestamp: "t",
      data: { winnerFound: true, winner: "v2" },
    });
    assert.deepEqual(winnerAssessment(undefined).data, { winnerFound: false });
    assert.deepEqual(undefinedPaths(analysisPiece({}, { message: undefined })), []);
  });
});

describe("metricFixture", () => {
  it("splits the key into namespace and name; a bare name has no namespace", () => {
    const m = metricFixture("iter8-knative/mean-latency", { units: "milliseconds" });
    assert.deepEqual(m, {
      apiVersion: "iter8.tools/v2alpha2",
      kind: "Metric",
      metadata: { name: "mean-latency", namespace: "iter8-knative" },
      spec: { units: "milliseconds" },
    });
    assert.deepEqual(metricFixture("bare").metadata, { name: "bare" });
    assert.deepEqual(metricFixture("ns/m", {}, { annotations: { a: "b" } }).metadata, {
      name: "m",
      namespace: "ns",
      annotations: { a: "b" },
    });
    assert.deepEqual(validateMetric(m).problems, []);
  });

  it("metricInfo names the entry by the metric's key unless told otherwise", () => {
    const m = metricFixture("ns/m");
    assert.deepEqual(metricInfo(m), { name: "ns/m", metricObj: m });
    assert.equal(metricInfo(metricFixture("m")).name, "m");
    assert.equal(metricInfo(m, "other/m").name, "other/m");
  });
});
