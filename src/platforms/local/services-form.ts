// The services form of a lab: versions as commands (or running addresses) and one load, beside an
// experiment whose versionInfo names those versions. The local router is the target: this module
// writes the one routing object it holds (a VirtualService with a route per version, weights in
// `.spec.http[0].route[i].weight`) and points each version's weightObjRef at it, so the engine,
// the actuator and the router work exactly as for a tutorial's own VirtualService.

import { namespaceOf } from "../../api/refs.ts";
import type { Experiment, VersionDetail } from "../../api/types.ts";
import { allVersions } from "../../engine/weights.ts";
import type { Lab } from "./lab.ts";
import type { LoadGenerator } from "./traffic.ts";
import { versionWorkloads, type Workload } from "./workloads.ts";

type Obj = Record<string, unknown>;

export const ROUTER_OBJECT = "iter8-local-router";
/** The Host header the load sends; the router object answers every host. */
export const SERVICE_HOST = "service.local";

export interface ServicesForm {
  experiment: Experiment;
  routing: Obj[];
  workloads: Workload[];
  generators: LoadGenerator[];
}

/** Initial weights: as the lab says, the rest shared evenly (the first versions get the remainder). */
export function initialWeights(lab: Lab, names: string[]): Record<string, number> {
  const entries = lab.versions ?? [];
  const weightOf = (n: string) => entries.find((v) => v.name === n)?.weight;
  const free = names.filter((n) => weightOf(n) === undefined);
  const left = 100 - names.reduce((s, n) => s + (weightOf(n) ?? 0), 0);
  const out: Record<string, number> = {};
  names.forEach((n) => {
    const w = weightOf(n);
    if (w !== undefined) out[n] = w;
  });
  free.forEach((n, i) => {
    out[n] = Math.floor(left / free.length) + (i < left % free.length ? 1 : 0);
  });
  return out;
}

function routerObject(namespace: string, names: string[], weights: Record<string, number>): Obj {
  return {
    apiVersion: "networking.istio.io/v1beta1",
    kind: "VirtualService",
    metadata: { name: ROUTER_OBJECT, namespace },
    spec: {
      hosts: ["*"],
      http: [{ route: names.map((n) => ({ destination: { host: n }, weight: weights[n] ?? 0 })) }],
    },
  };
}

/** Problems between the experiment and the lab's versions, each naming file and field. */
export function servicesProblems(exp: Experiment, file: string, lab: Lab): string[] {
  const problems: string[] = [];
  const names = (lab.versions ?? []).map((v) => v.name);
  const versions = allVersions(exp);
  versions.forEach((v, i) => {
    const field = i === 0 ? "spec.versionInfo.baseline" : `spec.versionInfo.candidates[${i - 1}]`;
    if (!names.includes(v.name))
      problems.push(
        `${file}: Experiment ${exp.metadata.name}: ${field}.name: version ${v.name} is not in ${lab.file} versions (${names.join(", ")})`,
      );
    if (v.weightObjRef)
      problems.push(
        `${file}: Experiment ${exp.metadata.name}: ${field}.weightObjRef: not used with ${lab.file} versions (the local router is the target): remove it`,
      );
  });
  for (const n of names)
    if (!versions.some((v) => v.name === n))
      problems.push(`${lab.file}: versions.${n}: not a version of the experiment's versionInfo`);
  if (versions.length === 0)
    problems.push(`${file}: Experiment ${exp.metadata.name}: spec.versionInfo: names no versions to run`);
  return problems;
}

/** The routing object, the experiment pointed at it, the workloads and the load. */
export function servicesForm(exp: Experiment, lab: Lab): ServicesForm {
  const namespace = namespaceOf(exp);
  const names = allVersions(exp).map((v) => v.name);
  const weights = initialWeights(lab, names);
  const experiment = structuredClone(exp);
  const point = (v: VersionDetail, i: number) => {
    v.weightObjRef = {
      apiVersion: "networking.istio.io/v1beta1",
      kind: "VirtualService",
      name: ROUTER_OBJECT,
      namespace,
      fieldPath: `.spec.http[0].route[${i}].weight`,
    };
    // The router labels a version's requests with its name; Prometheus queries name `$revision`.
    v.variables ??= [];
    if (!v.variables.some((x) => x.name === "revision"))
      v.variables.push({ name: "revision", value: v.name });
  };
  allVersions(experiment).forEach(point);
  const load = lab.load!;
  return {
    experiment,
    routing: [routerObject(namespace, names, weights)],
    workloads: versionWorkloads(lab),
    generators: [
      {
        name: "load",
        url: `http://${SERVICE_HOST}${load.path}`,
        headers: load.headers,
        qps: load.qps,
        connections: load.connections,
        ...(load.durationMs !== undefined ? { durationMs: load.durationMs } : {}),
        delayMs: 0,
      },
    ],
  };
}
