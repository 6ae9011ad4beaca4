// `iter8 kube get experiments [NAME] [-n NS | -A] [--watch]` and `iter8 kube describe NAME [-n NS]`:
// the kubectl columns and the iter8ctl description of Experiments in the cluster of the current
// kubeconfig (or --kubeconfig/--context). `iter8 get` and `iter8 describe NAME` use these functions
// when they read a cluster (src/cli/source.ts decides).

import type { Command } from "commander";
import type { Metric } from "../../api/types.ts";
import {
  type ClusterExperiment,
  listExperiments,
  readExperiment,
  watchExperiments,
} from "../../platforms/kubernetes/cluster-read.ts";
import { kubeClient } from "../../platforms/kubernetes/kubeconfig.ts";
import { metricsPath } from "../../platforms/kubernetes/resources.ts";
import { KubeApiError, type KubeClient } from "../../platforms/kubernetes/rest.ts";
import { outcomeAnnotation } from "../../report/outcome.ts";
import { ExperimentWatchPrinter, renderExperimentTable } from "../../report/table.ts";
import { CliError } from "../errors.ts";
import { checkResource } from "../source.ts";
import { describeCommand, type ExperimentResolver } from "./describe.ts";

interface ClusterFlags {
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
    const server = client.kc.getCurrentCluster()?.server ?? "?";
    throw new CliError(
      `cannot reach the Kubernetes API server ${server} (context ${client.kc.getCurrentContext()}): ${err.message}`,
    );
  } finally {
    client.close();
  }
}

function clusterOptions(cmd: Command): Command {
  return cmd
    .option("--kubeconfig <file>", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    .option("--context <name>", "kubeconfig context")
    .option("-n, --namespace <namespace>", "namespace (default: the context's)");
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

/** `get experiments` against a cluster (also used by `iter8 get` when it reads the cluster). */
export async function clusterGet(
  resource: string,
  name: string | undefined,
  flags: ClusterFlags & { allNamespaces?: boolean; watch?: boolean },
): Promise<void> {
  checkResource(resource);
  await withCluster(flags, async (client) => {
    const scope = {
      namespace: flags.namespace ?? client.contextNamespace,
      ...(flags.allNamespaces ? { allNamespaces: true } : {}),
      ...(name ? { name } : {}),
    };
    const first = await listExperiments(client, scope);
    const options = {
      ...(flags.allNamespaces ? { allNamespaces: true } : {}),
      annotate: outcomeAnnotation(),
    };
    // kubectl's words for an empty list, on stderr so that the table on stdout stays parseable.
    const noneFound = flags.allNamespaces
      ? "No resources found\n"
      : `No resources found in ${scope.namespace} namespace.\n`;
    if (!flags.watch) {
      if (first.items.length === 0) {
        process.stderr.write(noneFound);
        return;
      }
      process.stdout.write(renderExperimentTable(first.items, options));
      return;
    }
    const printer = new ExperimentWatchPrinter(options);
    if (first.items.length > 0) process.stdout.write(printer.initial(first.items));
    else process.stderr.write(noneFound);
    const ac = new AbortController();
    const stop = () => ac.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    await watchExperiments(
      client,
      scope,
      first.resourceVersion,
      (e) => process.stdout.write(printer.update(e)),
      ac.signal,
    );
  });
}

/** The Metric resources of a cluster namespace (or all), for `iter8 get metrics`. */
export async function clusterMetrics(
  flags: ClusterFlags & { allNamespaces?: boolean },
): Promise<{ metrics: Metric[]; where: string }> {
  return withCluster(flags, async (client) => {
    const ns = flags.namespace ?? client.contextNamespace;
    const list = await client.get<{ items: Metric[] }>(metricsPath(flags.allNamespaces ? undefined : ns));
    return { metrics: list.items, where: flags.allNamespaces ? "the cluster" : `namespace ${ns}` };
  });
}

export function register(program: Command): void {
  const kube = program
    .command("kube")
    .description("read experiments from a Kubernetes cluster (current kubeconfig)");

  clusterOptions(
    kube
      .command("get")
      .description(
        "list experiments with the kubectl columns NAME TYPE TARGET STAGE COMPLETED ITERATIONS MESSAGE",
      )
      .argument("<resource>", "experiments")
      .argument("[name]", "only this experiment")
      .option("-A, --all-namespaces", "all namespaces, with a NAMESPACE column")
      .option("-w, --watch", "after listing, print a row whenever an experiment changes"),
  ).action(clusterGet);

  clusterOptions(
    kube
      .command("describe")
      .description("describe an experiment in the cluster (iter8ctl layout)")
      .argument("<name>", "experiment name")
      .option("-o, --output <format>", "output format: text, json, yaml", "text"),
  ).action(async (name: string, flags: ClusterFlags & { output?: string }) => {
    process.stdout.write(
      await describeCommand(
        name,
        {
          ...(flags.namespace ? { namespace: flags.namespace } : {}),
          ...(flags.output ? { output: flags.output } : {}),
        },
        clusterExperimentResolver(flags),
      ),
    );
  });
}
