// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are Python-style query templates, on purpose
// The shipped Metric resources (deploy/metrics) are valid for the API and match Iter8 v2's sample and built-in metrics.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { loadDocuments } from "../../../src/api/load.ts";
import type { Metric } from "../../../src/api/types.ts";
import { BUILTIN_METRICS } from "../../../src/metrics/builtin-provider.ts";

function load(file: string): Metric[] {
  const docs = loadDocuments(
    readFileSync(new URL(`../../../deploy/metrics/${file}`, import.meta.url), "utf8"),
  );
  for (const d of docs) assert.deepEqual(d.problems, [], `${file}: ${JSON.stringify(d)}`);
  return docs.map((d) => d.resource as Metric);
}

const byName = (ms: Metric[]) => Object.fromEntries(ms.map((m) => [m.metadata.name, m]));
const PROM_URL = "http://prometheus-operated.iter8-system:9090/api/v1/query";
const COUNT =
  "sum(increase(revision_app_request_latencies_count{revision_name='$revision'}[${elapsedTime}s])) or on() vector(0)";
const ERRORS =
  "sum(increase(revision_app_request_latencies_count{response_code_class!='2xx',revision_name='$revision'}[${elapsedTime}s])) or on() vector(0)";
const SUM =
  "sum(increase(revision_app_request_latencies_sum{revision_name='$revision'}[${elapsedTime}s])) or on() vector(0)";
const P95 =
  "histogram_quantile(0.95, sum(rate(revision_app_request_latencies_bucket{revision_name='$revision'}[${elapsedTime}s])) by (le))";

describe("deploy/metrics", () => {
  for (const [file, ns] of [
    ["iter8-knative.yaml", "iter8-knative"],
    ["iter8-system-prometheus.yaml", "iter8-system"],
  ] as const) {
    it(`${file}: the five Knative sample metrics in ${ns}`, () => {
      const m = byName(load(file));
      assert.deepEqual(Object.keys(m), [
        "request-count",
        "error-count",
        "error-rate",
        "mean-latency",
        "95th-percentile-tail-latency",
      ]);
      const expected: Record<string, [string, string | undefined, string | undefined, string]> = {
        "request-count": ["Counter", undefined, undefined, COUNT],
        "error-count": ["Counter", undefined, undefined, ERRORS],
        "error-rate": ["Gauge", undefined, `${ns}/request-count`, `(${ERRORS}) / (${COUNT})`],
        "mean-latency": ["Gauge", "milliseconds", `${ns}/request-count`, `(${SUM}) / (${COUNT})`],
        "95th-percentile-tail-latency": ["Gauge", "milliseconds", `${ns}/request-count`, P95],
      };
      for (const [name, [type, units, sampleSize, promql]] of Object.entries(expected)) {
        const s = m[name]!.spec;
        assert.equal(m[name]!.metadata.namespace, ns);
        assert.equal(s.provider, "prometheus");
        assert.equal(s.type, type, name);
        assert.equal(s.units, units, name);
        assert.equal(s.sampleSize, sampleSize, name);
        assert.equal(s.urlTemplate, PROM_URL);
        assert.equal(s.jqExpression, ".data.result[0].value[1] | tonumber");
        assert.deepEqual(s.params, [{ name: "query", value: promql }], name);
      }
    });
  }

  it("iter8-knative-builtin.yaml: the same five names answered by the built-in provider", () => {
    const prom = byName(load("iter8-knative.yaml"));
    for (const m of load("iter8-knative-builtin.yaml")) {
      const twin = prom[m.metadata.name]!;
      assert.equal(m.metadata.namespace, "iter8-knative");
      assert.equal(m.spec.provider, "iter8");
      assert.equal(m.spec.type, twin.spec.type);
      assert.equal(m.spec.units, twin.spec.units);
      assert.equal(m.spec.sampleSize, twin.spec.sampleSize);
      assert.ok((BUILTIN_METRICS as readonly string[]).includes(m.metadata.name));
    }
  });

  it("builtin.yaml: every built-in metric in iter8-system", () => {
    const ms = load("builtin.yaml");
    assert.deepEqual(
      ms.map((m) => m.metadata.name),
      [...BUILTIN_METRICS],
    );
    for (const m of ms) {
      assert.equal(m.metadata.namespace, "iter8-system");
      assert.equal(m.spec.provider, "iter8");
      const counter = m.metadata.name === "request-count" || m.metadata.name === "error-count";
      assert.equal(m.spec.type, counter ? "Counter" : "Gauge");
      assert.equal(m.spec.sampleSize, counter ? undefined : "iter8-system/request-count");
    }
  });
});
