import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  makeRefResolver,
  normaliseExperimentRefs,
  normaliseRef,
  RefError,
  refProblem,
} from "../../../src/api/refs.ts";
import { analysisPiece, experimentFixture, metricFixture, metricInfo } from "../../support/experiments.ts";

describe("normaliseRef", () => {
  it("qualifies bare names with the default namespace", () =>
    assert.equal(normaliseRef("mean-latency", "default"), "default/mean-latency"));
  it("keeps namespace/name", () =>
    assert.equal(normaliseRef("iter8-knative/mean-latency", "default"), "iter8-knative/mean-latency"));
  for (const bad of ["a/b/c", "", "/name", "ns/", "Upper", "ns/under_score"]) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => normaliseRef(bad, "default"), RefError);
      assert.ok(refProblem(bad));
    });
  }
});

describe("makeRefResolver", () => {
  const metrics = new Set(["iter8-system/request-count", "iter8-system/mean-latency", "team/mean-latency"]);
  const metricExists = (ns: string, name: string) => metrics.has(`${ns}/${name}`);
  it("experiment namespace first", () =>
    assert.equal(makeRefResolver({ namespace: "team", metricExists })("mean-latency"), "team/mean-latency"));
  it("then the install namespace", () =>
    assert.equal(
      makeRefResolver({ namespace: "team", metricExists })("request-count"),
      "iter8-system/request-count",
    ));
  it("a configured install namespace", () => {
    const r = makeRefResolver({
      namespace: "team",
      installNamespace: "iter8",
      metricExists: (ns) => ns === "iter8",
    });
    assert.equal(r("x"), "iter8/x");
  });
  it("unknown everywhere: the experiment namespace (the engine reports it missing there)", () =>
    assert.equal(makeRefResolver({ namespace: "team", metricExists })("nope"), "team/nope"));
  it("without a lookup: the experiment namespace", () =>
    assert.equal(makeRefResolver({ namespace: "team" })("request-count"), "team/request-count"));
  it("qualified references are never looked up", () => {
    const r = makeRefResolver({ namespace: "team", metricExists: () => assert.fail("looked up") });
    assert.equal(r("a/b"), "a/b");
  });
});

describe("normaliseExperimentRefs", () => {
  it("rewrites criteria, status metric keys and embedded sampleSizes", () => {
    // Written references, as before normalisation: bare names resolve in `team`.
    const exp = experimentFixture({
      namespace: "team",
      target: "t",
      testingPattern: "A/B",
      versions: [],
      criteria: {
        requestCount: "request-count",
        rewards: [{ metric: "revenue", preferredDirection: "High" }],
        objectives: [{ metric: "shared/latency", upperLimit: 5 }],
        indicators: ["errors"],
      },
      status: {
        metrics: [metricInfo(metricFixture("team/revenue", { sampleSize: "request-count" }), "revenue")],
        analysis: {
          aggregatedMetrics: analysisPiece(
            { revenue: { data: { v1: { value: 1 } } }, "shared/latency": { data: {} } },
            { provenance: "p", timestamp: "t" },
          ),
        },
      },
    });
    const out = normaliseExperimentRefs(exp, makeRefResolver({ namespace: "team" }));
    assert.equal(out.spec.criteria?.requestCount, "team/request-count");
    assert.equal(out.spec.criteria?.rewards?.[0]?.metric, "team/revenue");
    assert.equal(out.spec.criteria?.objectives?.[0]?.metric, "shared/latency");
    assert.deepEqual(out.spec.criteria?.indicators, ["team/errors"]);
    assert.equal(out.status?.metrics?.[0]?.name, "team/revenue");
    assert.equal(out.status?.metrics?.[0]?.metricObj.spec.sampleSize, "team/request-count");
    assert.deepEqual(Object.keys(out.status?.analysis?.aggregatedMetrics?.data ?? {}), [
      "team/revenue",
      "shared/latency",
    ]);
    assert.equal(exp.spec.criteria?.requestCount, "request-count", "the input is not modified");
  });
});
