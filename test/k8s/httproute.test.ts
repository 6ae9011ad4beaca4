// Gateway API HTTPRoute as a traffic target on a real API server with the upstream standard-channel
// CRDs (sigs.k8s.io/gateway-api, fetched by scripts/k8s/fetch-gateway-api.sh): an experiment whose
// weightObjRefs point at `.spec.rules[0].backendRefs[i].weight` moves the weights iteration by
// iteration. The controller authenticates as the chart's ServiceAccount with exactly the chart's RBAC
// (`helm template`), once with the defaults and once with `watchNamespaces`, where Secrets are
// readable only in the watched and release namespaces.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Controller } from "../../src/platforms/kubernetes/controller.ts";
import { KubeClient, resourcePath } from "../../src/platforms/kubernetes/rest.ts";
import { experimentFixture, httpRouteRef, knativeObjectives } from "../support/experiments.ts";
import { asObj } from "./experiments.ts";
import { resolveTool } from "./harness/binaries.ts";
import { waitFor } from "./harness/http.ts";
import {
  apply,
  completed,
  INSTALL_NS,
  type Obj,
  quietLogger,
  recordChanges,
  SA,
  startEnv,
  type TestEnv,
  waitForExperiment,
} from "./support.ts";
import { renderChart } from "./tools.ts";

const ROUTE = "checkout";

function httpRoute(namespace: string): Obj {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: ROUTE, namespace },
    spec: {
      parentRefs: [{ name: "public-gateway" }],
      hostnames: ["checkout.example.com"],
      rules: [
        {
          matches: [{ path: { type: "PathPrefix", value: "/" } }],
          backendRefs: [
            { name: "checkout-v1", port: 80, weight: 100 },
            { name: "checkout-v2", port: 80, weight: 0 },
          ],
        },
      ],
    },
  };
}

function experiment(namespace: string): Obj {
  return asObj(
    experimentFixture({
      name: "checkout-canary",
      namespace,
      target: `${namespace}/${ROUTE}`,
      deploymentPattern: "Progressive",
      weights: { maxCandidateWeight: 80, maxCandidateWeightIncrement: 20 },
      // Iter8 v2's rule (no strength): mock metrics carry no sample that a confidence bound could use,
      // and this test is about the weights written into the HTTPRoute, iteration by iteration.
      criteria: { objectives: knativeObjectives() },
      duration: { intervalSeconds: 1, iterationsPerLoop: 5 },
      weightObjRefs: (i) => httpRouteRef(ROUTE, i, namespace),
    }),
  );
}

/** Access review of the controller's ServiceAccount (what the API server would allow it). */
async function review(env: TestEnv, verb: string, resource: string, namespace: string): Promise<boolean> {
  const review = await env.admin.request<{ status: { allowed: boolean } }>(
    "POST",
    "/apis/authorization.k8s.io/v1/subjectaccessreviews",
    {
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: `system:serviceaccount:${SA.namespace}:${SA.name}`,
          groups: [
            "system:serviceaccounts",
            `system:serviceaccounts:${SA.namespace}`,
            "system:authenticated",
          ],
          resourceAttributes: {
            verb,
            group: resource === "httproutes" ? "gateway.networking.k8s.io" : "",
            resource,
            namespace,
          },
        },
      },
    },
  );
  return review.status.allowed;
}

/** The review's answer once RBAC changes have reached the authorizer (its caches follow watches). */
async function allowed(env: TestEnv, verb: string, resource: string, namespace: string, want: boolean) {
  await waitFor(
    `${SA.name} ${want ? "may" : "may not"} ${verb} ${resource} in ${namespace}`,
    async () => ((await review(env, verb, resource, namespace)) === want ? true : undefined),
    { timeoutMs: 10_000 },
  );
}

describe("HTTPRoute traffic with the chart's RBAC", { timeout: 180_000 }, () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv();
    await env.cp.installCRDs([resolveTool("ITER8_GATEWAY_API_CRDS")]);
  });
  after(async () => {
    await env?.stop();
  });

  async function installChartRbac(set: string[]): Promise<void> {
    for (const o of renderChart({ namespace: INSTALL_NS, set, showOnly: ["templates/rbac.yaml"] })) {
      await apply(env.admin, env.discovery, o);
    }
  }

  async function runExperiment(namespace: string, namespaces?: string[]): Promise<void> {
    const { kc } = env.cp.serviceAccountKubeConfig(SA.namespace, SA.name);
    const client = new KubeClient(kc);
    const controller = new Controller({
      client,
      installNamespace: INSTALL_NS,
      logger: quietLogger,
      relistSeconds: 30,
      ...(namespaces ? { namespaces } : {}),
    });
    void controller.start();
    await apply(env.admin, env.discovery, httpRoute(namespace));
    const path = resourcePath("gateway.networking.k8s.io/v1", "httproutes", namespace);
    const weights = recordChanges(env.admin, path, ROUTE, (o) =>
      ((o["spec"] as { rules: { backendRefs: { weight?: number }[] }[] }).rules[0]!.backendRefs ?? []).map(
        (b) => b.weight,
      ),
    );
    try {
      await apply(env.admin, env.discovery, experiment(namespace));
      const exp = await waitForExperiment(env.admin, namespace, "checkout-canary", "Completed", completed);
      // Each iteration moves the winning candidate by maxCandidateWeightIncrement, up to its cap.
      assert.deepEqual(weights.values, [
        [100, 0],
        [80, 20],
        [60, 40],
        [40, 60],
        [20, 80],
      ]);
      assert.equal(exp.status?.completedIterations, 5);
      assert.equal(exp.status?.versionRecommendedForPromotion, "candidate");
      assert.deepEqual(exp.status?.currentWeightDistribution, [
        { name: "current", value: 20 },
        { name: "candidate", value: 80 },
      ]);
      // The rest of the route is as it was.
      const route = await env.admin.get<{ spec: { hostnames: string[]; rules: { backendRefs: Obj[] }[] } }>(
        `${path}/${ROUTE}`,
      );
      assert.deepEqual(route.spec.hostnames, ["checkout.example.com"]);
      assert.deepEqual(
        route.spec.rules[0]!.backendRefs.map((b) => b["name"]),
        ["checkout-v1", "checkout-v2"],
      );
    } finally {
      weights.stop();
      await controller.stop();
      client.close();
    }
  }

  test("defaults: weights move iteration by iteration; Secrets readable cluster-wide", async () => {
    await installChartRbac([]);
    const ns = await env.cp.createNamespace("route");
    await allowed(env, "get", "secrets", "anywhere", true);
    await allowed(env, "patch", "httproutes", ns, true);
    await runExperiment(ns);
  });

  test("watchNamespaces: the same experiment in a watched namespace; Secrets only there and in the release namespace", async () => {
    const ns = await env.cp.createNamespace("watched");
    await installChartRbac([`watchNamespaces={${ns}}`]);
    await allowed(env, "get", "secrets", ns, true);
    await allowed(env, "get", "secrets", INSTALL_NS, true);
    await allowed(env, "get", "secrets", "default", false);
    await runExperiment(ns, [ns]);
  });
});
