// `iter8 get experiments [--watch]`: the `kubectl get experiments` table for the experiments of a
// local state directory, readable from another terminal while `iter8 local run` writes them.

import type { Command } from "commander";
import type { Experiment } from "../../api/types.ts";
import { defaultStateDir, listStoredExperiments } from "../../platforms/local/store.ts";
import { ExperimentWatchPrinter, renderExperimentTable } from "../../report/table.ts";
import { CliError } from "../errors.ts";

interface Flags {
  watch?: boolean;
  stateDir?: string;
  namespace?: string;
  allNamespaces?: boolean;
  pollMs?: string;
}

const RESOURCES = ["experiments", "experiment", "exp", "experiments.iter8.tools"];

export function register(program: Command): void {
  program
    .command("get")
    .description("list experiments of the local state directory (kubectl get experiments columns)")
    .argument("<resource>", "experiments")
    .argument("[name]", "only this experiment")
    .option("-w, --watch", "after listing, print a row whenever an experiment changes")
    .option("--state-dir <dir>", "state directory (default $ITER8_STATE_DIR or ~/.local/state/iter8)")
    .option("-n, --namespace <namespace>", "only this namespace")
    .option("-A, --all-namespaces", "all namespaces, with a NAMESPACE column")
    .action(async (resource: string, name: string | undefined, flags: Flags) => {
      if (!RESOURCES.includes(resource))
        throw new CliError(`unknown resource type ${JSON.stringify(resource)}: use experiments`, 2);
      const stateDir = flags.stateDir ?? defaultStateDir();
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
