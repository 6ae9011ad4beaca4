// Checks before anything starts (`iter8 local run` runs them first, `--dry-run` only them): what
// would otherwise fail after processes, router and load are up, or after minutes of retries. Every
// problem names its file and field; all are reported together (exit 2).

import { accessSync, constants, statSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { DEFAULT_INSTALL_NAMESPACE, namespaceOf } from "../../api/refs.ts";
import type { Experiment, VersionDetail } from "../../api/types.ts";
import { resolveMetrics } from "../../engine/metrics.ts";
import type { ExperimentStore } from "../../engine/ports.ts";
import { allVersions, movesTraffic } from "../../engine/weights.ts";
import { getPath, parseFieldPath } from "../../kinds/fieldpath.ts";
import { type TrafficKind, trafficKindFor } from "../../kinds/index.ts";
import { isRecord } from "../../lib/objects.ts";
import { versionLabel } from "../../metrics/index.ts";
import { compileRoutes } from "../../router/index.ts";
import { findObject } from "./held-objects.ts";
import { mayRun, type TaskPermission, taskCommand } from "./safe-tasks.ts";
import type { Tutorial } from "./tutorial.ts";

type Obj = Record<string, unknown>;

export interface PreflightOptions {
  permission: TaskPermission;
  /** Fixed loopback ports the run will listen on: flag name -> port. */
  ports: Record<string, number>;
  /** Whether the run starts its own Prometheus. */
  startsPrometheus: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Every metric the criteria name resolves (as the engine will resolve it), with its sampleSize. */
async function metricProblems(t: Tutorial): Promise<string[]> {
  const exp = t.experiment;
  const c = exp.spec.criteria ?? {};
  const refs: Array<[string, string]> = [
    ...(c.objectives ?? []).map((o, i): [string, string] => [
      `spec.criteria.objectives[${i}].metric`,
      o.metric,
    ]),
    ...(c.rewards ?? []).map((r, i): [string, string] => [`spec.criteria.rewards[${i}].metric`, r.metric]),
    ...(c.indicators ?? []).map((m, i): [string, string] => [`spec.criteria.indicators[${i}]`, m]),
  ];
  const lookup: Pick<ExperimentStore, "getMetric"> = {
    getMetric: async (k) =>
      t.metrics.find((m) => m.metadata.name === k.name && namespaceOf(m) === k.namespace),
  };
  const out: string[] = [];
  for (const [field, ref] of refs) {
    const one = { ...exp, spec: { ...exp.spec, criteria: { indicators: [ref] } } };
    const r = await resolveMetrics(one, lookup as ExperimentStore, DEFAULT_INSTALL_NAMESPACE);
    if (!r.ok)
      out.push(
        `${t.experimentFile}: Experiment ${exp.metadata.name}: ${field}: ${r.message} (known: the directory's Metrics and the ${t.metricsBackend} set, e.g. iter8-system/mean-latency)`,
      );
  }
  return out;
}

/** Is `program` runnable: a path to an executable file, or a name found on PATH? */
export function findProgram(program: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const executable = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (program.includes("/")) return executable(program) ? program : undefined;
  for (const dir of (env["PATH"] ?? "").split(delimiter)) {
    if (dir && executable(join(dir, program))) return join(dir, program);
  }
  return undefined;
}

function versionField(i: number): string {
  return i === 0 ? "spec.versionInfo.baseline" : `spec.versionInfo.candidates[${i - 1}]`;
}

/** Each version's commands: on PATH (or an executable file of the lab directory). */
function commandProblems(t: Tutorial, env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const w of t.workloads) {
    const program = w.argv?.[0];
    if (program === undefined || program === "iter8") continue;
    if (!findProgram(program, env))
      out.push(
        `${w.field}[0]: ${program} ${program.includes("/") ? "is not an executable file" : "is not on PATH"} (version ${w.name})`,
      );
  }
  return out;
}

function taskProblems(t: Tutorial, o: PreflightOptions, env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  const exp = t.experiment;
  const where = `${t.experimentFile}: Experiment ${exp.metadata.name}`;
  for (const [action, specs] of Object.entries(exp.spec.strategy.actions ?? {})) {
    (specs ?? []).forEach((s, i) => {
      const field = `${where}: spec.strategy.actions.${action}[${i}]`;
      const cmd = taskCommand(s);
      const mapped = t.lab.helm?.command === cmd;
      if (
        cmd !== undefined &&
        !mapped &&
        mayRun(s, o.permission) &&
        !findProgram(cmd === "bash" ? "/bin/bash" : cmd, env)
      )
        out.push(`${field}.with.cmd: ${cmd} is not on PATH`);
      if (s.task === "knative/init-experiment") out.push(...knativeInitProblems(t, field));
    });
  }
  return out;
}

/** `knative/init-experiment` fills Canary (one candidate) and Conformance versions from a Knative Service. */
function knativeInitProblems(t: Tutorial, field: string): string[] {
  const exp = t.experiment;
  const pattern = exp.spec.strategy.testingPattern;
  if (t.lab.versions)
    return [
      `${field}.task: knative/init-experiment reads a Knative Service; with ${t.lab.file} versions there is none (remove the task)`,
    ];
  if (pattern !== "Canary" && pattern !== "Conformance")
    return [
      `${field}.task: knative/init-experiment supports the Canary and Conformance testing patterns, not ${pattern}`,
    ];
  const out: string[] = [];
  if (pattern === "Canary" && (exp.spec.versionInfo?.candidates ?? []).length !== 1)
    out.push(`${field}.task: knative/init-experiment needs exactly one candidate for Canary`);
  allVersions(exp).forEach((v, i) => {
    if (!v.variables?.some((x) => x.name === "revision"))
      out.push(
        `${t.experimentFile}: Experiment ${exp.metadata.name}: ${versionField(i)}.variables: needs a "revision" variable for knative/init-experiment`,
      );
  });
  return out;
}

/** The held object a weightObjRef names (the newest manifest of that kind and name), with its kind. */
function refTarget(
  t: Tutorial,
  exp: Experiment,
  v: VersionDetail,
): { obj: Obj; kind: TrafficKind } | undefined {
  const w = v.weightObjRef!;
  const ns = w.namespace || exp.metadata.namespace || "default";
  const kind = trafficKindFor({ kind: w.kind ?? "", apiVersion: w.apiVersion });
  const obj = kind ? findObject(t.routing, kind, ns, w.name ?? "") : undefined;
  return kind && obj ? { obj, kind } : undefined;
}

/** Each weightObjRef.fieldPath names a number (or an Istio/Knative weight left out) in its object. */
function fieldPathProblems(t: Tutorial): string[] {
  const exp = t.experiment;
  const out: string[] = [];
  allVersions(exp).forEach((v, i) => {
    const w = v.weightObjRef;
    if (!w?.fieldPath || t.lab.versions) return;
    const field = `${t.experimentFile}: Experiment ${exp.metadata.name}: ${versionField(i)}.weightObjRef.fieldPath`;
    const target = refTarget(t, exp, v);
    if (!target) return; // reported by the manifests checks
    const { obj, kind } = target;
    let path: (string | number)[];
    try {
      path = parseFieldPath(w.fieldPath);
    } catch (e) {
      out.push(`${field}: ${(e as Error).message}`);
      return;
    }
    const parent = getPath(obj, path.slice(0, -1));
    const value = getPath(obj, path);
    // A weight field left out means what the kind says (Istio 0, Gateway API 1).
    const implicit = value === undefined && isRecord(parent) && kind.absentWeight(path) !== undefined;
    if (typeof value !== "number" && !implicit)
      out.push(
        `${field}: ${w.fieldPath} ${value === undefined ? "does not exist" : `holds ${JSON.stringify(value)}, not a number`} in ${w.kind} ${w.name}`,
      );
  });
  return out;
}

/** Load generators exist and every version is a destination of some route. */
function trafficProblems(t: Tutorial): string[] {
  const out: string[] = [];
  if (t.generators.length === 0)
    out.push(
      `${t.lab.file}: traffic: nothing sends requests (no load Job in the manifests, no load in the lab)`,
    );
  // A split that never changes never sends traffic to a version it gives 0 %.
  if (t.lab.versions && !movesTraffic(t.experiment))
    for (const v of t.lab.versions)
      if (v.weight === 0 && allVersions(t.experiment).length > 1)
        out.push(
          `${t.lab.file}: versions.${v.name}.weight: 0 in a ${t.experiment.spec.strategy.deploymentPattern ?? "FixedSplit"} experiment: nothing would send it traffic`,
        );
  const upstreams: Record<string, string> = {};
  for (const w of t.workloads) upstreams[w.name] = "127.0.0.1:1";
  let versions: readonly string[];
  try {
    versions = compileRoutes(t.routing, upstreams).versions;
  } catch {
    return out; // reported by the manifests checks
  }
  const exp = t.experiment;
  // knative/init-experiment fills the revisions at start; they are checked then.
  allVersions(exp).forEach((v, i) => {
    const label = versionLabel(v);
    if (v.variables?.some((x) => x.name === "revision") || v.weightObjRef || t.lab.versions) {
      if (!versions.includes(label))
        out.push(
          `${t.experimentFile}: Experiment ${exp.metadata.name}: ${versionField(i)}: no route sends traffic to ${label} (routes reach ${versions.join(", ") || "nothing"})`,
        );
    }
  });
  return out;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** Every problem that would stop the run later; empty when it can start. */
export async function preflight(t: Tutorial, o: PreflightOptions): Promise<string[]> {
  const env = o.env ?? process.env;
  const problems = [
    ...(await metricProblems(t)),
    ...commandProblems(t, env),
    ...taskProblems(t, o, env),
    ...fieldPathProblems(t),
    ...trafficProblems(t),
  ];
  if (o.startsPrometheus) {
    const bin = env["ITER8_PROMETHEUS_BIN"] ?? "prometheus";
    if (!findProgram(bin, env))
      problems.push(
        `--metrics prometheus: ${bin} is not on PATH (install Prometheus, set ITER8_PROMETHEUS_BIN, use --prometheus-url for one that runs, or --metrics builtin)`,
      );
  }
  for (const [flag, port] of Object.entries(o.ports)) {
    if (!(await portFree(port))) problems.push(`${flag}: port ${port} on 127.0.0.1 is in use`);
  }
  return problems;
}
