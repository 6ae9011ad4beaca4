// Where `iter8 get experiments` and `iter8 describe NAME` read experiments from: the local state
// directory that `iter8 local run` writes, or the cluster of a kubeconfig. Explicit flags decide;
// otherwise $ITER8_STATE_DIR means local, a state directory holding experiments means local, and a
// kubeconfig ($KUBECONFIG or ~/.kube/config) means the cluster, so both the local user and the
// kubectl user get what they expect without a flag.

import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { defaultStateDir, listStoredExperiments } from "../platforms/local/store.ts";
import { CliError } from "./errors.ts";

export interface SourceFlags {
  stateDir?: string;
  local?: boolean;
  kubeconfig?: string;
  context?: string;
  cluster?: boolean;
}

export type Source =
  | { kind: "local"; stateDir: string }
  | { kind: "cluster"; kubeconfig?: string; context?: string };

// What `get` accepts as the resource, as kubectl does for the CRD: plural, singular, short name, TYPE.GROUP.
const EXPERIMENT_RESOURCES = ["experiments", "experiment", "exp", "experiments.iter8.tools"];

const METRIC_RESOURCES = ["metrics", "metric", "metrics.iter8.tools"];

export function isMetricResource(resource: string): boolean {
  return METRIC_RESOURCES.includes(resource);
}

export function checkResource(resource: string): void {
  if (!EXPERIMENT_RESOURCES.includes(resource))
    throw new CliError(`unknown resource type ${JSON.stringify(resource)}: use experiments or metrics`, 2);
}

export function sourceOptions(cmd: Command): Command {
  return cmd
    .option("--local", "read the local state directory (what `iter8 local run` writes)")
    .option("--state-dir <dir>", "local state directory (default $ITER8_STATE_DIR or ~/.local/state/iter8)")
    .option("--cluster", "read the cluster of the current kubeconfig")
    .option(
      "--kubeconfig <file>",
      "kubeconfig file (default $KUBECONFIG or ~/.kube/config); implies --cluster",
    )
    .option("--context <name>", "kubeconfig context; implies --cluster");
}

export function chooseSource(flags: SourceFlags, env: NodeJS.ProcessEnv = process.env): Source {
  const wantsLocal = flags.local === true || flags.stateDir !== undefined;
  const wantsCluster =
    flags.cluster === true || flags.kubeconfig !== undefined || flags.context !== undefined;
  if (wantsLocal && wantsCluster)
    throw new CliError("choose one source: --local/--state-dir or --cluster/--kubeconfig/--context", 2);
  const cluster = (): Source => ({
    kind: "cluster",
    ...(flags.kubeconfig !== undefined ? { kubeconfig: flags.kubeconfig } : {}),
    ...(flags.context !== undefined ? { context: flags.context } : {}),
  });
  const local: Source = { kind: "local", stateDir: flags.stateDir ?? defaultStateDir(env) };
  if (wantsLocal) return local;
  if (wantsCluster) return cluster();
  if (env["ITER8_STATE_DIR"]) return local;
  if (listStoredExperiments(local.stateDir).length > 0) return local;
  if (kubeconfigExists(env)) return cluster();
  return local;
}

function kubeconfigExists(env: NodeJS.ProcessEnv): boolean {
  const paths = env["KUBECONFIG"] ? env["KUBECONFIG"].split(":").filter(Boolean) : [];
  if (paths.length === 0) paths.push(join(homedir(), ".kube", "config"));
  return paths.some((p) => existsSync(p));
}
