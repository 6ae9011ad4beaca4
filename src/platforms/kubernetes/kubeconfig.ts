// Loading the client configuration the way kubectl does: --kubeconfig, else $KUBECONFIG, else
// ~/.kube/config, else the in-cluster service account; --context picks a context.

import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { type ClientLimits, KubeClient } from "./rest.ts";

export interface KubeconfigFlags {
  kubeconfig?: string;
  context?: string;
}

/** Where a pod's service account credentials are mounted (what loadFromCluster reads). */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * Why there is no configuration to load, or undefined if there is one. Without this check the
 * client library falls back to http://localhost:8080 in a context named `loaded-context`, which
 * reads as if the user had configured it.
 */
export function missingConfigReason(
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
  exists: (path: string) => boolean = existsSync,
): string | undefined {
  if (env["KUBECONFIG"]) return undefined;
  const userConfig = join(home, ".kube", "config");
  if (exists(userConfig)) return undefined;
  const inCluster = Boolean(env["KUBERNETES_SERVICE_HOST"]) && exists(join(SERVICE_ACCOUNT_DIR, "token"));
  if (inCluster) return undefined;
  return (
    `no Kubernetes cluster configured: $KUBECONFIG is not set, ${userConfig} does not exist, and this is not ` +
    `a pod with a service account (no $KUBERNETES_SERVICE_HOST and ${SERVICE_ACCOUNT_DIR}/token); ` +
    "pass --kubeconfig FILE or set KUBECONFIG"
  );
}

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

export function kubeClient(flags: KubeconfigFlags = {}, limits: ClientLimits = {}): KubeClient {
  return new KubeClient(loadKubeConfig(flags), limits);
}
