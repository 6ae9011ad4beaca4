// The plain manifests install with one command, `kubectl apply -k deploy/`, on a real API server: every
// object of the kustomization is created with no error, a second apply changes nothing, the sample
// Metrics follow with `kubectl apply -k deploy/metrics/`, and the controller runs with the plain
// Deployment's own arguments as its ServiceAccount (plain RBAC) and without the optional webhook
// Secret. No Pod runs here (no kubelet): the controller runs as a process of the test.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type ControlPlane, startControlPlane } from "./harness/controlplane.ts";
import { waitFor } from "./harness/http.ts";
import { kubectl, type Obj, ok, parseDocs, ROOT } from "./tools.ts";

const names = (objs: Obj[]) =>
  objs
    .map((o) => {
      const md = o["metadata"] as { name: string; namespace?: string };
      return `${o["kind"]} ${md.namespace ? `${md.namespace}/` : ""}${md.name}`;
    })
    .sort();

describe("kubectl apply -k deploy/", { timeout: 180_000 }, () => {
  let cp: ControlPlane;
  let k: (args: string[]) => ReturnType<typeof kubectl>;
  before(async () => {
    cp = await startControlPlane({});
    k = (args) => kubectl([`--kubeconfig=${cp.kubeconfigPath}`, ...args]);
  });
  after(async () => {
    await cp?.stop();
  });

  test("creates every object of the kustomization, with no error, and a second apply changes nothing", () => {
    const wanted = parseDocs(ok(kubectl(["kustomize", "deploy/"]), "kubectl kustomize").stdout);
    assert.deepEqual([...new Set(wanted.map((o) => o["kind"]))].sort(), [
      "ClusterRole",
      "ClusterRoleBinding",
      "CustomResourceDefinition",
      "Deployment",
      "Namespace",
      "Role",
      "RoleBinding",
      "Service",
      "ServiceAccount",
    ]);
    const first = ok(k(["apply", "-k", "deploy/"]), "kubectl apply -k deploy/");
    assert.equal(first.stderr, "");
    assert.equal(first.stdout.trim().split("\n").length, wanted.length, first.stdout);
    assert.ok(
      first.stdout
        .split("\n")
        .filter(Boolean)
        .every((l) => l.endsWith(" created")),
      first.stdout,
    );
    const got = JSON.parse(ok(k(["get", "-k", "deploy/", "-o", "json"]), "kubectl get -k").stdout) as {
      items: Obj[];
    };
    assert.deepEqual(names(got.items), names(wanted));
    const again = ok(k(["apply", "-k", "deploy/"]), "second apply");
    assert.ok(
      again.stdout
        .split("\n")
        .filter(Boolean)
        .every((l) => l.endsWith(" unchanged")),
      again.stdout,
    );
  });

  test("the webhook Secret is optional in the Deployment", () => {
    const deploy = JSON.parse(
      ok(k(["get", "deployment", "-n", "iter8-system", "iter8-controller", "-o", "json"]), "get").stdout,
    ) as { spec: { template: { spec: { volumes: { name: string; secret?: { optional?: boolean } }[] } } } };
    const tls = deploy.spec.template.spec.volumes.find((v) => v.name === "tls");
    assert.equal(tls?.secret?.optional, true);
  });

  test("the sample Metrics install with kubectl apply -k deploy/metrics/", () => {
    const wanted = parseDocs(ok(kubectl(["kustomize", "deploy/metrics/"]), "kubectl kustomize").stdout);
    const r = ok(k(["apply", "-k", "deploy/metrics/"]), "kubectl apply -k deploy/metrics/");
    assert.equal(r.stderr, "");
    const got = JSON.parse(ok(k(["get", "-k", "deploy/metrics/", "-o", "json"]), "get").stdout) as {
      items: Obj[];
    };
    assert.deepEqual(names(got.items), names(wanted));
    assert.equal(got.items.filter((o) => o["kind"] === "Metric").length, 10);
  });

  test("the controller runs with the Deployment's arguments, its ServiceAccount and no webhook Secret", async () => {
    const deploy = parseDocs(ok(kubectl(["kustomize", "deploy/"]), "kustomize").stdout).find(
      (o) => o["kind"] === "Deployment",
    ) as { spec: { template: { spec: { containers: { command: string[]; args: string[] }[] } } } };
    const container = deploy.spec.template.spec.containers[0]!;
    assert.deepEqual(container.command, ["iter8", "controller"]);
    // What the kubelet would do: expand $(ITER8_NAMESPACE), mount the (absent, optional) Secret as an
    // empty directory. Ports move to free loopback ones: the rest is the manifest's.
    const tls = mkdtempSync(join(tmpdir(), "iter8-empty-tls-"));
    const args = container.args.map((a) =>
      a
        .replace("$(ITER8_NAMESPACE)", "iter8-system")
        .replace(/^--webhook-cert-dir=\/tls$/, `--webhook-cert-dir=${tls}`)
        .replace(/^--health-port=\d+$/, "--health-port=0")
        .replace(/^--webhook-port=\d+$/, "--webhook-port=0"),
    );
    const sa = cp.serviceAccountKubeConfig("iter8-system", "iter8-controller");
    const child = spawn(
      process.execPath,
      [
        join(ROOT, "bin", "iter8"),
        "controller",
        ...args,
        `--kubeconfig=${sa.kubeconfigPath}`,
        "--health-address=127.0.0.1",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let logs = "";
    child.stderr.on("data", (d) => (logs += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    try {
      const port = await waitFor(
        "the controller's health endpoints",
        async () => {
          const line = logs.split("\n").find((l) => l.includes('"msg":"health endpoints"'));
          return line ? (JSON.parse(line) as { port: number }).port : undefined;
        },
        { timeoutMs: 30_000, abortIf: () => (child.exitCode !== null ? `exited: ${logs}` : undefined) },
      );
      await waitFor(
        "/readyz (watches listed with the plain RBAC, or standby for the Lease)",
        async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined),
        { timeoutMs: 30_000 },
      );
      assert.match(logs, /conversion webhook off/);
      assert.doesNotMatch(logs, /forbidden/i);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0, logs);
  });
});
