// Reads a lab directory: the lab file plus either a tutorial's unchanged Kubernetes manifests
// (manifests-form.ts) or just an experiment for the versions the lab runs (services-form.ts), and
// checks that everything a local run needs is there and consistent before anything starts. Every
// problem names the file and field; all problems are reported together.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { type Experiment, formatProblem, loadDocuments, type Metric } from "../../api/index.ts";
import { namespaceOf } from "../../api/refs.ts";
import { isRecord } from "../../lib/objects.ts";
import { TutorialError } from "./errors.ts";
import { type Lab, LabError, type MetricsBackend, parseLab } from "./lab.ts";
import { checkExperimentAgainstLab, type Manifest, manifestsForm, type Revision } from "./manifests-form.ts";
import { servicesForm, servicesProblems } from "./services-form.ts";
import type { LoadGenerator } from "./traffic.ts";
import { knativeRevisions, knativeWorkload, type Workload } from "./workloads.ts";

export type { Manifest, Revision } from "./manifests-form.ts";

export const LAB_FILE = "lab.yaml";

type Obj = Record<string, unknown>;

export interface Tutorial {
  dir: string;
  lab: Lab;
  /** The experiment to run (in the services form, its versions point at the router object). */
  experiment: Experiment;
  /** The experiment document as written (labels as written, for describe). */
  experimentSource: unknown;
  experimentFile: string;
  /** The tutorial's Metrics and the "installed" sample set for the backend, tutorial's first. */
  metrics: Metric[];
  /** Knative Services (every revision's manifest, in order), VirtualServices and HTTPRoutes. */
  routing: Obj[];
  /** The Knative revisions of the manifests form (empty in the services form). */
  revisions: Revision[];
  /** What runs for each version, derived from `routing` (or the lab's versions). */
  workloads: Workload[];
  generators: LoadGenerator[];
  metricsBackend: MetricsBackend;
  /** Things worth saying that do not stop the run (a container command that is not used). */
  warnings: string[];
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

/** The installed metrics themselves (`iter8 get metrics` lists them without a cluster). */
export function installedMetrics(backend: MetricsBackend): Metric[] {
  return installedMetricFiles(backend).flatMap(readMetricFile);
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

const key = (m: Metric) => `${namespaceOf(m)}/${m.metadata.name}`;

export interface LoadTutorialOptions {
  metrics?: MetricsBackend;
  /** Replaces the lab file (tests, `--lab`). */
  labFile?: string;
}

function readLab(dir: string, opts: LoadTutorialOptions): Lab {
  const labPath = opts.labFile ? resolve(opts.labFile) : join(dir, LAB_FILE);
  let labText: string;
  try {
    labText = readFileSync(labPath, "utf8");
  } catch {
    throw new TutorialError([
      `${labPath}: missing lab file: it lists the versions to run (or maps what cannot run off-cluster: images, load Jobs, Helm); see examples/*/lab.yaml or iter8 local init`,
    ]);
  }
  try {
    return parseLab(labText, opts.labFile ? labPath : LAB_FILE, dir);
  } catch (e) {
    if (e instanceof LabError) throw new TutorialError(e.problems);
    throw e;
  }
}

/** Every Kubernetes object of the manifest files (default: every *.yaml beside the lab file). */
function readManifests(
  dir: string,
  dirArg: string,
  lab: Lab,
  labPath: string,
  problems: string[],
): Manifest[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (e) {
    throw new TutorialError([`${dirArg}: cannot read the directory: ${(e as Error).message}`]);
  }
  const files =
    lab.manifests ??
    entries.filter((f) => /\.ya?ml$/.test(f) && f !== LAB_FILE && join(dir, f) !== labPath).sort();
  if (files.length === 0) problems.push(`${dirArg}: no manifest files (*.yaml) beside the lab file`);
  const manifests: Manifest[] = [];
  for (const f of files) {
    const docs = parseAllDocuments(readFileSync(join(dir, f), "utf8"), { uniqueKeys: true });
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
      if (!isRecord(obj) || typeof obj["kind"] !== "string" || typeof obj["apiVersion"] !== "string") {
        problems.push(`${f}: document ${i + 1}: not a Kubernetes object (needs apiVersion and kind)`);
        return;
      }
      manifests.push({ file: f, doc: i + 1, obj });
    });
  }
  return manifests;
}

/** The directory's Metrics, then the installed set for the backend (the directory's win). */
function readMetrics(manifests: Manifest[], backend: MetricsBackend, problems: string[]): Metric[] {
  const metrics: Metric[] = [];
  for (const m of manifests.filter((x) => isIter8(x) && x.obj["kind"] === "Metric")) {
    const [d] = loadDocuments(JSON.stringify(m.obj));
    if (d?.resource && d.problems.length === 0) metrics.push(d.resource as Metric);
    else
      problems.push(
        `${m.file}: document ${m.doc} (Metric): ${d?.error ?? d?.problems.map(formatProblem).join("; ")}`,
      );
  }
  for (const m of installedMetrics(backend)) if (!metrics.some((x) => key(x) === key(m))) metrics.push(m);
  return metrics;
}

const isIter8 = (m: Manifest) => String(m.obj["apiVersion"]).startsWith("iter8.tools/");

interface LoadedExperiment {
  experiment?: Experiment;
  file: string;
  source: unknown;
}

function readExperiment(
  manifests: Manifest[],
  metrics: Metric[],
  dirArg: string,
  problems: string[],
): LoadedExperiment {
  const exps = manifests.filter((x) => isIter8(x) && x.obj["kind"] === "Experiment");
  if (exps.length !== 1) {
    problems.push(
      `${dirArg}: needs exactly one Experiment among the manifests, found ${exps.length}${exps.length ? ` (${exps.map((e) => e.file).join(", ")})` : ""}`,
    );
    return { file: "", source: undefined };
  }
  const m = exps[0]!;
  const metricExists = (ns: string, name: string) => metrics.some((x) => key(x) === `${ns}/${name}`);
  const [d] = loadDocuments(JSON.stringify(m.obj), { metricExists });
  if (d?.resource && d.problems.length === 0) {
    const experiment = d.resource as Experiment;
    experiment.metadata.namespace ??= "default";
    return { experiment, file: m.file, source: m.obj };
  }
  const name = d?.name ?? "(unnamed)";
  for (const p of d?.problems ?? []) problems.push(`${m.file}: Experiment ${name}: ${formatProblem(p)}`);
  if (d?.error) problems.push(`${m.file}: ${d.error}`);
  return { file: m.file, source: m.obj };
}

export function loadTutorial(dirArg: string, opts: LoadTutorialOptions = {}): Tutorial {
  const dir = resolve(dirArg);
  const lab = readLab(dir, opts);
  const labPath = opts.labFile ? resolve(opts.labFile) : join(dir, LAB_FILE);
  const problems: string[] = [];
  const manifests = readManifests(dir, dirArg, lab, labPath, problems);
  const backend = opts.metrics ?? lab.metrics ?? "builtin";
  const metrics = readMetrics(manifests, backend, problems);
  const { experiment, file, source } = readExperiment(manifests, metrics, dirArg, problems);
  const base = { dir, lab, experimentSource: source, experimentFile: file, metrics, metricsBackend: backend };

  if (lab.versions) {
    for (const m of manifests.filter((x) => !isIter8(x)))
      problems.push(
        `${m.file}: document ${m.doc}: ${String(m.obj["kind"])}: a lab with versions runs them directly; Kubernetes manifests belong to the images form`,
      );
    if (experiment) problems.push(...servicesProblems(experiment, file, lab));
    if (problems.length > 0 || !experiment) throw new TutorialError(problems);
    const form = servicesForm(experiment, lab);
    return { ...base, ...form, revisions: [], warnings: [] };
  }

  const form = manifestsForm(manifests, lab, problems);
  if (experiment) problems.push(...checkExperimentAgainstLab(experiment, file, lab, form.routing));
  const routing = form.routing.map((m) => m.obj);
  const warnings: string[] = [];
  const workloads: Workload[] = [];
  for (const rev of knativeRevisions(routing)) {
    const w = knativeWorkload(rev, lab, (msg) => warnings.push(msg));
    if (typeof w !== "string") workloads.push(w);
  }
  if (problems.length > 0 || !experiment) throw new TutorialError(problems);
  return {
    ...base,
    experiment,
    routing,
    revisions: form.revisions,
    workloads,
    generators: form.generators,
    warnings,
  };
}
