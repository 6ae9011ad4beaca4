// Reading a kubeconfig with the Kubernetes client library: only the resolver child process
// (kubeconfig-resolve.ts) and tests load this module, see resolveConnection in kubeconfig.ts.

import { KubeConfig } from "@kubernetes/client-node";
import { type KubeconfigFlags, missingConfigReason } from "./kubeconfig.ts";
import { type ClusterConnection, kubeconfigTarget } from "./rest.ts";

export function loadKubeConfig(flags: KubeconfigFlags = {}): KubeConfig {
  const kc = new KubeConfig();
  if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
  else {
    const missing = missingConfigReason();
    if (missing) throw new Error(missing);
    kc.loadFromDefault();
  }
  if (flags.context) {
    if (!kc.getContextObject(flags.context)) throw new Error(`kubeconfig has no context "${flags.context}"`);
    kc.setCurrentContext(flags.context);
  }
  if (!kc.getCurrentCluster())
    throw new Error("no Kubernetes cluster configured (kubeconfig has no current cluster)");
  return kc;
}

/**
 * The server, TLS options and auth headers of the current context, as plain JSON data (PEM text,
 * not Buffers), running any exec or auth-provider plugin the user names.
 */
export async function connectionOf(kc: KubeConfig): Promise<ClusterConnection> {
  if (!kc.getCurrentCluster()) throw new Error("kubeconfig has no current cluster");
  const opts: Record<string, unknown> & { headers?: Record<string, string> } = { headers: {} };
  await kc.applyToHTTPSOptions(opts as never);
  const { headers, ...options } = opts;
  const tls: Record<string, string | boolean> = {};
  for (const [k, v] of Object.entries(options)) {
    if (typeof v === "string" || typeof v === "boolean") tls[k] = v;
    else if (Buffer.isBuffer(v)) tls[k] = v.toString("utf8");
  }
  return { ...kubeconfigTarget(kc), tls, headers: headers ?? {} };
}
