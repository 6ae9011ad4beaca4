// Loading the client configuration the way kubectl does: --kubeconfig, else $KUBECONFIG, else
// ~/.kube/config, else the in-cluster service account; --context picks a context.

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ClientLimits, type ClusterConnection, KubeClient } from "./rest.ts";

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

/**
 * The connection to the cluster of the kubeconfig (or in-cluster service account), resolved in a
 * child process: the Kubernetes client library that reads kubeconfigs (contexts, exec and auth
 * plugins, in-cluster tokens) loads about 85 MiB of generated API code, which a long-running
 * controller would otherwise carry for good, and which commands that never touch a cluster should
 * not load at all. Throws with the library's reason (e.g. `kubeconfig has no context "x"`).
 */
export function resolveConnection(flags: KubeconfigFlags = {}): ClusterConnection {
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  const resolver = fileURLToPath(new URL(`./kubeconfig-resolve${ext}`, import.meta.url));
  try {
    const out = execFileSync(process.execPath, [resolver, JSON.stringify(flags)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(out) as ClusterConnection;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(stderr || (err instanceof Error ? err.message : String(err)));
  }
}

export function kubeClient(flags: KubeconfigFlags = {}, limits: ClientLimits = {}): KubeClient {
  return new KubeClient(resolveConnection(flags), limits);
}
