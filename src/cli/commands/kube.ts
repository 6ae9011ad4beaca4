// `iter8 kube get experiments [NAME] [-n NS | -A] [--watch]` and `iter8 kube describe NAME [-n NS]`:
// the kubectl columns and the iter8ctl description of Experiments in the cluster of the current
// kubeconfig (or --kubeconfig/--context). `iter8 get` and `iter8 describe NAME` use these functions
// when they read a cluster (src/cli/source.ts decides).

import type { Command } from "commander";
import type { Metric } from "../../api/types.ts";
import { listExperiments, listMetrics, watchExperiments } from "../../platforms/kubernetes/cluster-read.ts";
import { outcomeAnnotation } from "../../report/outcome.ts";
import { ExperimentWatchPrinter, renderExperimentTable } from "../../report/table.ts";
import { type ClusterFlags, clusterExperimentResolver, withCluster } from "../cluster.ts";
import { checkResource } from "../source.ts";
import { describeCommand } from "./describe.ts";

function clusterOptions(cmd: Command): Command {
  return cmd
    .option("--kubeconfig <file>", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    .option("--context <name>", "kubeconfig context")
    .option("-n, --namespace <namespace>", "namespace (default: the context's)");
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
    const metrics = await listMetrics(client, flags.allNamespaces ? undefined : ns);
    return { metrics, where: flags.allNamespaces ? "the cluster" : `namespace ${ns}` };
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
