// The lab file (`lab.yaml`): the one file beside a tutorial's unchanged Kubernetes manifests that says
// how to play, on one machine, what only a cluster can run. Schema (every field named in errors):
//
//   images:                      # container image -> local command (every image a Knative Service uses)
//     gcr.io/knative-samples/knative-route-demo:blue:
//       command: [iter8, sample-app]   # argv; "iter8" is this iter8. The container's env is passed,
//       args: [--seed, "1"]            #   PORT is set to a free loopback port. `args` are appended.
//   revisions:                   # optional, per Knative revision: extra args/env (inject latency, errors)
//     sample-app-v2: { args: [--latency, 80ms], env: { K: V } }
//   traffic:                     # optional: settings for the load generators replacing batch Jobs
//     - job: curl                # a Job of the manifests; Jobs not listed are derived from their command
//       container: curl-from-wakanda   # which container (default: every container that sends requests)
//       url: http://example.com/       # request URL; its host is the Host header sent to the gateway
//       headers: { country: wakanda }  # added to / replacing the derived headers
//       qps: 20                  # requests per second (derived: 1 / the loop's sleep, Fortio -qps or 8)
//       connections: 1           # parallel connections (default 1 for curl, Fortio -c or 4)
//       duration: 120s           # how long (derived: Fortio -t; curl loops: until the run ends)
//       delay: 0s                # wait before starting (derived: a `sleep` before the curl loop)
//   helm:                        # optional: the Helm release a task upgrades (seed 001's finish action)
//     command: helm              # the `common/exec` cmd this replaces (default helm)
//     release: sample-app
//     service: default/sample-app      # the Knative Service the chart renders
//     values:                    # values file URL as the task passes it -> local file (relative to the lab)
//       https://example.org/candidate-values.yaml: helm/candidate-values.yaml
//     render:                    # values key -> the Service field the chart sets from it; a key absent
//       name: .spec.template.metadata.name   # from the values file removes that field
//       traffic: .spec.traffic
//   metrics: builtin | prometheus      # optional default for --metrics
//   manifests: [services.yaml, ...]    # optional: which files hold the manifests (default: every
//                                      #   *.yaml / *.yml beside lab.yaml except lab.yaml)

//
// The services form needs no Kubernetes manifests: only an experiment.yaml whose versionInfo names
// the versions below. The local router is the target (no weightObjRef).
//
//   versions:                    # version name -> how to run it; it gets PORT in its environment
//     v1: { command: [node, server.js], env: { VERSION: v1 } }   # relative to the lab's directory,
//     v2: { command: [./server.sh], weight: 20 }                 #   which is also the working dir
//     v3: { url: http://127.0.0.1:8081 }                          # or one that already runs
//   load: { qps: 20, duration: 120s, connections: 4, path: /, headers: { x-user: test } }
//
// Both forms:
//   readyTimeout: 20s            # how long a version process may take to answer HTTP (--ready-timeout)
//   runTasks: [kubectl, bash]    # common/exec commands (bash: common/bash) that really run locally;
//                                #   true: all of them. Others are printed as a dry run (--run-tasks).

import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { parseFieldPath } from "../../kinds/fieldpath.ts";
import { isRecord } from "../../lib/objects.ts";
import { parseDuration } from "../../loadgen/duration.ts";
import { ProblemsError } from "./errors.ts";
import { labSchemaProblems } from "./lab-schema.ts";

export interface ImageCommand {
  command: string[];
  args: string[];
}

export interface RevisionOverride {
  args: string[];
  env: Record<string, string>;
}

/** A traffic Job's load as far as it is known: read from its command, or set in the lab's `traffic`. */
export interface LoadFields {
  url?: string;
  headers: Record<string, string>;
  qps?: number;
  connections?: number;
  durationMs?: number;
  delayMs?: number;
}

/** A lab `traffic` entry: load fields that override what the Job's own command says. */
export interface TrafficSetting extends LoadFields {
  job: string;
  container?: string;
}

export interface HelmMapping {
  command: string;
  release: string;
  service: { namespace: string; name: string };
  /** URL as written in the task -> absolute local path. */
  values: Record<string, string>;
  render: Record<string, string>;
}

/** One version of the services form: a command to run, or an address that already serves. */
export interface VersionEntry {
  name: string;
  /** argv; a relative program (`./server.sh`) is already resolved against the lab's directory. */
  command?: string[];
  env: Record<string, string>;
  /** HOST:PORT of a version that already runs. */
  address?: string;
  /** Initial traffic percentage (default: an even split). */
  weight?: number;
}

export interface LoadSetting {
  qps: number;
  connections: number;
  /** Undefined: until the run ends. */
  durationMs?: number;
  path: string;
  headers: Record<string, string>;
}

export type MetricsBackend = "builtin" | "prometheus";

export interface Lab {
  file: string;
  dir: string;
  images: Record<string, ImageCommand>;
  revisions: Record<string, RevisionOverride>;
  traffic: TrafficSetting[];
  helm?: HelmMapping;
  metrics?: MetricsBackend;
  manifests?: string[];
  /** The services form: present when the lab lists `versions`. */
  versions?: VersionEntry[];
  load?: LoadSetting;
  readyTimeoutMs?: number;
  /** common/exec commands allowed to run (`bash` for common/bash); true: every task. */
  runTasks?: true | string[];
}

/** A bad lab file: every problem, each naming the file and field. */
export class LabError extends ProblemsError {
  override readonly name = "LabError";
}

type Obj = Record<string, unknown>;

const TUTORIAL_ONLY = ["images", "revisions", "traffic", "helm", "manifests"];
export const DEFAULT_LOAD: Omit<LoadSetting, "headers"> = { qps: 10, connections: 2, path: "/" };

type Report = (field: string, msg: string) => void;

/** The single YAML mapping of the lab file, or a LabError. */
function readRoot(text: string, file: string): Obj {
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  const nonEmpty = (Array.isArray(docs) ? docs : []).filter((d) => d.contents !== null);
  if (nonEmpty.length !== 1) {
    throw new LabError([`${file}: must hold exactly one YAML document, found ${nonEmpty.length}`]);
  }
  const doc = nonEmpty[0]!;
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new LabError([
      `${file}: not valid YAML${pos ? ` at line ${pos.line}, column ${pos.col}` : ""}: ${e.message.split("\n")[0]}`,
    ]);
  }
  const root = doc.toJS() as unknown;
  if (!isRecord(root))
    throw new LabError([
      `${file}: must be a mapping (images and the other tutorial fields, or versions and load)`,
    ]);
  return root;
}

/** Parses and validates the lab file text; `file` names it in errors, `dir` resolves relative paths. */
export function parseLab(text: string, file: string, dir: string): Lab {
  const root = readRoot(text, file);
  const problems = labSchemaProblems(root).map((p) => `${file}: ${p}`);
  const p: Report = (field, msg) => problems.push(`${file}: ${field}: ${msg}`);
  const lab: Lab = { file, dir, images: {}, revisions: {}, traffic: [], runTasks: [] };
  if (root["versions"] !== undefined) {
    for (const k of TUTORIAL_ONLY)
      if (root[k] !== undefined)
        p(k, "belongs to the Kubernetes-manifests form; a lab with versions runs them directly");
    if (problems.length === 0) readVersions(root, lab, p);
  } else if (root["images"] === undefined) {
    p("images", "is required: map each container image to a local command (or list versions to run)");
  } else if (root["load"] !== undefined) {
    p("load", "belongs to the versions form; the manifests' Jobs send the load (see traffic)");
  }
  if (problems.length === 0) {
    readTutorialFields(root, lab, p);
    readCommon(root, lab, p);
  } else {
    // The shapes are wrong somewhere: still report what only these checks can find.
    tryQuietly(() => readCommon(root, lab, p));
  }
  if (problems.length > 0) throw new LabError([...new Set(problems)]);
  return lab;
}

function tryQuietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // a field of the wrong type: the schema has reported it
  }
}

function durationOf(v: unknown, field: string, p: Report): number | undefined {
  if (v === undefined) return undefined;
  try {
    if (typeof v === "number") {
      if (!(v >= 0)) throw new Error("must be >= 0");
      return v * 1000;
    }
    if (typeof v !== "string") return undefined;
    return parseDuration(v, field);
  } catch (e) {
    const msg = (e as Error).message;
    p(field, msg.startsWith(`${field}: `) ? msg.slice(field.length + 2) : msg);
    return undefined;
  }
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isRecord(v)) for (const [k, x] of Object.entries(v)) out[k] = String(x);
  return out;
}

function readTutorialFields(root: Obj, lab: Lab, p: Report): void {
  for (const [image, spec] of Object.entries((root["images"] ?? {}) as Record<string, Obj>))
    lab.images[image] = { command: strings(spec["command"]), args: strings(spec["args"]) };
  for (const [rev, spec] of Object.entries((root["revisions"] ?? {}) as Record<string, Obj>))
    lab.revisions[rev] = { args: strings(spec["args"]), env: stringMap(spec["env"]) };
  ((root["traffic"] ?? []) as Obj[]).forEach((t, i) => {
    lab.traffic.push(trafficSetting(t, `traffic[${i}]`, p));
  });
  if (root["helm"] !== undefined) readHelm(root["helm"] as Obj, lab, p);
  if (root["manifests"] !== undefined) {
    const m = strings(root["manifests"]);
    m.forEach((f, i) => {
      if (!existsSync(resolve(lab.dir, f))) p(`manifests[${i}]`, `file ${f} does not exist`);
    });
    lab.manifests = m;
  }
}

function trafficSetting(t: Obj, f: string, p: Report): TrafficSetting {
  const s: TrafficSetting = { job: String(t["job"]), headers: stringMap(t["headers"]) };
  if (typeof t["container"] === "string") s.container = t["container"];
  if (typeof t["url"] === "string") s.url = t["url"];
  if (typeof t["qps"] === "number") s.qps = t["qps"];
  if (typeof t["connections"] === "number") s.connections = t["connections"];
  const d = durationOf(t["duration"], `${f}.duration`, p);
  if (d !== undefined) s.durationMs = d;
  const dl = durationOf(t["delay"], `${f}.delay`, p);
  if (dl !== undefined) s.delayMs = dl;
  return s;
}

function readHelm(helm: Obj, lab: Lab, p: Report): void {
  const values: Record<string, string> = {};
  for (const [url, local] of Object.entries(helm["values"] as Record<string, string>)) {
    const path = resolve(lab.dir, local);
    if (!existsSync(path)) p(`helm.values["${url}"]`, `file ${local} does not exist (looked in ${lab.dir})`);
    values[url] = path;
  }
  const render: Record<string, string> = {};
  for (const [key, path] of Object.entries(helm["render"] as Record<string, string>)) {
    try {
      parseFieldPath(path);
      render[key] = path;
    } catch (e) {
      p(`helm.render.${key}`, (e as Error).message);
    }
  }
  const [namespace, name] = String(helm["service"]).split("/") as [string, string];
  lab.helm = {
    command: typeof helm["command"] === "string" ? helm["command"] : "helm",
    release: String(helm["release"]),
    service: { namespace, name },
    values,
    render,
  };
}

/** A program named with a path (`./server.sh`, `bin/app`) is the lab directory's; a bare name is PATH's. */
export function resolveProgram(program: string, dir: string): string {
  return program.includes("/") && !isAbsolute(program) ? resolve(dir, program) : program;
}

function readVersions(root: Obj, lab: Lab, p: Report): void {
  const versions: VersionEntry[] = [];
  for (const [name, spec] of Object.entries(root["versions"] as Record<string, Obj>)) {
    const f = `versions.${name}`;
    const hasCommand = spec["command"] !== undefined;
    if (hasCommand === (spec["url"] !== undefined)) {
      p(f, "needs exactly one of command (a process to start) and url (a version that already runs)");
      continue;
    }
    if (spec["url"] !== undefined && spec["env"] !== undefined)
      p(`${f}.env`, "only a command gets an environment; this version is a url");
    const v: VersionEntry = { name, env: stringMap(spec["env"]) };
    if (hasCommand) {
      const argv = strings(spec["command"]);
      v.command = [resolveProgram(argv[0]!, lab.dir), ...argv.slice(1)];
    } else {
      const u = new URL(String(spec["url"]));
      if (u.pathname !== "/" || u.search)
        p(`${f}.url`, "must be http://HOST:PORT (the load's path applies to every version)");
      v.address = `${u.hostname}:${u.port || "80"}`;
    }
    if (typeof spec["weight"] === "number") v.weight = spec["weight"];
    versions.push(v);
  }
  const fixed = versions.reduce((s, v) => s + (v.weight ?? 0), 0);
  if (fixed > 100) p("versions", `the weights add up to ${fixed}, more than 100`);
  else if (versions.every((v) => v.weight !== undefined) && fixed !== 100)
    p("versions", `the weights add up to ${fixed}, not 100`);
  lab.versions = versions;
  const load = isRecord(root["load"]) ? root["load"] : {};
  lab.load = {
    qps: typeof load["qps"] === "number" ? load["qps"] : DEFAULT_LOAD.qps,
    connections: typeof load["connections"] === "number" ? load["connections"] : DEFAULT_LOAD.connections,
    path: typeof load["path"] === "string" ? load["path"] : DEFAULT_LOAD.path,
    headers: stringMap(load["headers"]),
  };
  const d = durationOf(load["duration"], "load.duration", p);
  if (d !== undefined) lab.load.durationMs = d;
}

function readCommon(root: Obj, lab: Lab, p: Report): void {
  const ready = durationOf(root["readyTimeout"], "readyTimeout", p);
  if (ready !== undefined) {
    if (ready > 0) lab.readyTimeoutMs = ready;
    else p("readyTimeout", "must be longer than 0s");
  }
  if (root["runTasks"] === true) lab.runTasks = true;
  else if (Array.isArray(root["runTasks"])) lab.runTasks = strings(root["runTasks"]);
  if (root["metrics"] === "builtin" || root["metrics"] === "prometheus") lab.metrics = root["metrics"];
}
