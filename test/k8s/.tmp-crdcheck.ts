import { writeFileSync, readFileSync } from "node:fs";
import { stringify, parse } from "yaml";
import { CustomObjectsApi, ApiException } from "@kubernetes/client-node";
import { startControlPlane } from "./harness/controlplane.ts";
import { experimentSchema, metricSchema } from "../../src/api/schema.ts";

const crd = (kind: string, plural: string, schema: (v: "v2alpha2" | "v2alpha1") => unknown) => ({
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: `${plural}.iter8.tools` },
  spec: {
    group: "iter8.tools",
    names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
    scope: "Namespaced",
    versions: [
      { name: "v2alpha2", served: true, storage: true, schema: { openAPIV3Schema: schema("v2alpha2") }, subresources: kind === "Experiment" ? { status: {} } : undefined },
      { name: "v2alpha1", served: true, storage: false, schema: { openAPIV3Schema: schema("v2alpha1") }, subresources: kind === "Experiment" ? { status: {} } : undefined },
    ],
  },
});
writeFileSync("/tmp/crdcheck/crds.yaml", [stringify(crd("Experiment", "experiments", experimentSchema)), stringify(crd("Metric", "metrics", metricSchema))].join("---\n"));
const cp = await startControlPlane({ logDir: "/tmp/crdcheck/logs" });
try {
  console.log("installed", await cp.installCRDs(["/tmp/crdcheck/crds.yaml"]));
  const custom = cp.kc.makeApiClient(CustomObjectsApi);
  const ns = await cp.createNamespace("crd");
  const fx = (f: string) => parse(readFileSync(new URL(`../fixtures/${f}`, import.meta.url), "utf8"));
  for (const f of ["seeds/000-experiment.yaml", "seeds/001-experiment.yaml", "seeds/004-experiment.yaml"]) {
    const body = fx(f);
    const [group, version] = body.apiVersion.split("/");
    const r = await custom.createNamespacedCustomObject({ group, version, namespace: ns, plural: "experiments", body });
    console.log("created", f, JSON.stringify(r.spec).length);
  }
  // invalid ones
  const bad = fx("seeds/000-experiment.yaml");
  bad.metadata.name = "bad";
  bad.spec.duration.intervalSeconds = 0;
  bad.spec.strategy.testingPattern = "Canari";
  bad.spec.criteria.objectives[0].upperLimit = "1%";
  bad.spec.criteria.objectives[1].upperLimit = 0.5;
  try {
    await custom.createNamespacedCustomObject({ group: "iter8.tools", version: "v2alpha2", namespace: ns, plural: "experiments", body: bad });
    console.log("BAD ACCEPTED");
  } catch (e) {
    console.log("rejected:", e instanceof ApiException ? JSON.parse(String(e.body)).message : e);
  }
  // status with floats and strings
  const st = await custom.patchNamespacedCustomObjectStatus({
    group: "iter8.tools", version: "v2alpha2", namespace: ns, plural: "experiments", name: "request-routing",
    body: { status: { stage: "Running", completedIterations: 1, initTime: "2021-05-01T10:00:00Z", analysis: { aggregatedMetrics: { provenance: "x", timestamp: "2021-05-01T10:00:00Z", data: { "iter8-knative/mean-latency": { data: { current: { value: 0.879 }, candidate: { value: "310319302313n", sampleSize: 12 } } } } }, aggregatedBuiltinHists: { provenance: "b", timestamp: "2021-05-01T10:00:00Z", data: { v: { DurationHistogram: { Count: 1 } } } } }, metrics: [{ name: "a/b", metricObj: { apiVersion: "iter8.tools/v2alpha2", kind: "Metric", metadata: { name: "b", namespace: "a" }, spec: { type: "Gauge" } } }] } },
  }, { middleware: [] } as never).catch((e: unknown) => e instanceof ApiException ? `status patch failed ${e.body}` : e);
  console.log("status", JSON.stringify((st as { status?: unknown }).status ?? st).slice(0, 600));
  const m = await custom.createNamespacedCustomObject({ group: "iter8.tools", version: "v2alpha2", namespace: ns, plural: "metrics", body: { apiVersion: "iter8.tools/v2alpha2", kind: "Metric", metadata: { name: "m" }, spec: { type: "Counter", mock: [{ name: "v1", level: "15.0" }], params: [{ name: "q", value: "x" }] } } });
  console.log("metric", JSON.stringify(m.spec));
  const got = await custom.getNamespacedCustomObject({ group: "iter8.tools", version: "v2alpha2", namespace: ns, plural: "experiments", name: "mirroring" });
  console.log("v2alpha1 read as v2alpha2 (conversion None):", JSON.stringify(got.spec.strategy));
} finally {
  await cp.stop();
}
