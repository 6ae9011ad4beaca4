import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Experiment } from "../../../src/api/types.ts";
import { LocalCluster, parseHelmArgs, type RoutingState } from "../../../src/platforms/local/cluster.ts";
import type { RouteTable } from "../../../src/router/index.ts";
import { initFromKsvc } from "../../../src/tasks/index.ts";
import { experimentFixture, knativeTrafficRef, version } from "../../support/experiments.ts";

const ksvc = (rev: string, image: string, traffic?: unknown[]) => ({
  apiVersion: "serving.knative.dev/v1",
  kind: "Service",
  metadata: { name: "sample-app", namespace: "default" },
  spec: {
    template: {
      metadata: { name: rev },
      spec: { containers: [{ image, env: [{ name: "T_VERSION", value: rev }] }] },
    },
    ...(traffic ? { traffic } : {}),
  },
});
const seed001 = (): RoutingState => ({
  objects: [
    ksvc("sample-app-v1", "blue"),
    ksvc("sample-app-v2", "green", [
      { tag: "current", revisionName: "sample-app-v1", percent: 100 },
      { tag: "candidate", latestRevision: true, percent: 0 },
    ]),
  ],
  promotions: [],
});
const upstreams = { "sample-app-v1": "127.0.0.1:1", "sample-app-v2": "127.0.0.1:2" };

function canary(): Experiment {
  return experimentFixture({
    name: "canary-progressive",
    target: "default/sample-app",
    versions: [
      version("current", { revision: "sample-app-v1" }),
      version("candidate", { revision: "sample-app-v2" }),
    ],
  });
}

describe("LocalCluster", () => {
  it("answers knative/init-experiment like Knative: Ready once the processes serve, traffic resolved", async () => {
    let ready = false;
    const c = new LocalCluster({ state: seed001(), upstreams, revisionReady: () => ready });
    const ref = {
      apiVersion: "serving.knative.dev/v1",
      kind: "Service",
      namespace: "default",
      name: "sample-app",
    };
    const notReady = (await c.getObject(ref)) as {
      status: { conditions: Array<{ type: string; status: string }> };
    };
    assert.ok(notReady.status.conditions.every((x) => x.status === "Unknown"));
    ready = true;
    const svc = (await c.getObject({ ...ref, kind: "ksvc" }))!;
    assert.deepEqual((svc["status"] as { traffic: unknown }).traffic, [
      { revisionName: "sample-app-v1", latestRevision: false, percent: 100, tag: "current" },
      { revisionName: "sample-app-v2", latestRevision: true, percent: 0, tag: "candidate" },
    ]);
    const exp = canary();
    initFromKsvc(exp, svc, "default", "sample-app");
    assert.equal(exp.spec.versionInfo!.baseline.weightObjRef!.fieldPath, ".spec.traffic[0].percent");
    assert.equal(exp.spec.versionInfo!.candidates![0]!.weightObjRef!.fieldPath, ".spec.traffic[1].percent");
    assert.equal(await c.getObject({ ...ref, name: "other" }), undefined);
    assert.equal(await c.getObject({ ...ref, kind: "Deployment" }), undefined);
  });

  it("applies all weights of one object in one table swap and reads them back", async () => {
    const tables: RouteTable[] = [];
    const saved: RoutingState[] = [];
    const c = new LocalCluster({
      state: seed001(),
      upstreams,
      revisionReady: () => true,
      setRoutes: async (t) => {
        tables.push(t);
      },
      onChange: async (s) => {
        saved.push(s);
      },
    });
    const exp = canary();
    initFromKsvc(
      exp,
      (await c.getObject({ kind: "ksvc", namespace: "default", name: "sample-app" }))!,
      "default",
      "sample-app",
    );
    assert.deepEqual(await c.read(exp), [
      { name: "current", value: 100 },
      { name: "candidate", value: 0 },
    ]);
    await c.apply(exp, [
      { name: "current", value: 70 },
      { name: "candidate", value: 30 },
    ]);
    assert.equal(tables.length, 1);
    assert.equal(saved.length, 1);
    assert.deepEqual(await c.read(exp), [
      { name: "current", value: 70 },
      { name: "candidate", value: 30 },
    ]);
    // A change the router cannot take (Knative needs 100 in all) leaves everything as it was.
    await assert.rejects(
      c.apply(exp, [
        { name: "current", value: 70 },
        { name: "candidate", value: 50 },
      ]),
    );
    assert.equal(tables.length, 1);
    assert.deepEqual(
      (await c.read(exp)).map((w) => w.value),
      [70, 30],
    );
  });

  it("infers the weight of the one version without a weightObjRef", async () => {
    const c = new LocalCluster({ state: seed001(), upstreams, revisionReady: () => true });
    const exp = canary();
    exp.spec.versionInfo!.candidates![0]!.weightObjRef = knativeTrafficRef("sample-app", 1, "default");
    assert.deepEqual(await c.read(exp), [
      { name: "candidate", value: 0 },
      { name: "current", value: 100 },
    ]);
    exp.spec.versionInfo!.candidates![0]!.weightObjRef!.fieldPath = ".spec.traffic[1].tag";
    await assert.rejects(c.read(exp), /\.spec\.traffic\[1\]\.tag is "candidate", not an integer/);
  });

  it("plays helm upgrade as a promotion of the rendered values", async () => {
    const dir = mkdtempSync(join(tmpdir(), "iter8-helm-"));
    writeFileSync(join(dir, "baseline.yaml"), 'name: "sample-app-v1"\nimage: blue\ntVersion: blue\n');
    const c = new LocalCluster({
      state: seed001(),
      upstreams,
      revisionReady: () => true,
      helm: {
        command: "helm",
        release: "sample-app",
        service: { namespace: "default", name: "sample-app" },
        values: { "https://x/baseline-values.yaml": join(dir, "baseline.yaml") },
        render: {
          name: ".spec.template.metadata.name",
          image: ".spec.template.spec.containers[0].image",
          traffic: ".spec.traffic",
        },
      },
    });
    const out = await c.helm([
      "upgrade",
      "--install",
      "--repo",
      "https://x/repo",
      "sample-app",
      "--namespace=iter8-system",
      "sample-app",
      "--values=https://x/baseline-values.yaml",
    ]);
    assert.match(out, /latest revision sample-app-v1; traffic sample-app-v1=100%/);
    assert.deepEqual(
      c.state.promotions.map((p) => [p.revision, p.traffic]),
      [["sample-app-v1", { "sample-app-v1": 100 }]],
    );
    assert.deepEqual(c.revisionsOf("default", "sample-app"), ["sample-app-v2", "sample-app-v1"]);
    await assert.rejects(
      c.helm(["upgrade", "other", "chart", "--values=https://x/baseline-values.yaml"]),
      /release "other"/,
    );
    await assert.rejects(
      c.helm(["upgrade", "sample-app", "chart", "--values=https://x/y.yaml"]),
      /not mapped/,
    );
  });
});

describe("helm arguments", () => {
  it("finds release, chart and values in the seed's command line", () => {
    assert.deepEqual(
      parseHelmArgs([
        "upgrade",
        "--install",
        "--repo",
        "https://r",
        "sample-app",
        "--namespace=iter8-system",
        "sample-app",
        "--values=https://v",
      ]),
      { command: "upgrade", release: "sample-app", chart: "sample-app", values: ["https://v"] },
    );
    assert.deepEqual(parseHelmArgs(["install", "r", "c", "-f", "a", "--values", "b"]).values, ["a", "b"]);
    assert.throws(() => parseHelmArgs(["uninstall", "r"]), /only "helm upgrade" and "helm install"/);
    assert.throws(() => parseHelmArgs(["upgrade", "r"]), /needs RELEASE and CHART/);
  });
});
