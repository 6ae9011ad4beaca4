// `iter8 get experiments [NAME] [-n NS | -A] [--watch]`: the `kubectl get experiments` table, for the
// experiments of a local state directory (readable from another terminal while `iter8 local run`
// writes them) or of a cluster (src/cli/source.ts decides which). A local experiment whose run is no
// longer alive shows as Interrupted, and any experiment that stopped for a reason shows the reason
// in MESSAGE (src/report/outcome.ts). `iter8 get metrics` lists the Metric resources available:
// the set `iter8 local run` installs, or the cluster's.

import type { Command } from "commander";
import { namespaceOf } from "../../api/refs.ts";
import type { Metric } from "../../api/types.ts";
import {
  type LocalExperimentScope,
  listLocalExperiments,
  localLiveness,
  watchLocalExperiments,
} from "../../platforms/local/read.ts";
import { outcomeAnnotation } from "../../report/outcome.ts";
import {
  ExperimentWatchPrinter,
  type GetTableOptions,
  renderExperimentTable,
  renderMetricTable,
} from "../../report/table.ts";
import { CliError } from "../errors.ts";
import { checkResource, chooseSource, isMetricResource, type SourceFlags, sourceOptions } from "../source.ts";

interface Flags extends SourceFlags {
  watch?: boolean;
  namespace?: string;
  allNamespaces?: boolean;
  metrics?: string;
}

export function register(program: Command): void {
  const get = program
    .command("get")
    .description(
      "list experiments (kubectl columns) or metrics, from the local state directory or the cluster of the current kubeconfig",
    )
    .argument("<resource>", "experiments or metrics")
    .argument("[name]", "only this experiment or metric")
    .option("-w, --watch", "after listing, print a row whenever an experiment changes")
    .option("-n, --namespace <namespace>", "only this namespace (default: default, or the context's)")
    .option("-A, --all-namespaces", "all namespaces, with a NAMESPACE column")
    .option(
      "--metrics <backend>",
      "get metrics, locally: the set installed for builtin (default) or prometheus",
    );
  sourceOptions(get).action(async (resource: string, name: string | undefined, flags: Flags) => {
    if (isMetricResource(resource)) return getMetrics(name, flags);
    checkResource(resource);
    const source = chooseSource(flags);
    if (source.kind === "cluster") {
      const { clusterGet } = await import("./kube.ts");
      return clusterGet(resource, name, {
        ...source,
        ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
        ...(flags.allNamespaces ? { allNamespaces: true } : {}),
        ...(flags.watch ? { watch: true } : {}),
      });
    }
    await localGet(source.stateDir, name, flags);
  });
}

async function localGet(stateDir: string, name: string | undefined, flags: Flags): Promise<void> {
  const scope: LocalExperimentScope = {
    ...(name !== undefined ? { name } : {}),
    ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
    ...(flags.allNamespaces ? { allNamespaces: true } : {}),
  };
  const options: GetTableOptions = {
    ...(flags.allNamespaces ? { allNamespaces: true } : {}),
    annotate: outcomeAnnotation(localLiveness(stateDir)),
  };
  const first = listLocalExperiments(stateDir, scope);
  if (!flags.watch) {
    if (first.length === 0) {
      process.stderr.write(`No experiments found in ${stateDir}.\n`);
      return;
    }
    process.stdout.write(renderExperimentTable(first, options));
    return;
  }
  // The watch shows the traffic split, like the run's own output, and its header from the start.
  const printer = new ExperimentWatchPrinter({ ...options, traffic: true });
  process.stdout.write(printer.initial(first));
  if (first.length === 0) process.stderr.write(`no experiments yet in ${stateDir}\n`);
  await watchLocalExperiments(
    stateDir,
    scope,
    first,
    (e) => process.stdout.write(printer.update(e)),
    untilInterrupted(),
  );
}

/** Aborts on the first SIGINT or SIGTERM, which then end the watch (exit 0) instead of the process. */
function untilInterrupted(): AbortSignal {
  const ac = new AbortController();
  const stop = () => {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    ac.abort();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return ac.signal;
}

async function getMetrics(name: string | undefined, flags: Flags): Promise<void> {
  if (flags.watch) throw new CliError("--watch: only for experiments", 2);
  const source = chooseSource(flags);
  const options: GetTableOptions = flags.allNamespaces ? { allNamespaces: true } : {};
  let metrics: Metric[];
  let where: string;
  if (source.kind === "cluster") {
    const { clusterMetrics } = await import("./kube.ts");
    ({ metrics, where } = await clusterMetrics({
      ...source,
      ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
      ...(flags.allNamespaces ? { allNamespaces: true } : {}),
    }));
  } else {
    if (flags.metrics !== undefined && flags.metrics !== "builtin" && flags.metrics !== "prometheus")
      throw new CliError(`--metrics: must be builtin or prometheus, got ${JSON.stringify(flags.metrics)}`, 2);
    const { installedMetrics } = await import("../../platforms/local/tutorial.ts");
    metrics = installedMetrics(flags.metrics === "prometheus" ? "prometheus" : "builtin");
    where = `the metrics iter8 local run installs (${flags.metrics ?? "builtin"})`;
    if (!flags.allNamespaces && flags.namespace !== undefined)
      metrics = metrics.filter((m) => namespaceOf(m) === flags.namespace);
    options.allNamespaces = !flags.namespace;
  }
  if (name !== undefined) metrics = metrics.filter((m) => m.metadata.name === name);
  if (metrics.length === 0) {
    process.stderr.write(`No metrics found in ${where}.\n`);
    return;
  }
  process.stdout.write(renderMetricTable(metrics, options));
}
