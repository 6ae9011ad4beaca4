// Resolving kinds and kubectl resource types through API discovery documents (as /api/v1 and
// /apis/<group>/<version> return them): short names, singular/plural/kind, TYPE.GROUP (preferred
// version) and TYPE.VERSION.GROUP, refresh on a miss.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Discovery } from "../../../src/platforms/kubernetes/discovery.ts";
import type { KubeClient } from "../../../src/platforms/kubernetes/rest.ts";

type Doc = Record<string, unknown>;

function documents(withTrafficSplit: boolean): Record<string, Doc> {
  const vs = {
    name: "virtualservices",
    kind: "VirtualService",
    namespaced: true,
    singularName: "virtualservice",
    shortNames: ["vs"],
  };
  const docs: Record<string, Doc> = {
    "/api/v1": {
      resources: [
        { name: "services", kind: "Service", namespaced: true, singularName: "service", shortNames: ["svc"] },
        { name: "services/status", kind: "Service", namespaced: true },
        {
          name: "namespaces",
          kind: "Namespace",
          namespaced: false,
          singularName: "namespace",
          shortNames: ["ns"],
        },
      ],
    },
    "/apis": {
      groups: [
        {
          name: "serving.knative.dev",
          versions: [{ groupVersion: "serving.knative.dev/v1" }],
          preferredVersion: { groupVersion: "serving.knative.dev/v1" },
        },
        {
          name: "networking.istio.io",
          versions: [
            { groupVersion: "networking.istio.io/v1alpha3" },
            { groupVersion: "networking.istio.io/v1beta1" },
          ],
          preferredVersion: { groupVersion: "networking.istio.io/v1beta1" },
        },
        ...(withTrafficSplit
          ? [{ name: "split.smi-spec.io", versions: [{ groupVersion: "split.smi-spec.io/v1alpha2" }] }]
          : []),
      ],
    },
    "/apis/serving.knative.dev/v1": {
      resources: [
        {
          name: "services",
          kind: "Service",
          namespaced: true,
          singularName: "service",
          shortNames: ["kservice", "ksvc"],
        },
      ],
    },
    "/apis/networking.istio.io/v1alpha3": { resources: [vs] },
    "/apis/networking.istio.io/v1beta1": { resources: [vs] },
    "/apis/split.smi-spec.io/v1alpha2": {
      resources: [
        { name: "trafficsplits", kind: "TrafficSplit", namespaced: true, singularName: "trafficsplit" },
      ],
    },
  };
  return docs;
}

/** Answers discovery GETs from canned documents; `state.split` adds a group later (a new CRD). */
function client(state: { split: boolean; gets: number }): KubeClient {
  return {
    get: async (path: string) => {
      state.gets++;
      const doc = documents(state.split)[path];
      if (!doc) throw new Error(`unexpected GET ${path}`);
      return doc;
    },
  } as unknown as KubeClient;
}

describe("discovery", () => {
  const state = { split: false, gets: 0 };
  const d = new Discovery(client(state), { refreshMs: 0 });

  const cases: [string, string | undefined, string, string][] = [
    ["ksvc", undefined, "serving.knative.dev/v1", "services"],
    ["svc", undefined, "v1", "services"],
    ["services", undefined, "v1", "services"],
    ["Service", "serving.knative.dev/v1", "serving.knative.dev/v1", "services"],
    [
      "virtualservice.v1alpha3.networking.istio.io",
      undefined,
      "networking.istio.io/v1alpha3",
      "virtualservices",
    ],
    ["virtualservices.networking.istio.io", undefined, "networking.istio.io/v1beta1", "virtualservices"],
    ["vs", "networking.istio.io/v1alpha3", "networking.istio.io/v1alpha3", "virtualservices"],
    ["VirtualService", undefined, "networking.istio.io/v1beta1", "virtualservices"],
  ];
  for (const [type, apiVersion, wantVersion, wantPlural] of cases) {
    test(`${type}${apiVersion ? ` in ${apiVersion}` : ""} -> ${wantPlural} in ${wantVersion}`, async () => {
      const r = await d.forType(type, apiVersion);
      assert.equal(r.apiVersion, wantVersion);
      assert.equal(r.plural, wantPlural);
    });
  }

  test("namespaced-ness and kinds come from discovery", async () => {
    assert.equal((await d.forType("ns")).namespaced, false);
    assert.equal(
      (await d.forKind("networking.istio.io/v1alpha3", "VirtualService")).plural,
      "virtualservices",
    );
  });

  test("an unknown type or kind is a clear error", async () => {
    await assert.rejects(d.forType("nosuchthing"), /no resource type "nosuchthing"/);
    await assert.rejects(
      d.forKind("example.com/v1", "Widget"),
      /does not serve kind Widget in example.com\/v1/,
    );
  });

  test("a kind installed later is found after a refresh", async () => {
    await assert.rejects(d.forKind("split.smi-spec.io/v1alpha2", "TrafficSplit"));
    state.split = true;
    assert.equal((await d.forKind("split.smi-spec.io/v1alpha2", "TrafficSplit")).plural, "trafficsplits");
  });
});
