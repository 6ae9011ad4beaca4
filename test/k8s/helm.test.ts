// The Helm chart's lifecycle with the real helm client on a real API server: lint, template, install
// (every object created; no Pod runs here, which is expected), the controller as the chart's
// ServiceAccount writing the webhook CA into the CRDs, upgrade (webhook CA unchanged), uninstall
// (CRDs, Experiments and Metrics remain). The release goes to a namespace other than iter8-system,
// so nothing passes by relying on the plain manifests' default.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ITER8_CRD_NAMES } from "../../src/platforms/kubernetes/crds.ts";
import { isNotFound, KubeClient } from "../../src/platforms/kubernetes/rest.ts";
import { type ControlPlane, startControlPlane } from "./harness/controlplane.ts";
import { waitFor } from "./harness/http.ts";
import { CHART, helm, kubectl, type Obj, ok, parseDocs, ROOT, renderChart } from "./tools.ts";

const NS = "iter8-helm";
const CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

type Crd = {
  spec: {
    conversion: {
      webhook: { clientConfig: { caBundle?: string; service?: { namespace: string }; url?: string } };
    };
  };
};

describe("the Helm chart on a real API server", { timeout: 240_000 }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  const h = (args: string[]) => helm([...args, `--kubeconfig=${cp.kubeconfigPath}`]);
  const secretData = async () =>
    (
      await admin.get<{ data: Record<string, string> }>(
        `/api/v1/namespaces/${NS}/secrets/iter8-controller-webhook`,
      )
    ).data;

  before(async () => {
    cp = await startControlPlane({});
    admin = new KubeClient(cp.kc);
  });
  after(async () => {
    admin?.close();
    await cp?.stop();
  });

  test("helm lint passes, with the defaults and with the optional values set", () => {
    ok(helm(["lint", CHART, "--strict"]), "helm lint");
    ok(
      helm([
        "lint",
        CHART,
        "--strict",
        "--set",
        "watchNamespaces={team-a,team-b}",
        "--set",
        "rbac.extraTargets[0].apiGroups={split.smi-spec.io},rbac.extraTargets[0].resources={trafficsplits}",
        "--set",
        "imagePullSecrets[0].name=regcred,nodeSelector.disk=ssd",
      ]),
      "helm lint with values",
    );
  });

  test("helm template renders the values into the objects", () => {
    const defaults = renderChart({ namespace: NS });
    const kinds = defaults.map((o) => o["kind"]);
    for (const kind of ["Secret", "ServiceAccount", "ClusterRole", "Deployment", "Service", "Metric"])
      assert.ok(kinds.includes(kind), kind);
    assert.ok(!kinds.includes("CustomResourceDefinition"), "CRDs come from crds/, not templates");
    const rules = (objs: Obj[]) =>
      (objs.find((o) => o["kind"] === "ClusterRole") as { rules: { resources: string[] }[] }).rules;
    assert.ok(rules(defaults).some((r) => r.resources.includes("secrets")));

    const set = renderChart({
      namespace: NS,
      set: [
        "watchNamespaces={team-a,team-b}",
        "image.repository=registry.example/iter8,image.tag=9.9.9,image.pullPolicy=Always",
        "metrics.prometheusUrl=http://prom.monitoring:9090/",
        "rbac.extraTargets[0].apiGroups={apps},rbac.extraTargets[0].resources={deployments}",
      ],
    });
    const container = (
      set.find((o) => o["kind"] === "Deployment") as {
        spec: {
          template: { spec: { containers: { image: string; imagePullPolicy: string; args: string[] }[] } };
        };
      }
    ).spec.template.spec.containers[0]!;
    assert.equal(container.image, "registry.example/iter8:9.9.9");
    assert.equal(container.imagePullPolicy, "Always");
    assert.ok(container.args.includes("--namespaces=team-a,team-b"));
    assert.ok(
      !rules(set).some((r) => r.resources.includes("secrets")),
      "no cluster-wide Secrets with watchNamespaces",
    );
    assert.ok(rules(set).some((r) => r.resources.includes("deployments")));
    const secretRoles = set
      .filter(
        (o) =>
          o["kind"] === "Role" && (o["metadata"] as { name: string }).name === "iter8-controller-secrets",
      )
      .map((o) => (o["metadata"] as { namespace: string }).namespace)
      .sort();
    assert.deepEqual(secretRoles, [NS, "team-a", "team-b"].sort());
    const metric = set.find((o) => o["kind"] === "Metric") as { spec: { urlTemplate: string } };
    assert.equal(metric.spec.urlTemplate, "http://prom.monitoring:9090/api/v1/query");
  });

  test("helm install creates the CRDs and every object of the release", async () => {
    const r = ok(h(["install", "iter8", CHART, "--namespace", NS, "--create-namespace"]), "helm install");
    assert.match(r.stdout, new RegExp(`iter8 0\\.1\\.0 is installed in namespace ${NS}`));
    for (const name of ITER8_CRD_NAMES) await admin.get(`${CRD_PATH}/${name}`);
    const manifest = ok(h(["get", "manifest", "iter8", "--namespace", NS]), "helm get manifest").stdout;
    const objs = parseDocs(manifest);
    assert.ok(objs.length >= 9, manifest);
    const got = ok(
      kubectl([`--kubeconfig=${cp.kubeconfigPath}`, "get", "-f", "-", "-o", "name"], { input: manifest }),
      "get",
    );
    assert.equal(got.stdout.trim().split("\n").length, objs.length, got.stdout);
    // The sample Metrics (a post-install hook) in both namespaces.
    for (const ns of ["iter8-knative", NS]) {
      const list = await admin.get<{ items: unknown[] }>(
        `/apis/iter8.tools/v2alpha2/namespaces/${ns}/metrics`,
      );
      assert.equal(list.items.length, 5, ns);
    }
    const data = await secretData();
    assert.ok(data["tls.crt"] && data["tls.key"] && data["ca.crt"]);
  });

  test("the controller, as the chart's ServiceAccount, writes the webhook CA and its namespace into the CRDs", async () => {
    const data = await secretData();
    const dir = mkdtempSync(join(tmpdir(), "iter8-helm-tls-"));
    for (const key of ["tls.crt", "tls.key", "ca.crt"])
      writeFileSync(join(dir, key), Buffer.from(data[key]!, "base64"));
    const sa = cp.serviceAccountKubeConfig(NS, "iter8-controller");
    const child = spawn(
      process.execPath,
      [
        join(ROOT, "bin", "iter8"),
        "controller",
        `--kubeconfig=${sa.kubeconfigPath}`,
        `--install-namespace=${NS}`,
        "--health-port=0",
        "--health-address=127.0.0.1",
        "--webhook-port=0",
        "--webhook-address=127.0.0.1",
        `--webhook-cert-dir=${dir}`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let logs = "";
    child.stderr.on("data", (d) => (logs += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    try {
      for (const name of ITER8_CRD_NAMES) {
        await waitFor(
          `${name}'s caBundle`,
          async () => {
            const cc = (await admin.get<Crd>(`${CRD_PATH}/${name}`)).spec.conversion.webhook.clientConfig;
            return cc.caBundle === data["ca.crt"] && cc.service?.namespace === NS && cc.url === undefined
              ? true
              : undefined;
          },
          { timeoutMs: 30_000, abortIf: () => (child.exitCode !== null ? `exited: ${logs}` : undefined) },
        );
      }
      assert.doesNotMatch(logs, /could not write the webhook CA/);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0, logs);
  });

  test("helm upgrade keeps the webhook certificate and CA", async () => {
    const before = await secretData();
    ok(h(["upgrade", "iter8", CHART, "--namespace", NS, "--set", "replicas=1"]), "helm upgrade");
    assert.deepEqual(await secretData(), before);
    const deploy = await admin.get<{ spec: { replicas: number } }>(
      `/apis/apps/v1/namespaces/${NS}/deployments/iter8-controller`,
    );
    assert.equal(deploy.spec.replicas, 1);
    // The CRDs still trust the same CA.
    const crd = await admin.get<Crd>(`${CRD_PATH}/${ITER8_CRD_NAMES[0]}`);
    assert.equal(crd.spec.conversion.webhook.clientConfig.caBundle, before["ca.crt"]);
  });

  test("helm uninstall leaves the CRDs, the Experiments and the Metrics", async () => {
    const exp = parseDocs(
      readFileSync(join(ROOT, "test", "fixtures", "seeds", "001-experiment.yaml"), "utf8"),
    )[0]!;
    await admin.request("POST", "/apis/iter8.tools/v2alpha2/namespaces/default/experiments", { body: exp });
    ok(h(["uninstall", "iter8", "--namespace", NS]), "helm uninstall");
    for (const name of ITER8_CRD_NAMES) await admin.get(`${CRD_PATH}/${name}`);
    await admin.get("/apis/iter8.tools/v2alpha2/namespaces/default/experiments/canary-progressive");
    for (const ns of ["iter8-knative", NS]) {
      const list = await admin.get<{ items: unknown[] }>(
        `/apis/iter8.tools/v2alpha2/namespaces/${ns}/metrics`,
      );
      assert.equal(list.items.length, 5, ns);
    }
    const ns = await admin.get<{ status: { phase: string } }>("/api/v1/namespaces/iter8-knative");
    assert.equal(ns.status.phase, "Active", "helm.sh/resource-policy: keep");
    for (const path of [
      `/apis/apps/v1/namespaces/${NS}/deployments/iter8-controller`,
      `/api/v1/namespaces/${NS}/secrets/iter8-controller-webhook`,
      "/apis/rbac.authorization.k8s.io/v1/clusterroles/iter8-controller",
    ]) {
      await assert.rejects(admin.get(path), (err: unknown) => isNotFound(err), path);
    }
  });
});
