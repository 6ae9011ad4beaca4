// The connection is resolved from the kubeconfig in a child process (so the client library never
// loads in the controller): what comes back is what the library would have applied, and its errors
// come back word for word.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { resolveConnection } from "../../../src/platforms/kubernetes/kubeconfig.ts";
import { KubeClient } from "../../../src/platforms/kubernetes/rest.ts";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

function kubeconfigFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "iter8-kubeconfig-"));
  const path = join(dir, "config");
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
clusters:
- name: one
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: ${Buffer.from(CA).toString("base64")}
- name: two
  cluster:
    server: https://10.0.0.2:443
    insecure-skip-tls-verify: true
users:
- name: alice
  user:
    token: secret-token
- name: bob
  user:
    token: bob-token
    as: system:serviceaccount:iter8-system:iter8-controller
contexts:
- name: first
  context: { cluster: one, user: alice, namespace: team-a }
- name: second
  context: { cluster: two, user: bob }
current-context: first
`,
  );
  return path;
}

describe("resolveConnection", () => {
  const path = kubeconfigFile();

  it("resolves the current context: server, namespace, CA and token", () => {
    const c = resolveConnection({ kubeconfig: path });
    assert.equal(c.server, "https://127.0.0.1:6443");
    assert.equal(c.context, "first");
    assert.equal(c.namespace, "team-a");
    assert.equal(c.tls["ca"], CA);
    assert.equal(c.headers["Authorization"], "Bearer secret-token");
  });

  it("--context picks another; no namespace means default; impersonation is a header", () => {
    const c = resolveConnection({ kubeconfig: path, context: "second" });
    assert.equal(c.server, "https://10.0.0.2:443");
    assert.equal(c.namespace, "default");
    assert.equal(c.tls["rejectUnauthorized"], false);
    assert.equal(c.headers["Authorization"], "Bearer bob-token");
    assert.equal(c.headers["Impersonate-User"], "system:serviceaccount:iter8-system:iter8-controller");
  });

  it("a client made from it names the server and context", () => {
    const client = new KubeClient(resolveConnection({ kubeconfig: path }));
    assert.equal(client.server, "https://127.0.0.1:6443");
    assert.equal(client.contextName, "first");
    assert.equal(client.contextNamespace, "team-a");
    assert.equal(client.kc, undefined);
    client.close();
  });

  it("an unknown context and a missing file fail with the reason", () => {
    assert.throws(() => resolveConnection({ kubeconfig: path, context: "nope" }), {
      message: 'kubeconfig has no context "nope"',
    });
    assert.throws(() => resolveConnection({ kubeconfig: join(path, "..", "absent") }), /ENOENT|no such file/);
  });
});
