import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { LocalCluster } from "../../../src/platforms/local/cluster.ts";
import { loadTutorial, type TutorialError } from "../../../src/platforms/local/tutorial.ts";

const examples = fileURLToPath(new URL("../../../examples/", import.meta.url));
const metricKeys = (t: ReturnType<typeof loadTutorial>) =>
  t.metrics.map((m) => `${m.metadata.namespace}/${m.metadata.name}:${m.spec.provider}`);

describe("loading the example tutorials", () => {
  it("seed 001: two revisions from the rendered chart, the Fortio load, Helm mapped, built-in metrics", () => {
    const t = loadTutorial(join(examples, "canary-progressive-helm"));
    assert.equal(t.experiment.metadata.name, "canary-progressive");
    assert.equal(t.experiment.metadata.namespace, "default");
    assert.deepEqual(
      t.revisions.map((r) => [r.name, r.image, r.env["T_VERSION"]]),
      [
        ["sample-app-v1", "gcr.io/knative-samples/knative-route-demo:blue", "blue"],
        ["sample-app-v2", "gcr.io/knative-samples/knative-route-demo:green", "green"],
      ],
    );
    assert.deepEqual(t.generators, [
      {
        name: "fortio/fortio",
        url: "http://sample-app.default.svc.cluster.local",
        headers: {},
        qps: 40,
        connections: 4,
        durationMs: 120_000,
        delayMs: 0,
      },
    ]);
    assert.equal(t.lab.helm?.release, "sample-app");
    assert.ok(metricKeys(t).includes("iter8-knative/mean-latency:iter8"));
  });

  it("seed 001 with --metrics prometheus loads the PromQL sample metrics instead", () => {
    const t = loadTutorial(join(examples, "canary-progressive-helm"), { metrics: "prometheus" });
    assert.ok(metricKeys(t).includes("iter8-knative/mean-latency:prometheus"));
    assert.ok(!metricKeys(t).includes("iter8-knative/mean-latency:iter8"));
  });

  it("seed 000: the VirtualService's weights are readable before anything starts", async () => {
    const t = loadTutorial(join(examples, "traffic-segmentation"));
    assert.deepEqual(
      t.generators.map((g) => [g.name, g.headers["country"], g.qps]),
      [
        ["curl/curl-from-gondor", "gondor", 10],
        ["curl/curl-from-wakanda", "wakanda", 40],
      ],
    );
    const c = new LocalCluster({
      state: { objects: t.routing, promotions: [] },
      upstreams: {},
      revisionReady: () => false,
    });
    assert.deepEqual(await c.read(t.experiment), [
      { name: "current", value: 100 },
      { name: "candidate", value: 0 },
    ]);
  });

  it("seed 004: the v2alpha1 experiment upgraded, bare metric names resolved to iter8-system", () => {
    const t = loadTutorial(join(examples, "conformance-mirroring"));
    assert.deepEqual(
      t.experiment.spec.criteria?.objectives?.map((o) => o.metric),
      ["iter8-system/mean-latency", "iter8-system/95th-percentile-tail-latency", "iter8-system/error-rate"],
    );
    assert.deepEqual(
      t.revisions.map((r) => r.name),
      ["sample-app-v1", "sample-app-v2"],
    );
    assert.equal(t.generators[0]!.delayMs, 0);
  });

  it("a directory without a lab file is refused with the reason", () => {
    assert.throws(
      () => loadTutorial(fileURLToPath(new URL(".", import.meta.url))),
      (e: TutorialError) => /missing lab file/.test(e.message),
    );
  });
});
