// `knative/init-experiment`: reads the Knative Service named by `spec.target`, waits
// until it is Ready, and fills versionInfo: a `namespace` variable for every version and, for a
// Canary, each version's weightObjRef `.spec.traffic[i].percent`. The Service is read through the
// platform hook: on Kubernetes from the cluster, locally from the lab (Ready once the version
// processes serve).

import type { Experiment, VersionDetail } from "../api/types.ts";
import { KSVC_API_VERSION, trafficPercentPath } from "../kinds/knative.ts";
import { errorText } from "../lib/errors.ts";
import type { TaskContext, TaskImpl } from "./types.ts";

export { KSVC_API_VERSION };

export interface KnativeInitTiming {
  /** Reads of the Service (and readiness checks) in all. Original: 10. */
  attempts: number;
  /** Between attempts. Original: 18 s. */
  intervalMs: number;
}

export const DEFAULT_KNATIVE_TIMING: KnativeInitTiming = { attempts: 10, intervalMs: 18_000 };

type Obj = Record<string, unknown>;

function list(v: unknown): Obj[] {
  return Array.isArray(v) ? (v.filter((x) => x && typeof x === "object") as Obj[]) : [];
}

function conditionTrue(ksvc: Obj, type: string): boolean {
  const status = ksvc["status"] as Obj | undefined;
  return list(status?.["conditions"]).some((c) => c["type"] === type && c["status"] === "True");
}

export function ksvcReady(ksvc: Obj): boolean {
  return ["Ready", "ConfigurationsReady", "RoutesReady"].every((t) => conditionTrue(ksvc, t));
}

/** `UpdateVariable` never overwrites an existing variable of the same name. */
function addVariable(v: VersionDetail, name: string, value: string): void {
  v.variables ??= [];
  const vars = v.variables;
  if (!vars.some((x) => x.name === name)) vars.push({ name, value });
}

function revisionOf(v: VersionDetail): string {
  const r = v.variables?.find((x) => x.name === "revision")?.value;
  if (!r) throw new Error(`version ${v.name} has no "revision" variable`);
  return r;
}

/** Fills versionInfo from a ready Knative Service (the original task's last step). Mutates `exp`. */
export function initFromKsvc(exp: Experiment, ksvc: Obj, namespace: string, name: string): void {
  const info = exp.spec.versionInfo;
  if (!info) throw new Error("experiment has no versionInfo to initialise");
  const statusTraffic = list((ksvc["status"] as Obj | undefined)?.["traffic"]);
  const specTraffic = list((ksvc["spec"] as Obj | undefined)?.["traffic"]);
  const pattern = exp.spec.strategy.testingPattern;
  if (pattern === "Conformance") {
    const revision = revisionOf(info.baseline);
    if (!statusTraffic.some((t) => t["revisionName"] === revision)) {
      throw new Error(`revision ${revision} not found in the traffic status of ksvc ${namespace}/${name}`);
    }
    addVariable(info.baseline, "namespace", namespace);
    return;
  }
  if (pattern !== "Canary") throw new Error("unsupported testing pattern found in experiment");
  if ((info.candidates ?? []).length !== 1)
    throw new Error("a Canary experiment needs exactly one candidate");
  for (const v of [info.baseline, info.candidates![0]!]) {
    const revision = revisionOf(v);
    addVariable(v, "namespace", namespace);
    const st = statusTraffic.find((t) => t["revisionName"] === revision);
    if (!st)
      throw new Error(`revision ${revision} not found in the traffic status of ksvc ${namespace}/${name}`);
    const index = specTraffic.findIndex(
      (t) =>
        t["revisionName"] === revision || (t["latestRevision"] === true && st["latestRevision"] === true),
    );
    if (index < 0)
      throw new Error(`revision ${revision} not found in the traffic spec of ksvc ${namespace}/${name}`);
    v.weightObjRef = {
      apiVersion: KSVC_API_VERSION,
      kind: "Service",
      namespace,
      name,
      fieldPath: trafficPercentPath(index),
    };
  }
}

export function knativeInitTask(timing: KnativeInitTiming = DEFAULT_KNATIVE_TIMING): TaskImpl {
  return {
    name: "knative/init-experiment",
    effects: ["versionInfo"],
    validate: () => [],
    timeoutMs: () => timing.attempts * (timing.intervalMs + 10_000),
    async run(ctx: TaskContext) {
      const parts = ctx.experiment.spec.target.split("/");
      if (parts.length !== 2 || !parts[0] || !parts[1]) {
        throw new Error("unable to parse target into name and namespace of the ksvc");
      }
      const [namespace, name] = parts as [string, string];
      let last = "";
      for (let attempt = 1; ; attempt++) {
        let ksvc: Obj | undefined;
        try {
          ksvc = await ctx.platform.getObject({
            apiVersion: KSVC_API_VERSION,
            kind: "Service",
            namespace,
            name,
          });
          last = ksvc
            ? ksvcReady(ksvc)
              ? ""
              : "knative service is not ready"
            : `ksvc ${namespace}/${name} not found`;
        } catch (err) {
          last = `reading ksvc ${namespace}/${name}: ${errorText(err)}`;
        }
        if (ksvc && !last) {
          initFromKsvc(ctx.experiment, ksvc, namespace, name);
          ctx.log(`initialised versionInfo from ksvc ${namespace}/${name}\n`);
          return;
        }
        ctx.log(`attempt ${attempt}: ${last}\n`);
        if (attempt >= timing.attempts) throw new Error(last);
        await ctx.clock.sleep(timing.intervalMs, ctx.signal);
      }
    },
  };
}
