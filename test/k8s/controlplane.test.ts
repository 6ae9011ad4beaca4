// The test control plane itself: a real kube-apiserver v1.34 on etcd, with the Knative Serving and
// Istio CRDs installed, doing what the controller will need (JSON Patch of traffic weights, status
// through the status subresource, RBAC through ServiceAccount impersonation) and stopping cleanly.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createServer } from "node:https";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  AdmissionregistrationV1Api,
  ApiException,
  AuthenticationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  VersionApi,
} from "@kubernetes/client-node";
import { parseEnvFile, resolveBinaries } from "./harness/binaries.ts";
import { type ControlPlane, startControlPlane } from "./harness/controlplane.ts";
import { waitFor } from "./harness/http.ts";

const TEST_CRDS = join(import.meta.dirname, "..", "..", "deploy", "test-crds");
const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

const KSVC = { group: "serving.knative.dev", version: "v1", plural: "services" };
const VS = { group: "networking.istio.io", version: "v1alpha3", plural: "virtualservices" };

// Seed 004's Knative Service after the candidate was added: two traffic targets.
function sampleKsvc(namespace: string) {
  return {
    apiVersion: "serving.knative.dev/v1",
    kind: "Service",
    metadata: { name: "sample-app", namespace },
    spec: {
      template: {
        metadata: { name: "sample-app-v2" },
        spec: {
          containers: [
            {
              image: "gcr.io/knative-samples/knative-route-demo:green",
              env: [{ name: "T_VERSION", value: "green" }],
            },
          ],
        },
      },
      traffic: [
        { revisionName: "sample-app-v1", percent: 100 },
        { latestRevision: true, percent: 0 },
      ],
    },
  };
}

// Seed 000's routing rule: header match with two weighted routes, then a default route.
function sampleVirtualService(namespace: string) {
  const route = (app: string, rev: string) => ({
    destination: { host: `${app}.${namespace}.svc.cluster.local` },
    headers: {
      request: {
        set: {
          "Knative-Serving-Namespace": namespace,
          "Knative-Serving-Revision": rev,
          Host: `${app}.${namespace}`,
        },
      },
    },
  });
  return {
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "VirtualService",
    metadata: { name: "routing-for-wakanda", namespace },
    spec: {
      gateways: ["mesh", "knative-serving/knative-ingress-gateway", "knative-serving/knative-local-gateway"],
      hosts: ["example.com"],
      http: [
        {
          match: [{ headers: { country: { exact: "wakanda" } } }],
          route: [
            { ...route("sample-app-v1", "sample-app-v1-blue"), weight: 100 },
            { ...route("sample-app-v2", "sample-app-v2-green"), weight: 0 },
          ],
        },
        { route: [route("sample-app-v1", "sample-app-v1-blue")] },
      ],
    },
  };
}

async function apiError(p: Promise<unknown>): Promise<{ code: number; reason: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const body = JSON.parse(String(err.body)) as { reason?: string; message?: string };
    return { code: err.code, reason: body.reason ?? "", message: body.message ?? "" };
  }
  assert.fail("expected the API call to fail");
}

describe("binaries", () => {
  test("missing binaries are a clear error naming the build script, not a skip", () => {
    const env = { ITER8_K8S_CACHE: "/nonexistent/iter8-k8s-cache" };
    assert.throws(() => resolveBinaries(env), /ITER8_KUBE_APISERVER.*build-binaries\.sh/s);
    assert.throws(
      () => resolveBinaries({ ITER8_KUBE_APISERVER: "/nonexistent/kube-apiserver", ITER8_ETCD: "/bin/sh" }),
      /kube-apiserver binary \/nonexistent\/kube-apiserver .*not usable.*build-binaries\.sh/,
    );
  });

  test("the build script's env file is parsed", () => {
    assert.deepEqual(
      parseEnvFile("# c\nexport ITER8_ETCD=/a/etcd\nITER8_KUBE_APISERVER='/b c/kube-apiserver'\n"),
      {
        ITER8_ETCD: "/a/etcd",
        ITER8_KUBE_APISERVER: "/b c/kube-apiserver",
      },
    );
    assert.throws(() => parseEnvFile("not an assignment"), /unparseable line/);
  });
});

describe("control plane", { timeout: 180_000 }, () => {
  let cp: ControlPlane;
  let custom: CustomObjectsApi;

  before(async () => {
    cp = await startControlPlane();
    custom = cp.kc.makeApiClient(CustomObjectsApi);
  });
  after(async () => {
    await cp?.stop();
  });

  test("starts a kube-apiserver v1.34.x and writes a loadable admin kubeconfig", async (t) => {
    t.diagnostic(`ready in ${cp.startupMs} ms at ${cp.server}`);
    const version = await cp.kc.makeApiClient(VersionApi).getCode();
    assert.match(version.gitVersion, /^v1\.34\.\d+$/);
    assert.equal(version.major, "1");
    assert.equal(version.minor, "34");
    assert.ok(existsSync(cp.kubeconfigPath));
    assert.equal(cp.kc.getCurrentCluster()?.server, cp.server);
    assert.match(cp.caPem, /^-----BEGIN CERTIFICATE-----/);
  });

  test("installs the Knative Service and Istio VirtualService CRDs, usable at once", async () => {
    const names = await cp.installCRDs([TEST_CRDS]);
    assert.deepEqual(names.sort(), ["services.serving.knative.dev", "virtualservices.networking.istio.io"]);
    // Installing again replaces them in place.
    assert.equal((await cp.installCRDs([TEST_CRDS])).length, 2);
  });

  test("JSON-patches a VirtualService route weight, keeping the rest of the route", async () => {
    const ns = await cp.createNamespace("vs");
    await custom.createNamespacedCustomObject({ ...VS, namespace: ns, body: sampleVirtualService(ns) });
    const patched = await custom.patchNamespacedCustomObject(
      {
        ...VS,
        namespace: ns,
        name: "routing-for-wakanda",
        body: [
          { op: "test", path: "/spec/http/0/route/0/weight", value: 100 },
          { op: "replace", path: "/spec/http/0/route/0/weight", value: 60 },
          { op: "replace", path: "/spec/http/0/route/1/weight", value: 40 },
        ],
      },
      jsonPatch,
    );
    assert.deepEqual(
      patched.spec.http[0].route.map((r: { weight: number }) => r.weight),
      [60, 40],
    );
    // Read back through the storage version: same object, fields the schema does not list kept.
    const stored = await custom.getNamespacedCustomObject({
      ...VS,
      version: "v1beta1",
      namespace: ns,
      name: "routing-for-wakanda",
    });
    assert.equal(stored.apiVersion, "networking.istio.io/v1beta1");
    assert.equal(stored.spec.http[0].route[1].weight, 40);
    assert.equal(
      stored.spec.http[0].route[1].headers.request.set["Knative-Serving-Revision"],
      "sample-app-v2-green",
    );
    assert.deepEqual(stored.spec.http[0].match, [{ headers: { country: { exact: "wakanda" } } }]);

    // A failed `test` op rejects the whole patch; a string weight is rejected by the schema.
    const conflict = await apiError(
      custom.patchNamespacedCustomObject(
        {
          ...VS,
          namespace: ns,
          name: "routing-for-wakanda",
          body: [
            { op: "test", path: "/spec/http/0/route/0/weight", value: 100 },
            { op: "replace", path: "/spec/http/0/route/0/weight", value: 0 },
          ],
        },
        jsonPatch,
      ),
    );
    assert.equal(conflict.code, 422);
    const invalid = await apiError(
      custom.patchNamespacedCustomObject(
        {
          ...VS,
          namespace: ns,
          name: "routing-for-wakanda",
          body: [{ op: "replace", path: "/spec/http/0/route/0/weight", value: "sixty" }],
        },
        jsonPatch,
      ),
    );
    assert.equal(invalid.code, 422);
    assert.equal(invalid.reason, "Invalid");
    assert.match(invalid.message, /spec\.http\[0\]\.route\[0\]\.weight/);
    const after = await custom.getNamespacedCustomObject({
      ...VS,
      namespace: ns,
      name: "routing-for-wakanda",
    });
    assert.deepEqual(
      after.spec.http[0].route.map((r: { weight: number }) => r.weight),
      [60, 40],
    );
  });

  test("JSON-patches Knative traffic percents and writes status only through the status subresource", async () => {
    const ns = await cp.createNamespace("ksvc");
    const created = await custom.createNamespacedCustomObject({
      ...KSVC,
      namespace: ns,
      body: sampleKsvc(ns),
    });
    assert.equal(created.metadata.generation, 1);

    const patched = await custom.patchNamespacedCustomObject(
      {
        ...KSVC,
        namespace: ns,
        name: "sample-app",
        body: [
          { op: "replace", path: "/spec/traffic/0/percent", value: 70 },
          { op: "replace", path: "/spec/traffic/1/percent", value: 30 },
        ],
      },
      jsonPatch,
    );
    assert.deepEqual(patched.spec.traffic, [
      { revisionName: "sample-app-v1", percent: 70 },
      { latestRevision: true, percent: 30 },
    ]);
    assert.equal(patched.metadata.generation, 2);
    const outOfRange = await apiError(
      custom.patchNamespacedCustomObject(
        {
          ...KSVC,
          namespace: ns,
          name: "sample-app",
          body: [{ op: "replace", path: "/spec/traffic/1/percent", value: 130 }],
        },
        jsonPatch,
      ),
    );
    assert.equal(outOfRange.code, 422);

    // Play Knative's controller: mark the service Ready with its revisions and traffic.
    const status = {
      observedGeneration: 2,
      url: `http://sample-app.${ns}.example.com`,
      latestCreatedRevisionName: "sample-app-v2",
      latestReadyRevisionName: "sample-app-v2",
      conditions: [
        { type: "ConfigurationsReady", status: "True" },
        { type: "Ready", status: "True" },
        { type: "RoutesReady", status: "True" },
      ],
      traffic: [
        { revisionName: "sample-app-v1", percent: 70, latestRevision: false },
        { revisionName: "sample-app-v2", percent: 30, latestRevision: true },
      ],
    };
    const withStatus = await custom.patchNamespacedCustomObjectStatus(
      { ...KSVC, namespace: ns, name: "sample-app", body: { status } },
      mergePatch,
    );
    assert.deepEqual(withStatus.status, status);
    assert.equal(withStatus.metadata.generation, 2, "status writes do not bump generation");

    // Through the main resource, status is ignored (and through /status, spec is ignored).
    const mainWrite = await custom.patchNamespacedCustomObject(
      {
        ...KSVC,
        namespace: ns,
        name: "sample-app",
        body: [{ op: "replace", path: "/status/latestReadyRevisionName", value: "bogus" }],
      },
      jsonPatch,
    );
    assert.equal(mainWrite.status.latestReadyRevisionName, "sample-app-v2");
    const statusWrite = await custom.patchNamespacedCustomObjectStatus(
      {
        ...KSVC,
        namespace: ns,
        name: "sample-app",
        body: [
          { op: "replace", path: "/spec/traffic/1/percent", value: 0 },
          { op: "replace", path: "/status/traffic/1/percent", value: 31 },
        ],
      },
      jsonPatch,
    );
    assert.equal(statusWrite.spec.traffic[1].percent, 30);
    assert.equal(statusWrite.status.traffic[1].percent, 31);
  });

  test("a ServiceAccount kubeconfig gets exactly that account's RBAC", async () => {
    const ns = await cp.createNamespace("rbac");
    const sa = cp.serviceAccountKubeConfig(ns, "iter8-controller");
    assert.ok(existsSync(sa.kubeconfigPath));
    const review = await sa.kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({
      body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
    });
    assert.equal(review.status?.userInfo?.username, `system:serviceaccount:${ns}:iter8-controller`);
    assert.ok(review.status?.userInfo?.groups?.includes(`system:serviceaccounts:${ns}`));

    const saCustom = sa.kc.makeApiClient(CustomObjectsApi);
    const denied = await apiError(saCustom.listNamespacedCustomObject({ ...KSVC, namespace: ns }));
    assert.equal(denied.code, 403);
    assert.equal(denied.reason, "Forbidden");

    const rbac = cp.kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: "ksvc-reader" },
        rules: [{ apiGroups: ["serving.knative.dev"], resources: ["services"], verbs: ["get", "list"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: "ksvc-reader" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "ksvc-reader" },
        subjects: [{ kind: "ServiceAccount", name: "iter8-controller", namespace: ns }],
      },
    });
    // The RBAC authorizer reads roles from an informer: wait until the grant is seen.
    await waitFor(
      "the RoleBinding to take effect",
      async () => {
        const list = await saCustom.listNamespacedCustomObject({ ...KSVC, namespace: ns });
        return Array.isArray(list.items) ? true : undefined;
      },
      { timeoutMs: 10_000 },
    );
    // Reading was granted, writing was not; other namespaces stay closed.
    assert.equal(
      (
        await apiError(
          saCustom.createNamespacedCustomObject({ ...KSVC, namespace: ns, body: sampleKsvc(ns) }),
        )
      ).code,
      403,
    );
    const other = await cp.createNamespace("rbac-other");
    assert.equal(
      (await apiError(saCustom.listNamespacedCustomObject({ ...KSVC, namespace: other }))).code,
      403,
    );
  });

  test("the apiserver calls a webhook served by the test process with a cert from the test CA", async (t) => {
    const ns = await cp.createNamespace("webhook");
    const { certPem, keyPem } = await cp.servingCert("test-webhook");
    const reviewed: string[] = [];
    const server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const review = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        const obj = review.request.object;
        reviewed.push(obj.metadata.name ?? obj.metadata.generateName);
        const deny = obj.metadata.labels?.deny === "true";
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify({
            apiVersion: "admission.k8s.io/v1",
            kind: "AdmissionReview",
            response: {
              uid: review.request.uid,
              allowed: !deny,
              ...(deny ? { status: { code: 403, message: "denied by the test webhook" } } : {}),
            },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const address = server.address();
    assert.ok(address !== null && typeof address === "object");

    await cp.kc.makeApiClient(AdmissionregistrationV1Api).createValidatingWebhookConfiguration({
      body: {
        metadata: { name: `deny-${ns}` },
        webhooks: [
          {
            name: "deny.iter8.test",
            clientConfig: {
              url: `https://127.0.0.1:${address.port}/validate`,
              caBundle: Buffer.from(cp.caPem).toString("base64"),
            },
            rules: [
              { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["configmaps"] },
            ],
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } },
            sideEffects: "None",
            admissionReviewVersions: ["v1"],
            failurePolicy: "Fail",
            timeoutSeconds: 5,
          },
        ],
      },
    });
    const core = cp.kc.makeApiClient(CoreV1Api);
    // The webhook is active once the apiserver's informer has it: until then, creates succeed.
    const denial = await waitFor(
      "the webhook to deny a labelled ConfigMap",
      async () => {
        try {
          await core.createNamespacedConfigMap({
            namespace: ns,
            body: { metadata: { generateName: "denied-", labels: { deny: "true" } } },
          });
          return undefined;
        } catch (err) {
          if (err instanceof ApiException)
            return JSON.parse(String(err.body)) as { code: number; message: string };
          throw err;
        }
      },
      { timeoutMs: 15_000 },
    );
    assert.equal(denial.code, 403);
    assert.match(denial.message, /denied by the test webhook/);
    const allowed = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "allowed" } },
    });
    assert.equal(allowed.metadata?.name, "allowed");
    assert.ok(reviewed.includes("allowed"), "the allowed ConfigMap went through the webhook too");
  });

  test("stop() ends both processes and removes the temp dirs", async () => {
    const { pids, kubeconfigPath, server } = cp;
    await cp.stop();
    for (const pid of [pids.etcd, pids.apiserver]) {
      assert.throws(() => process.kill(pid, 0), { code: "ESRCH" }, `process ${pid} still exists`);
    }
    assert.equal(existsSync(kubeconfigPath), false);
    const logsKept = process.env.ITER8_K8S_KEEP_LOGS === "1" || Boolean(process.env.ITER8_K8S_LOG_DIR);
    assert.equal(existsSync(cp.logs.apiserver), logsKept);
    await assert.rejects(fetch(`${server}/readyz`, { signal: AbortSignal.timeout(2_000) }));
    await cp.stop(); // idempotent
  });
});
