// kubeconfig files for the test control plane: the admin (system:masters) one, and clients that
// impersonate a ServiceAccount so code under test runs with exactly that account's RBAC.
import { writeFileSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";

export interface KubeconfigParams {
  server: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Sent as Impersonate-User (kubeconfig `as:`). */
  impersonate?: string;
  contextName?: string;
}

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");

export function kubeconfigYaml(p: KubeconfigParams): string {
  const context = p.contextName ?? "iter8-test";
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: "iter8-test", cluster: { server: p.server, "certificate-authority-data": b64(p.caPem) } },
    ],
    users: [
      {
        name: context,
        user: {
          "client-certificate-data": b64(p.certPem),
          "client-key-data": b64(p.keyPem),
          ...(p.impersonate ? { as: p.impersonate } : {}),
        },
      },
    ],
    contexts: [{ name: context, context: { cluster: "iter8-test", user: context, namespace: "default" } }],
    "current-context": context,
  });
}

/** Writes the kubeconfig (mode 0600: it holds a key) and loads it the way client code will. */
export function writeKubeconfig(path: string, p: KubeconfigParams): KubeConfig {
  writeFileSync(path, kubeconfigYaml(p), { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function serviceAccountUsername(namespace: string, name: string): string {
  if (!DNS_LABEL.test(namespace) || namespace.length > 63)
    throw new Error(`invalid namespace ${JSON.stringify(namespace)}`);
  if (!DNS_SUBDOMAIN.test(name) || name.length > 253)
    throw new Error(`invalid ServiceAccount name ${JSON.stringify(name)}`);
  return `system:serviceaccount:${namespace}:${name}`;
}
