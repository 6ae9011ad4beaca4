// `iter8 get experiments [NAME] [-n NS | -A] [--watch]`: the `kubectl get experiments` table, for the
// experiments of a local state directory (readable from another terminal while `iter8 local run`
// writes them) or of a cluster (src/cli/source.ts decides which).

import type { Command } from "commander";
import type { Experiment } from "../../api/types.ts";
import { listStoredExperiments } from "../../platforms/local/store.ts";
import { ExperimentWatchPrinter, renderExperimentTable } from "../../report/table.ts";
import { checkResource, chooseSource, type SourceFlags, sourceOptions } from "../source.ts";

interface Flags extends SourceFlags {
  watch?: boolean;
  namespace?: string;
  allNamespaces?: boolean;
  pollMs?: string;
}

export function register(program: Command): void {
  const get = program
    .command("get")
    .description(
      "list experiments with the kubectl columns, from the local state directory or the cluster of the current kubeconfig",
    )
    .argument("<resource>", "experiments")
    .argument("[name]", "only this experiment")
    .option("-w, --watch", "after listing, print a row whenever an experiment changes")
    .option("-n, --namespace <namespace>", "only this namespace (default: default, or the context's)")
    .option("-A, --all-namespaces", "all namespaces, with a NAMESPACE column");
  sourceOptions(get).action(async (resource: string, name: string | undefined, flags: Flags) => {
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
    const stateDir = source.stateDir;
    const select = (all: Experiment[]) =>
      all.filter(
        (e) =>
          (name === undefined || e.metadata.name === name) &&
          (flags.allNamespaces || (e.metadata.namespace ?? "default") === (flags.namespace ?? "default")),
      );
    const options = flags.allNamespaces ? { allNamespaces: true } : {};
    const first = select(listStoredExperiments(stateDir));
    if (!flags.watch) {
      if (first.length === 0) {
        process.stderr.write(`No experiments found in ${stateDir}.\n`);
        return;
      }
      process.stdout.write(renderExperimentTable(first, options));
      return;
    }
    const printer = new ExperimentWatchPrinter(options);
    const seen = new Map<string, string>();
    const key = (e: Experiment) => `${e.metadata.namespace ?? "default"}/${e.metadata.name}`;
    if (first.length > 0) process.stdout.write(printer.initial(first));
    for (const e of first) seen.set(key(e), e.metadata.resourceVersion ?? "");
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        for (const e of select(listStoredExperiments(stateDir))) {
          const rv = e.metadata.resourceVersion ?? "";
          if (seen.get(key(e)) === rv) continue;
          seen.set(key(e), rv);
          process.stdout.write(printer.update(e));
        }
      }, 250);
      const stop = () => {
        clearInterval(timer);
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        resolve();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
  });
}
