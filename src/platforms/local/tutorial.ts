// Reads a tutorial directory: its unchanged Kubernetes manifests plus the lab file, and checks that
// everything a local run needs is there and consistent before anything starts. Every problem names
// the file and field; all problems are reported together.

import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { type Experiment, formatProblem, loadDocuments, type Metric } from "../../api/index.ts";
import { trafficKindOf, trafficKindTitles } from "../../kinds/index.ts";
import { knativeManifests, knativeService } from "../../kinds/knative.ts";
import { compileRoutes, RouteTableError } from "../../router/index.ts";
import { parseHelmArgs } from "./cluster.ts";
import { TutorialError } from "./errors.ts";
import { type Lab, LabError, type MetricsBackend, parseLab } from "./lab.ts";
import { type LoadGenerator, loadGeneratorsFor } from "./traffic.ts";

export const LAB_FILE = "lab.yaml";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** A Kubernetes object from a manifest file. */
export interface Manifest {
  file: string;
  /** 1-based document index in its file. */
  doc: number;
  obj: Obj;
}

/** One Knative revision: what to run for it. */
export interface Revision {
  name: string;
  namespace: string;
  service: string;
  image: string;
  env: Record<string, string>;
  where: string;
}

export interface Tutorial {
  dir: string;
  lab: Lab;
  experiment: Experiment;
  /** The experiment document as written (labels as written, for describe). */
  experimentSource: unknown;
  experimentFile: string;
  /** The tutorial's Metrics and the "installed" sample set for the backend, tutorial's first. */
  metrics: Metric[];
  /** Knative Services (every revision's manifest, in order), VirtualServices and HTTPRoutes. */
  routing: Obj[];
  revisions: Revision[];
  generators: LoadGenerator[];
  metricsBackend: MetricsBackend;
}

export { TutorialError };

/** The package's deploy/metrics directory (works from src/ and from dist/). */
export function deployMetricsDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "../../../deploy/metrics");
}

/** The "installed" metrics: what `kubectl apply -f deploy/metrics/...` would have put in the cluster. */
export function installedMetricFiles(backend: MetricsBackend): string[] {
  const dir = deployMetricsDir();
  return backend === "prometheus"
    ? [join(dir, "iter8-knative.yaml"), join(dir, "iter8-system-prometheus.yaml")]
    : [join(dir, "iter8-knative-builtin.yaml"), join(dir, "builtin.yaml")];
}

function readMetricFile(path: string): Metric[] {
  const docs = loadDocuments(readFileSync(path, "utf8"));
  const out: Metric[] = [];
  for (const d of docs) {
    if (d.kind === "Metric" && d.resource && d.problems.length === 0) out.push(d.resource as Metric);
    else if (d.error || d.problems.length > 0)
      throw new Error(`${path}: ${d.error ?? d.problems.map(formatProblem).join("; ")}`);
  }
  return out;
}

const key = (m: Metric) => `${m.metadata.namespace ?? "default"}/${m.metadata.name}`;

export interface LoadTutorialOptions {
  metrics?: MetricsBackend;
  /** Replaces the lab file (tests, `--lab`). */
  labFile?: string;
}

export function loadTutorial(dirArg: string, opts: LoadTutorialOptions = {}): Tutorial {
  const dir = resolve(dirArg);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (e) {
    throw new TutorialError([`${dirArg}: cannot read the tutorial directory: ${(e as Error).message}`]);
  }
  const labPath = opts.labFile ? resolve(opts.labFile) : join(dir, LAB_FILE);
  let labText: string;
  try {
    labText = readFileSync(labPath, "utf8");
  } catch {
    throw new TutorialError([
      `${labPath}: missing lab file: it maps what cannot run off-cluster (images, load Jobs, Helm); see examples/*/lab.yaml`,
    ]);
  }
  let lab: Lab;
  try {
    lab = parseLab(labText, opts.labFile ? labPath : LAB_FILE, dir);
  } catch (e) {
    if (e instanceof LabError) throw new TutorialError(e.problems);
    throw e;
  }

  const problems: string[] = [];
  const files =
    lab.manifests ??
    entries.filter((f) => /\.ya?ml$/.test(f) && f !== LAB_FILE && join(dir, f) !== labPath).sort();
  if (files.length === 0) problems.push(`${dirArg}: no manifest files (*.yaml) beside the lab file`);

  const manifests: Manifest[] = [];
  for (const f of files) {
    const text = readFileSync(join(dir, f), "utf8");
    const docs = parseAllDocuments(text, { uniqueKeys: true });
    (Array.isArray(docs) ? docs : []).forEach((d, i) => {
      if (d.errors.length > 0) {
        const pos = d.errors[0]!.linePos?.[0];
        problems.push(
          `${f}: not valid YAML${pos ? ` at line ${pos.line}` : ""}: ${d.errors[0]!.message.split("\n")[0]}`,
        );
        return;
      }
      const obj = d.toJS() as unknown;
      if (obj === null || obj === undefined) return;
      if (!isObj(obj) || typeof obj["kind"] !== "string" || typeof obj["apiVersion"] !== "string") {
        problems.push(`${f}: document ${i + 1}: not a Kubernetes object (needs apiVersion and kind)`);
        return;
      }
      manifests.push({ file: f, doc: i + 1, obj });
    });
  }

  const backend = opts.metrics ?? lab.metrics ?? "builtin";
  const installed = installedMetricFiles(backend).flatMap(readMetricFile);

  // Metrics first (the experiment's bare references resolve against them).
  const tutorialMetrics: Metric[] = [];
  const iter8Docs = manifests.filter((m) => String(m.obj["apiVersion"]).startsWith("iter8.tools/"));
  for (const m of iter8Docs.filter((x) => x.obj["kind"] === "Metric")) {
    const [d] = loadDocuments(JSON.stringify(m.obj));
    if (d?.resource && d.problems.length === 0) tutorialMetrics.push(d.resource as Metric);
    else
      problems.push(
        `${m.file}: document ${m.doc} (Metric): ${d?.error ?? d?.problems.map(formatProblem).join("; ")}`,
      );
  }
  const metrics = [...tutorialMetrics];
  for (const m of installed) if (!metrics.some((x) => key(x) === key(m))) metrics.push(m);
  const metricExists = (ns: string, name: string) => metrics.some((m) => key(m) === `${ns}/${name}`);

  const exps = iter8Docs.filter((x) => x.obj["kind"] === "Experiment");
  let experiment: Experiment | undefined;
  let experimentFile = "";
  let experimentSource: unknown;
  if (exps.length !== 1) {
    problems.push(
      `${dirArg}: needs exactly one Experiment among the manifests, found ${exps.length}${exps.length ? ` (${exps.map((e) => e.file).join(", ")})` : ""}`,
    );
  } else {
    const m = exps[0]!;
    const [d] = loadDocuments(JSON.stringify(m.obj), { metricExists });
    experimentFile = m.file;
    experimentSource = m.obj;
    if (d?.resource && d.problems.length === 0) {
      experiment = d.resource as Experiment;
      experiment.metadata.namespace ??= "default";
    } else {
      const name = d?.name ?? "(unnamed)";
      for (const p of d?.problems ?? []) problems.push(`${m.file}: Experiment ${name}: ${formatProblem(p)}`);
      if (d?.error) problems.push(`${m.file}: ${d.error}`);
    }
  }

  // Routing objects and revisions.
  const routing: Manifest[] = [];
  const revisions: Revision[] = [];
  const jobs: Manifest[] = [];
  const revisionAt = new Map(knativeManifests(manifests.map((m) => m.obj)).map((k) => [k.index, k.revision]));
  for (const [index, m] of manifests.entries()) {
    const api = String(m.obj["apiVersion"]);
    const kind = m.obj["kind"];
    if (api.startsWith("iter8.tools/")) continue;
    const md = isObj(m.obj["metadata"]) ? m.obj["metadata"] : {};
    const name = String(md["name"] ?? "");
    const ns = typeof md["namespace"] === "string" && md["namespace"] ? md["namespace"] : "default";
    const label = `${m.file}: ${kind} ${ns}/${name}`;
    const trafficKind = trafficKindOf(m.obj);
    if (trafficKind === knativeService) {
      routing.push(m);
      const spec = isObj(m.obj["spec"]) ? m.obj["spec"] : {};
      const tpl = isObj(spec["template"]) ? spec["template"] : {};
      const tspec = isObj(tpl["spec"]) ? tpl["spec"] : {};
      const rev = revisionAt.get(index)!;
      const containers = Array.isArray(tspec["containers"]) ? tspec["containers"] : [];
      const c = containers[0];
      if (!isObj(c) || typeof c["image"] !== "string") {
        problems.push(`${label}: spec.template.spec.containers[0].image: is required`);
        continue;
      }
      if (containers.length > 1)
        problems.push(
          `${label}: spec.template.spec.containers: only one container per revision runs locally`,
        );
      const image = c["image"].trim();
      if (!lab.images[image]) {
        problems.push(
          `${label}: spec.template.spec.containers[0].image: ${image} is not mapped in ${lab.file} images`,
        );
      }
      const env: Record<string, string> = {};
      const envList = Array.isArray(c["env"]) ? c["env"] : [];
      envList.forEach((e, i) => {
        if (!isObj(e) || typeof e["name"] !== "string")
          problems.push(`${label}: spec.template.spec.containers[0].env[${i}].name: is required`);
        else if (e["valueFrom"] !== undefined)
          problems.push(
            `${label}: spec.template.spec.containers[0].env[${i}].valueFrom: not supported locally`,
          );
        else env[e["name"]] = String(e["value"] ?? "");
      });
      const existing = revisions.findIndex((r) => r.name === rev && r.namespace === ns);
      const r: Revision = { name: rev, namespace: ns, service: name, image, env, where: label };
      if (existing >= 0) revisions[existing] = r;
      else revisions.push(r);
    } else if (trafficKind) {
      if (routing.some((o) => trafficKindOf(o.obj) === trafficKind && sameName(o.obj, ns, name)))
        problems.push(`${label}: metadata.name: a ${String(kind)} of this name is already defined`);
      routing.push(m);
    } else if (kind === "Job" && api === "batch/v1") {
      jobs.push(m);
    } else {
      problems.push(
        `${m.file}: document ${m.doc}: ${api} ${String(kind)} is not supported locally (${trafficKindTitles()}, batch/v1 Job, iter8 Experiment and Metric are)`,
      );
    }
  }
  for (const rev of Object.keys(lab.revisions)) {
    if (!revisions.some((r) => r.name === rev))
      problems.push(`${lab.file}: revisions.${rev}: no Knative revision of that name in the manifests`);
  }

  // The routing objects must compile (placeholder addresses: nothing listens yet).
  const placeholder: Record<string, string> = {};
  for (const r of revisions) placeholder[r.name] = "127.0.0.1:1";
  try {
    compileRoutes(
      routing.map((m) => m.obj),
      placeholder,
    );
  } catch (e) {
    if (e instanceof RouteTableError) {
      for (const issue of e.issues) {
        const file = fileOf(routing, issue.object);
        problems.push(`${file}${issue.object ? `: ${issue.object}` : ""}: ${issue.path}: ${issue.message}`);
      }
    } else problems.push(`routing: ${(e as Error).message}`);
  }

  let generators: LoadGenerator[] = [];
  try {
    generators = loadGeneratorsFor(jobs, lab);
  } catch (e) {
    if (e instanceof TutorialError) problems.push(...e.problems);
    else throw e;
  }

  if (experiment) {
    problems.push(...checkExperimentAgainstLab(experiment, experimentFile, lab, routing));
  }
  if (problems.length > 0 || !experiment) throw new TutorialError(problems);
  return {
    dir,
    lab,
    experiment,
    experimentSource,
    experimentFile,
    metrics,
    routing: routing.map((m) => m.obj),
    revisions,
    generators,
    metricsBackend: backend,
  };
}

function versionsOf(exp: Experiment) {
  const info = exp.spec.versionInfo;
  return info ? [info.baseline, ...(info.candidates ?? [])] : [];
}

function sameName(obj: Obj, ns: string, name: string): boolean {
  const md = isObj(obj["metadata"]) ? obj["metadata"] : {};
  return md["name"] === name && ((md["namespace"] as string | undefined) || "default") === ns;
}

function fileOf(routing: Manifest[], object: string | undefined): string {
  if (!object) return basename(routing[0]?.file ?? "manifests");
  const m = /^(\S+) ([^/]+)\/(.+)$/.exec(object);
  if (!m) return "manifests";
  const found = routing.find((r) => sameName(r.obj, m[2]!, m[3]!));
  return found?.file ?? "manifests";
}

/** Commands the experiment's tasks run must exist locally or be mapped by the lab. */
function checkExperimentAgainstLab(exp: Experiment, file: string, lab: Lab, routing: Manifest[]): string[] {
  const problems: string[] = [];
  const name = exp.metadata.name;
  for (const [action, tasks] of Object.entries(exp.spec.strategy.actions ?? {})) {
    (tasks ?? []).forEach((t, i) => {
      const cmd = t.task === "common/exec" ? (t.with as Obj | undefined)?.["cmd"] : undefined;
      if (cmd === "helm" || (lab.helm && cmd === lab.helm.command)) {
        if (!lab.helm || lab.helm.command !== cmd) {
          problems.push(
            `${file}: Experiment ${name}: spec.strategy.actions.${action}[${i}].with.cmd: runs ${cmd}, which needs a cluster: map it with helm: in ${lab.file}`,
          );
          return;
        }
        // Whichever version is promoted, its values file must be mapped (checked now, not at the end).
        const args = (t.with as Obj | undefined)?.["args"];
        for (const v of versionsOf(exp)) {
          const vars: Record<string, string> = { name: v.name };
          for (const x of v.variables ?? []) vars[x.name] = x.value;
          const argv = (Array.isArray(args) ? args : []).map((a) =>
            String(a).replace(/\{\{-?\s*\.(\w+)\s*-?\}\}/g, (_, k: string) => vars[k] ?? ""),
          );
          try {
            const parsed = parseHelmArgs(argv);
            for (const url of parsed.values) {
              if (!lab.helm.values[url])
                problems.push(
                  `${lab.file}: helm.values: no local file for ${url} (what spec.strategy.actions.${action}[${i}] passes when version ${v.name} is promoted)`,
                );
            }
            if (parsed.release !== lab.helm.release)
              problems.push(
                `${lab.file}: helm.release: ${lab.helm.release}, but spec.strategy.actions.${action}[${i}] upgrades release ${parsed.release}`,
              );
          } catch (e) {
            problems.push(
              `${file}: Experiment ${name}: spec.strategy.actions.${action}[${i}].with.args: ${(e as Error).message}`,
            );
          }
        }
      }
    });
  }
  if (lab.helm) {
    const { namespace, name: svc } = lab.helm.service;
    if (!routing.some((m) => trafficKindOf(m.obj) === knativeService && sameName(m.obj, namespace, svc)))
      problems.push(`${lab.file}: helm.service: no Knative Service ${namespace}/${svc} in the manifests`);
  }
  const versions = versionsOf(exp);
  versions.forEach((v, i) => {
    const w = v.weightObjRef;
    if (!w) return;
    const field = i === 0 ? "spec.versionInfo.baseline" : `spec.versionInfo.candidates[${i - 1}]`;
    const ns = w.namespace || exp.metadata.namespace || "default";
    const found = routing.some(
      (m) =>
        m.obj["kind"] === w.kind &&
        (!w.apiVersion || String(m.obj["apiVersion"]).split("/")[0] === w.apiVersion.split("/")[0]) &&
        sameName(m.obj, ns, w.name ?? ""),
    );
    if (!found)
      problems.push(
        `${file}: Experiment ${name}: ${field}.weightObjRef: ${w.kind} ${ns}/${w.name} is not among the manifests`,
      );
  });
  return problems;
}
