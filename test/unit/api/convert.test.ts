import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parse } from "yaml";
import {
  convertExperiment,
  convertMetric,
  downgradeExperiment,
  fieldPathToJsonPointer,
} from "../../../src/api/convert.ts";
import { validateExperiment } from "../../../src/api/validate.ts";

// biome-ignore lint/suspicious/noExplicitAny: the tests mutate parsed YAML freely
type Doc = any;
const V1 = "iter8.tools/v2alpha1";
const V2 = "iter8.tools/v2alpha2";
const seed = (n: string): Doc =>
  parse(readFileSync(new URL(`../../fixtures/seeds/${n}-experiment.yaml`, import.meta.url), "utf8"));
/** JSON values as the API server would hold them (no -0). */
const json = (depth = 3) => fc.jsonValue({ maxDepth: depth }).map((v) => JSON.parse(JSON.stringify(v)));

describe("downgradeExperiment", () => {
  it("maps the v2alpha2 names back", () => {
    const exp = seed("001");
    exp.spec.criteria.rewards = [{ metric: "m", preferredDirection: "High" }];
    exp.spec.versionInfo.baseline.weightObjRef = { kind: "Service", fieldPath: ".spec.traffic[0].percent" };
    exp.status = {
      versionRecommendedForPromotion: "candidate",
      metrics: [
        {
          name: "a/m",
          metricObj: {
            apiVersion: V2,
            kind: "Metric",
            metadata: { name: "m" },
            spec: { type: "Counter", sampleSize: "a/rc" },
          },
        },
      ],
    };
    const v1 = downgradeExperiment(exp) as Doc;
    assert.equal(v1.apiVersion, V1);
    assert.deepEqual(v1.spec.strategy.actions.start, [{ library: "knative", task: "init-experiment" }]);
    assert.equal(v1.spec.strategy.actions.finish[0].library, "common");
    assert.equal(v1.spec.strategy.actions.finish[0].task, "exec");
    assert.deepEqual(v1.spec.criteria.reward, { metric: "m", preferredDirection: "High" });
    assert.equal(v1.spec.criteria.rewards, undefined);
    assert.equal(v1.spec.versionInfo.baseline.weightObjRef.fieldPath, "/spec/traffic/0/percent");
    assert.deepEqual(v1.status, { recommendedBaseline: "candidate" });
    assert.deepEqual(v1.spec.metrics[0].metricObj.spec, {
      type: "counter",
      sampleSize: { namespace: "a", name: "rc" },
    });
    assert.equal(v1.metadata.annotations["iter8.tools/source-version"], "v2alpha2");
  });

  it("fieldPathToJsonPointer", () => {
    assert.equal(fieldPathToJsonPointer(".spec.http[0].route[1].weight"), "/spec/http/0/route/1/weight");
    assert.equal(fieldPathToJsonPointer("odd path"), "odd path");
  });
});

describe("conversion round trips without loss (what a conversion webhook needs)", () => {
  for (const n of ["000", "001"]) {
    it(`seed ${n}: v2alpha2 -> v2alpha1 -> v2alpha2`, () => {
      const exp = seed(n);
      const v1 = convertExperiment(exp, V1);
      assert.equal(v1["apiVersion"], V1);
      assert.deepEqual(convertExperiment(v1, V2), exp);
    });
  }

  it("seed 004: v2alpha1 -> v2alpha2 -> v2alpha1, and the v2alpha2 form is valid and means the same", () => {
    const exp = seed("004");
    const v2 = convertExperiment(exp, V2);
    assert.deepEqual(convertExperiment(v2, V1), exp);
    const r = validateExperiment(v2);
    assert.deepEqual(r.problems, []);
    assert.equal(r.resource?.spec.strategy.actions?.["start"]?.[0]?.task, "knative/init-experiment");
    assert.equal(r.resource?.metadata.annotations?.["iter8.tools/source-version"], "v2alpha1");
  });

  it("status written in v2alpha2 reads back in v2alpha1 and survives the trip", () => {
    const v2 = convertExperiment(seed("004"), V2) as Doc;
    v2.status = {
      stage: "Completed",
      completedIterations: 10,
      versionRecommendedForPromotion: "current",
      analysis: {
        aggregatedBuiltinHists: { provenance: "b", timestamp: "t", data: {} },
        winnerAssessment: { provenance: "a", timestamp: "t", data: { winnerFound: false } },
      },
      metrics: [
        {
          name: "iter8-system/mean-latency",
          metricObj: {
            apiVersion: V2,
            kind: "Metric",
            metadata: { name: "mean-latency" },
            spec: { type: "Gauge", urlTemplate: "http://p", jqExpression: "." },
          },
        },
      ],
    };
    const v1 = convertExperiment(v2, V1) as Doc;
    assert.equal(v1.status.recommendedBaseline, "current");
    assert.equal(v1.spec.metrics[0].metricObj.spec.type, "gauge");
    assert.deepEqual(convertExperiment(v1, V2), v2);
  });

  it("a changed part is converted field by field", () => {
    const v1 = convertExperiment(seed("001"), V1) as Doc;
    v1.spec.duration.intervalSeconds = 30;
    const v2 = convertExperiment(v1, V2) as Doc;
    assert.equal(v2.spec.duration.intervalSeconds, 30);
    assert.equal(v2.spec.strategy.actions.start[0].task, "knative/init-experiment");
    assert.equal(v2.metadata.annotations, undefined, "nothing left behind for an object written in v2alpha2");
  });

  const objects = (apiVersion: string, kind: string) =>
    fc
      .record(
        {
          apiVersion: fc.constant(apiVersion),
          kind: fc.constant(kind),
          metadata: fc.record(
            { name: fc.constant("x"), labels: fc.dictionary(fc.constantFrom("a", "b"), fc.string()) },
            { requiredKeys: ["name"] },
          ),
          spec: json(4),
          status: json(4),
        },
        { requiredKeys: ["apiVersion", "kind", "metadata"] },
      )
      .map((o) => JSON.parse(JSON.stringify(o)));

  it("any v2alpha2 object, however odd, comes back unchanged", () => {
    fc.assert(
      fc.property(objects(V2, "Experiment"), (obj) =>
        assert.deepEqual(convertExperiment(convertExperiment(obj, V1), V2), obj),
      ),
      { numRuns: 500 },
    );
  });

  it("any v2alpha1 object, however odd, comes back unchanged", () => {
    fc.assert(
      fc.property(objects(V1, "Experiment"), (obj) =>
        assert.deepEqual(convertExperiment(convertExperiment(obj, V2), V1), obj),
      ),
      { numRuns: 500 },
    );
  });

  it("seeds with random values in random places come back unchanged, both ways", () => {
    const paths: string[][] = [];
    const walk = (node: unknown, path: string[]) => {
      paths.push(path);
      if (node !== null && typeof node === "object")
        for (const [k, v] of Object.entries(node)) walk(v, [...path, k]);
    };
    for (const n of ["000", "001", "004"]) walk(seed(n), [n]);
    fc.assert(
      fc.property(fc.constantFrom(...paths.filter((p) => p.length > 2)), json(3), (path, value) => {
        const doc = seed(path[0]!);
        let node = doc;
        for (const k of path.slice(1, -1)) node = node[k];
        node[path[path.length - 1]!] = value;
        const other = doc.apiVersion === V1 ? V2 : V1;
        assert.deepEqual(convertExperiment(convertExperiment(doc, other), doc.apiVersion), doc);
      }),
      { numRuns: 1000 },
    );
  });

  it("metrics both ways", () => {
    const v1 = {
      apiVersion: V1,
      kind: "Metric",
      metadata: { name: "rc", namespace: "iter8-system" },
      spec: {
        provider: "prometheus",
        type: "counter",
        sampleSize: { name: "x" },
        params: [{ name: "query", value: "sum(increase(m[$interval]))" }],
      },
    };
    const v2 = convertMetric(v1, V2) as Doc;
    assert.equal(v2.spec.type, "Counter");
    assert.equal(v2.spec.jqExpression, ".data.result[0].value[1] | tonumber");
    assert.deepEqual(convertMetric(v2, V1), v1);
    fc.assert(
      fc.property(objects(V2, "Metric"), (obj) =>
        assert.deepEqual(convertMetric(convertMetric(obj, V1), V2), obj),
      ),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(objects(V1, "Metric"), (obj) =>
        assert.deepEqual(convertMetric(convertMetric(obj, V2), V1), obj),
      ),
      { numRuns: 300 },
    );
  });
});
