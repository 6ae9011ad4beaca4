import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { jsonPointerToFieldPath, upgradeExperiment, upgradeMetric } from "../../../src/api/upgrade.ts";

const seed004 = () =>
  parse(readFileSync(new URL("../../fixtures/seeds/004-experiment.yaml", import.meta.url), "utf8"));

describe("upgradeExperiment", () => {
  it("upgrades the seed 004 v2alpha1 experiment to the expected v2alpha2 object", () => {
    const input = seed004();
    const before = structuredClone(input);
    const { object, warnings } = upgradeExperiment(input);
    assert.deepEqual(object, {
      apiVersion: "iter8.tools/v2alpha2",
      kind: "Experiment",
      metadata: { name: "mirroring", annotations: { "iter8.tools/source-version": "v2alpha1" } },
      spec: {
        target: "default/sample-app",
        strategy: {
          testingPattern: "Conformance",
          actions: { start: [{ task: "knative/init-experiment" }] },
        },
        criteria: {
          // The v2alpha1 controller's default.
          requestCount: "request-count",
          objectives: [
            { metric: "mean-latency", upperLimit: 50 },
            { metric: "95th-percentile-tail-latency", upperLimit: 100 },
            { metric: "error-rate", upperLimit: "0.01" },
          ],
        },
        duration: { intervalSeconds: 10, iterationsPerLoop: 10 },
        versionInfo: {
          baseline: { name: "current", variables: [{ name: "revision", value: "sample-app-v2" }] },
        },
      },
    });
    assert.deepEqual(warnings, []);
    assert.deepEqual(input, before, "the input is not modified");
  });

  it("renames and moves every v2alpha1 field", () => {
    const { object, warnings } = upgradeExperiment({
      apiVersion: "iter8.tools/v2alpha1",
      kind: "Experiment",
      metadata: { name: "ab", namespace: "prod", annotations: { team: "x" } },
      spec: {
        target: "prod/app",
        strategy: {
          testingPattern: "A/B",
          handlers: { start: "start", finish: "finish" },
          weights: { maxCandidateWeight: 50, algorithm: "progressive" },
          actions: { finish: [{ library: "common", task: "exec", with: { cmd: "echo" } }] },
        },
        criteria: {
          reward: { metric: "revenue", preferredDirection: "High" },
          requestCount: "prod/requests",
        },
        duration: { maxIterations: 7 },
        versionInfo: {
          baseline: {
            name: "v1",
            tags: { revision: "r1" },
            weightObjRef: { kind: "Service", fieldPath: "/spec/traffic/0/percent" },
          },
          candidates: [
            { name: "v2", weightObjRef: { kind: "Service", fieldPath: "/spec/traffic/1/percent" } },
          ],
        },
        metrics: [
          {
            name: "revenue",
            metricObj: {
              apiVersion: "iter8.tools/v2alpha1",
              kind: "Metric",
              metadata: { name: "revenue", namespace: "prod" },
              spec: { provider: "prometheus", type: "gauge", urlTemplate: "http://p" },
            },
          },
        ],
      },
      status: { recommendedBaseline: "v2", endTime: "2021-02-01T00:00:00Z", stage: "Completed" },
    });
    assert.deepEqual(object, {
      apiVersion: "iter8.tools/v2alpha2",
      kind: "Experiment",
      metadata: {
        name: "ab",
        namespace: "prod",
        annotations: { team: "x", "iter8.tools/source-version": "v2alpha1" },
      },
      spec: {
        target: "prod/app",
        strategy: {
          testingPattern: "A/B",
          weights: { maxCandidateWeight: 50 },
          actions: { finish: [{ task: "common/exec", with: { cmd: "echo" } }] },
        },
        criteria: {
          rewards: [{ metric: "revenue", preferredDirection: "High" }],
          requestCount: "prod/requests",
        },
        duration: { iterationsPerLoop: 7 },
        versionInfo: {
          baseline: {
            name: "v1",
            variables: [{ name: "revision", value: "r1" }],
            weightObjRef: { kind: "Service", fieldPath: ".spec.traffic[0].percent" },
          },
          candidates: [
            { name: "v2", weightObjRef: { kind: "Service", fieldPath: ".spec.traffic[1].percent" } },
          ],
        },
      },
      status: {
        versionRecommendedForPromotion: "v2",
        stage: "Completed",
        metrics: [
          {
            name: "revenue",
            metricObj: {
              apiVersion: "iter8.tools/v2alpha2",
              kind: "Metric",
              metadata: {
                name: "revenue",
                namespace: "prod",
                annotations: { "iter8.tools/source-version": "v2alpha1" },
              },
              spec: {
                provider: "prometheus",
                type: "Gauge",
                urlTemplate: "http://p",
                jqExpression: ".data.result[0].value[1] | tonumber",
              },
            },
          },
        ],
      },
    });
    assert.deepEqual(warnings, [
      "spec.strategy.handlers: dropped: v2alpha2 has no handlers; the start, loop and finish actions run instead",
      "spec.strategy.weights.algorithm: dropped: not part of v2alpha2",
    ]);
  });

  it("leaves v2alpha2 objects as they are", () => {
    const exp = {
      apiVersion: "iter8.tools/v2alpha2",
      kind: "Experiment",
      metadata: { name: "x" },
      spec: { criteria: { rewards: [] } },
    };
    assert.deepEqual(upgradeExperiment(exp), { object: exp, warnings: [] });
  });
});

describe("upgradeMetric", () => {
  it("v2alpha1 Knative sample metric", () => {
    const { object, warnings } = upgradeMetric({
      apiVersion: "iter8.tools/v2alpha1",
      kind: "Metric",
      metadata: { name: "mean-latency", namespace: "iter8-system" },
      spec: {
        description: "Mean latency",
        units: "milliseconds",
        provider: "prometheus",
        type: "gauge",
        sampleSize: { name: "request-count" },
        params: [
          {
            name: "query",
            value: "sum(increase(x{revision_name='$revision'}[$interval])) / sum(increase(y[${interval}]))",
          },
        ],
      },
    });
    assert.deepEqual(object["spec"], {
      description: "Mean latency",
      units: "milliseconds",
      provider: "prometheus",
      type: "Gauge",
      sampleSize: "request-count",
      params: [
        {
          name: "query",
          value: `sum(increase(x{revision_name='$revision'}[$${"{elapsedTime}"}s])) / sum(increase(y[$${"{elapsedTime}"}s]))`,
        },
      ],
      jqExpression: ".data.result[0].value[1] | tonumber",
    });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^spec\.urlTemplate: /);
  });

  it("sampleSize with a namespace and counter type", () => {
    const { object } = upgradeMetric({
      apiVersion: "iter8.tools/v2alpha1",
      kind: "Metric",
      metadata: { name: "m" },
      spec: { type: "counter", sampleSize: { namespace: "ns", name: "rc" }, urlTemplate: "u" },
    });
    assert.equal((object["spec"] as Record<string, unknown>)["sampleSize"], "ns/rc");
    assert.equal((object["spec"] as Record<string, unknown>)["type"], "Counter");
  });
});

describe("jsonPointerToFieldPath", () => {
  const cases: Array<[string, string]> = [
    ["/spec/traffic/0/percent", ".spec.traffic[0].percent"],
    ["/spec/http/0/route/1/weight", ".spec.http[0].route[1].weight"],
    ["/a~1b/c~0d", ".a/b.c~d"],
    [".spec.traffic[0].percent", ".spec.traffic[0].percent"],
  ];
  for (const [input, expected] of cases)
    it(input, () => assert.equal(jsonPointerToFieldPath(input), expected));
});
