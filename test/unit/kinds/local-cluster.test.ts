// The local platform holds an HTTPRoute like the other traffic kinds: weights read and written at
// the backendRef field paths, a missing weight read as the Gateway API default, and every change
// recompiled into the router's table.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { LocalCluster } from "../../../src/platforms/local/cluster.ts";
import { loadTutorial, TutorialError } from "../../../src/platforms/local/tutorial.ts";
import type { RouteTable } from "../../../src/router/index.ts";
import { experimentFixture, httpRouteRef } from "../../support/experiments.ts";

const ksvc = (name: string, revision: string) => ({
  apiVersion: "serving.knative.dev/v1",
  kind: "Service",
  metadata: { name, namespace: "default" },
  spec: { template: { metadata: { name: revision } } },
});

const route = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name: "app", namespace: "default" },
  spec: {
    rules: [
      {
        backendRefs: [
          { name: "app-v1", port: 80, weight: 100 },
          { name: "app-v2", port: 80 },
        ],
      },
    ],
  },
};

const experiment = experimentFixture({
  deploymentPattern: "Progressive",
  weightObjRefs: (i) => httpRouteRef("app", i),
});

describe("LocalCluster with an HTTPRoute", () => {
  it("reads and writes backendRef weights and swaps the compiled table", async () => {
    const tables: RouteTable[] = [];
    const cluster = new LocalCluster({
      state: {
        objects: [ksvc("app-v1", "app-v1-blue"), ksvc("app-v2", "app-v2-green"), route],
        promotions: [],
      },
      upstreams: { "app-v1-blue": "127.0.0.1:9001", "app-v2-green": "127.0.0.1:9002" },
      revisionReady: () => true,
      setRoutes: async (t) => {
        tables.push(t);
      },
    });
    // The candidate's backendRef has no weight: the Gateway API gives it 1.
    assert.deepEqual(await cluster.read(experiment), [
      { name: "current", value: 100 },
      { name: "candidate", value: 1 },
    ]);
    await cluster.apply(experiment, [
      { name: "current", value: 70 },
      { name: "candidate", value: 30 },
    ]);
    assert.deepEqual(await cluster.read(experiment), [
      { name: "current", value: 70 },
      { name: "candidate", value: 30 },
    ]);
    assert.equal(tables.length, 1);
    assert.deepEqual(tables[0]!.versions, ["app-v1-blue", "app-v2-green"]);
    const held = cluster.state.objects.find((o) => o["kind"] === "HTTPRoute") as typeof route;
    assert.deepEqual(
      held.spec.rules[0]!.backendRefs.map((b) => (b as { weight?: number }).weight),
      [70, 30],
    );
    assert.ok(await cluster.getObject({ kind: "httproutes", name: "app", namespace: "default" }));
  });
});

describe("a tutorial with an HTTPRoute", () => {
  const example = fileURLToPath(new URL("../../../examples/canary-httproute", import.meta.url));
  it("loads examples/canary-httproute with the route among the routing objects", () => {
    const t = loadTutorial(example);
    assert.deepEqual(t.routing.map((o) => o["kind"]).sort(), ["HTTPRoute", "Service", "Service"]);
    assert.deepEqual(t.revisions.map((r) => r.name).sort(), ["sample-app-v1-blue", "sample-app-v2-green"]);
  });
  it("names the file, the route and the field of a problem in the route", () => {
    const dir = mkdtempSync(join(tmpdir(), "iter8-httproute-"));
    cpSync(example, dir, { recursive: true });
    const file = join(dir, "httproute.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("weight: 100", "weight: -1"));
    assert.throws(
      () => loadTutorial(dir),
      (e: unknown) =>
        e instanceof TutorialError &&
        e.problems.some((p) =>
          p.startsWith(
            "httproute.yaml: HTTPRoute default/sample-app: spec.rules[0].backendRefs[0].weight: must be an integer",
          ),
        ),
    );
  });
});
