// status.metrics keeps a copy of each Metric, written again on every status update: the API
// server's field bookkeeping and kubectl's last-applied copy stay out of it, the rest is kept.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Metric } from "../../../src/api/types.ts";
import { metricCopy } from "../../../src/engine/metrics.ts";

function metric(annotations?: Record<string, string>): Metric {
  return {
    apiVersion: "iter8.tools/v2alpha2",
    kind: "Metric",
    metadata: {
      name: "mean-latency",
      namespace: "iter8-knative",
      uid: "u-1",
      resourceVersion: "42",
      labels: { team: "a" },
      ...(annotations ? { annotations } : {}),
      managedFields: [{ manager: "kubectl", operation: "Apply", fieldsV1: { "f:spec": {} } }],
    } as Metric["metadata"],
    spec: { type: "Gauge", provider: "prometheus", jqExpression: ".x", urlTemplate: "http://p" },
  } as Metric;
}

describe("metricCopy", () => {
  it("drops managedFields and keeps name, labels, uid, resourceVersion and spec", () => {
    const copy = metricCopy(metric());
    assert.equal("managedFields" in copy.metadata, false);
    assert.deepEqual(copy.metadata, {
      name: "mean-latency",
      namespace: "iter8-knative",
      uid: "u-1",
      resourceVersion: "42",
      labels: { team: "a" },
    });
    assert.deepEqual(copy.spec, metric().spec);
  });

  it("drops kubectl's last-applied-configuration and keeps other annotations", () => {
    const last = "kubectl.kubernetes.io/last-applied-configuration";
    assert.deepEqual(metricCopy(metric({ [last]: "{...}", owner: "b" })).metadata.annotations, {
      owner: "b",
    });
    assert.equal("annotations" in metricCopy(metric({ [last]: "{...}" })).metadata, false);
  });

  it("leaves the Metric it was given unchanged", () => {
    const m = metric({ "kubectl.kubernetes.io/last-applied-configuration": "{}" });
    const before = structuredClone(m);
    metricCopy(m);
    assert.deepEqual(m, before);
  });
});
