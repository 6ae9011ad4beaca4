// The traffic-kind registry, the shared field-path grammar, and Knative revision naming.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  fieldPathToPointer,
  getPath,
  isFieldPath,
  parseFieldPath,
  pointerToFieldPath,
  valueAtPointer,
} from "../../../src/kinds/fieldpath.ts";
import { backendWeightPath, httpRoute } from "../../../src/kinds/httproute.ts";
import { trafficKindFor, trafficKindOf } from "../../../src/kinds/index.ts";
import { virtualService } from "../../../src/kinds/istio.ts";
import { knativeManifests, knativeService, revisionsOf, statusTraffic } from "../../../src/kinds/knative.ts";

describe("traffic kinds", () => {
  it("an object's kind is decided by group and kind, any version", () => {
    assert.equal(trafficKindOf({ apiVersion: "serving.knative.dev/v1", kind: "Service" }), knativeService);
    assert.equal(
      trafficKindOf({ apiVersion: "networking.istio.io/v1beta1", kind: "VirtualService" }),
      virtualService,
    );
    assert.equal(trafficKindOf({ apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute" }), httpRoute);
    assert.equal(trafficKindOf({ apiVersion: "v1", kind: "Service" }), undefined);
  });
  it("a reference may use a Kind, a resource name, a short name or resource.version.group", () => {
    assert.equal(trafficKindFor({ kind: "ksvc" }), knativeService);
    assert.equal(trafficKindFor({ kind: "Service", apiVersion: "serving.knative.dev/v1" }), knativeService);
    assert.equal(trafficKindFor({ kind: "Service", apiVersion: "v1" }), undefined);
    assert.equal(trafficKindFor({ kind: "vs" }), virtualService);
    assert.equal(trafficKindFor({ kind: "virtualservice.v1beta1.networking.istio.io" }), virtualService);
    assert.equal(
      trafficKindFor({ kind: "HTTPRoute", apiVersion: "gateway.networking.k8s.io/v1" }),
      httpRoute,
    );
    assert.equal(trafficKindFor({ kind: "httproutes.gateway.networking.k8s.io" }), httpRoute);
  });
  it("each kind says what an absent weight field means", () => {
    assert.equal(httpRoute.absentWeight(parseFieldPath(backendWeightPath(0, 1))), 1);
    assert.equal(virtualService.absentWeight(parseFieldPath(".spec.http[0].route[1].weight")), 0);
    assert.equal(knativeService.absentWeight(parseFieldPath(".spec.traffic[1].percent")), 0);
    assert.equal(knativeService.absentWeight(parseFieldPath(".spec.traffic[1].tag")), undefined);
  });
});

describe("field paths", () => {
  it("the HTTPRoute weight path converts to a JSON pointer and back", () => {
    const fp = backendWeightPath(0, 1);
    assert.equal(fp, ".spec.rules[0].backendRefs[1].weight");
    assert.ok(isFieldPath(fp));
    assert.equal(fieldPathToPointer(fp), "/spec/rules/0/backendRefs/1/weight");
    assert.equal(pointerToFieldPath("/spec/rules/0/backendRefs/1/weight"), fp);
    const route = { spec: { rules: [{ backendRefs: [{ weight: 90 }, { weight: 10 }] }] } };
    assert.equal(valueAtPointer(route, fieldPathToPointer(fp)), 10);
    assert.equal(getPath(route, parseFieldPath(fp)), 10);
  });
  it("one grammar for the validator and the actuators", () => {
    for (const bad of [".spec..x", ".spec[x]", "spec.x", ".sp$ec", ".0abc"]) {
      assert.equal(isFieldPath(bad), false, bad);
      assert.throws(() => parseFieldPath(bad), bad);
    }
  });
});

describe("Knative revisions", () => {
  const svc = (name: string, revision?: string) => ({
    apiVersion: "serving.knative.dev/v1",
    kind: "Service",
    metadata: { name },
    spec: { template: revision ? { metadata: { name: revision } } : {} },
  });
  it("unnamed revisions are numbered after the service's distinct revisions so far", () => {
    const objects = [svc("a"), svc("b", "b-blue"), svc("a", "a-named"), svc("a"), svc("a", "a-named")];
    assert.deepEqual(
      knativeManifests(objects).map((m) => `${m.index}:${m.revision}`),
      ["0:a-00001", "1:b-blue", "2:a-named", "3:a-00003", "4:a-named"],
    );
    assert.deepEqual(revisionsOf(objects, "default", "a"), ["a-00001", "a-named", "a-00003"]);
  });
  it("status.traffic resolves latestRevision", () => {
    assert.deepEqual(
      statusTraffic(
        [
          { latestRevision: true, percent: 60 },
          { revisionName: "a-1", percent: 40, tag: "t" },
        ],
        "a-2",
      ),
      [
        { revisionName: "a-2", latestRevision: true, percent: 60 },
        { revisionName: "a-1", latestRevision: false, percent: 40, tag: "t" },
      ],
    );
    assert.deepEqual(statusTraffic(undefined, "a-2"), [
      { revisionName: "a-2", latestRevision: true, percent: 100 },
    ]);
  });
});
