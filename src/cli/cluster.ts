// The cluster side of the commands that read experiments (`get`, `describe NAME`, `assert`,
// `report`, `dashboard`): a client from the kubeconfig flags, transport failures named by API server
// and context, and finding one experiment by name.

import type { Experiment } from "../api/types.ts";
import { type ClusterExperiment, readExperiment } from "../platforms/kubernetes/cluster-read.ts";
import { kubeClient } from "../platforms/kubernetes/kubeconfig.ts";
import { KubeApiError, type KubeClient } from "../platforms/kubernetes/rest.ts";
import type { RunLiveness } from "../report/outcome.ts";
import { CliError } from "./errors.ts";

/** An experiment found by name (in a cluster or a local state directory). */
export interface ResolvedExperiment {
  experiment: Experiment;
  /** The experiment as stored, before normalisation, when available (for labels as written). */
  source?: unknown;
  /** For a local experiment: whether its `iter8 local run` is still alive. */
  liveness?: RunLiveness;
}

/** Finds an experiment by name; `namespace` is the `-n` flag when given. */
export type ExperimentResolver = (name: string, namespace: string | undefined) => Promise<ResolvedExperiment>;

export interface ClusterFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

function connect(flags: ClusterFlags): KubeClient {
  try {
    return kubeClient({
      ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
      ...(flags.context ? { context: flags.context } : {}),
    });
  } catch (err) {
    const what = flags.kubeconfig ?? process.env["KUBECONFIG"] ?? "~/.kube/config";
    // The YAML parser's message spans several lines (a code frame): its first line is the reason.
    const reason = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    throw new CliError(`cannot load kubeconfig ${what}: ${reason}`);
  }
}

/**
 * Runs `work` with a client, closing it after. A transport failure (refused, reset, TLS, DNS) names
 * the API server and context, which the socket error alone does not; API answers (KubeApiError)
 * and CliErrors already say what went wrong and pass through.
 */
export async function withCluster<T>(
  flags: ClusterFlags,
  work: (client: KubeClient) => Promise<T>,
): Promise<T> {
  const client = connect(flags);
  try {
    return await work(client);
  } catch (err) {
    if (err instanceof CliError || err instanceof KubeApiError || !(err instanceof Error)) throw err;
    throw new CliError(
      `cannot reach the Kubernetes API server ${client.server || "?"} (context ${client.contextName}): ${err.message}`,
    );
  } finally {
    client.close();
  }
}

/**
 * An `ExperimentResolver` for `describe NAME` that reads the cluster of the current kubeconfig (or
 * --kubeconfig/--context): other commands can chain it after their own lookup.
 */
export function clusterExperimentResolver(
  flags: { kubeconfig?: string; context?: string } = {},
): ExperimentResolver {
  return (name, namespace) =>
    withCluster(flags, async (client) => {
      const ns = namespace ?? client.contextNamespace;
      const found: ClusterExperiment | undefined = await readExperiment(client, ns, name);
      if (!found) throw new CliError(`experiments.iter8.tools "${name}" not found in namespace ${ns}`, 2);
      return found;
    });
}
