// Loading the client configuration the way kubectl does: --kubeconfig, else $KUBECONFIG, else
// ~/.kube/config, else the in-cluster service account; --context picks a context.

import { KubeConfig } from "@kubernetes/client-node";
import { type ClientLimits, KubeClient } from "./rest.ts";

export interface KubeconfigFlags {
  kubeconfig?: string;
  context?: string;
}

export function loadKubeConfig(flags: KubeconfigFlags = {}): KubeConfig {
  const kc = new KubeConfig();
  if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
  else kc.loadFromDefault();
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
