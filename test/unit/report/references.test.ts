import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Experiment } from "../../../src/api/types.ts";
import { writtenMetricReferences } from "../../../src/report/references.ts";
import { experimentFixture, metricFixture, metricInfo } from "../../support/experiments.ts";

function normalised(
  criteria: NonNullable<Experiment["spec"]["criteria"]>,
  metrics: string[] = [],
): Experiment {
  return experimentFixture({
    target: "t",
    testingPattern: "A/B",
    versions: [],
    criteria,
    status: { metrics: metrics.map((key) => metricInfo(metricFixture(key))) },
  });
}

describe("writtenMetricReferences", () => {
  it("pairs v2alpha2 criteria and status.metrics by position", () => {
    const source = {
      spec: {
        criteria: {
          requestCount: "iter8-knative/request-count",
          rewards: [{ metric: "conversion", preferredDirection: "High" }],
          objectives: [{ metric: "iter8-knative/mean-latency" }, { metric: "error-rate" }],
          indicators: ["p50"],
        },
      },
      status: { metrics: [{ name: "iter8-knative/request-count" }, { name: "conversion" }] },
    };
    const exp = normalised(
      {
        requestCount: "iter8-knative/request-count",
        rewards: [{ metric: "default/conversion", preferredDirection: "High" }],
        objectives: [{ metric: "iter8-knative/mean-latency" }, { metric: "default/error-rate" }],
        indicators: ["default/p50"],
      },
      ["iter8-knative/request-count", "default/conversion"],
    );
    assert.deepEqual(
      [...writtenMetricReferences(source, exp)],
      [
        ["iter8-knative/request-count", "iter8-knative/request-count"],
        ["iter8-knative/mean-latency", "iter8-knative/mean-latency"],
        ["default/error-rate", "error-rate"],
        ["default/conversion", "conversion"],
        ["default/p50", "p50"],
      ],
    );
  });

  it("reads v2alpha1 `reward` and `spec.metrics`; a defaulted requestCount has no written form", () => {
    const source = {
      spec: {
        criteria: { reward: { metric: "revenue", preferredDirection: "High" } },
        metrics: [{ name: "request-count" }, { name: "revenue" }],
      },
    };
    const exp = normalised(
      {
        requestCount: "iter8-system/request-count",
        rewards: [{ metric: "iter8-system/revenue", preferredDirection: "High" }],
      },
      ["iter8-system/request-count", "iter8-system/revenue"],
    );
    assert.deepEqual(
      [...writtenMetricReferences(source, exp)],
      [
        ["iter8-system/revenue", "revenue"],
        ["iter8-system/request-count", "request-count"],
      ],
    );
  });

  it("ignores a source of another shape", () => {
    assert.equal(
      writtenMetricReferences("not an object", normalised({ objectives: [{ metric: "a/b" }] })).size,
      0,
    );
  });
});
