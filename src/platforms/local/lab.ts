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

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { parseFieldPath } from "../../kinds/fieldpath.ts";
import { parseDuration } from "../../loadgen/duration.ts";

export interface ImageCommand {
  command: string[];
  args: string[];
}

export interface RevisionOverride {
  args: string[];
  env: Record<string, string>;
}

export interface TrafficSetting {
  job: string;
  container?: string;
  url?: string;
  headers: Record<string, string>;
  qps?: number;
  connections?: number;
  durationMs?: number;
  delayMs?: number;
}

export interface HelmMapping {
  command: string;
  release: string;
  service: { namespace: string; name: string };
  /** URL as written in the task -> absolute local path. */
  values: Record<string, string>;
  render: Record<string, string>;
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
}

/** A bad lab file: every problem, each naming the file and field. */
export class LabError extends Error {
  override readonly name = "LabError";
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join("\n"));
    this.problems = problems;
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

const TOP_FIELDS = ["images", "revisions", "traffic", "helm", "metrics", "manifests"];

/** Parses and validates the lab file text; `file` names it in errors, `dir` resolves relative paths. */
export function parseLab(text: string, file: string, dir: string): Lab {
  const problems: string[] = [];
  const p = (field: string, msg: string) => problems.push(`${file}: ${field}: ${msg}`);
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  const nonEmpty = list.filter((d) => d.contents !== null);
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
  if (!isObj(root)) throw new LabError([`${file}: must be a mapping with fields ${TOP_FIELDS.join(", ")}`]);
  for (const k of Object.keys(root)) {
    if (!TOP_FIELDS.includes(k)) p(k, `unknown field (expected one of ${TOP_FIELDS.join(", ")})`);
  }
  const lab: Lab = { file, dir, images: {}, revisions: {}, traffic: [] };

  const strings = (v: unknown, field: string, nonEmpty: boolean): string[] | undefined => {
    if (v === undefined) {
      if (!nonEmpty) return [];
      p(field, "is required");
      return undefined;
    }
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string" && typeof x !== "number")) {
      p(field, "must be a list of strings");
      return undefined;
    }
    if (nonEmpty && (v.length === 0 || v[0] === "")) {
      p(field, "must name a program (a non-empty list)");
      return undefined;
    }
    return v.map(String);
  };
  const stringMap = (v: unknown, field: string): Record<string, string> => {
    if (v === undefined) return {};
    if (!isObj(v)) {
      p(field, "must be a mapping of names to strings");
      return {};
    }
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) {
      if (typeof x !== "string" && typeof x !== "number" && typeof x !== "boolean") {
        p(`${field}.${k}`, "must be a string");
      } else out[k] = String(x);
    }
    return out;
  };
  const fields = (v: Obj, field: string, allowed: string[]) => {
    for (const k of Object.keys(v))
      if (!allowed.includes(k)) p(`${field}.${k}`, `unknown field (expected one of ${allowed.join(", ")})`);
  };
  const duration = (v: unknown, field: string): number | undefined => {
    if (v === undefined) return undefined;
    try {
      if (typeof v === "number") {
        if (!(v >= 0)) throw new Error("must be >= 0");
        return v * 1000;
      }
      if (typeof v !== "string") throw new Error("must be a duration such as 30s");
      return parseDuration(v, field);
    } catch (e) {
      const msg = (e as Error).message;
      p(field, msg.startsWith(`${field}: `) ? msg.slice(field.length + 2) : msg);
      return undefined;
    }
  };
  const positive = (v: unknown, field: string, integer: boolean): number | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !(v > 0) || (integer && !Number.isInteger(v)) || !Number.isFinite(v)) {
      p(field, `must be a positive ${integer ? "integer" : "number"}, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  };

  // images
  if (root["images"] === undefined) p("images", "is required: map each container image to a local command");
  else if (!isObj(root["images"])) p("images", "must be a mapping of container image to {command, args}");
  else {
    for (const [image, spec] of Object.entries(root["images"])) {
      const f = `images["${image}"]`;
      if (!isObj(spec)) {
        p(f, "must be a mapping with command (and optional args)");
        continue;
      }
      fields(spec, f, ["command", "args"]);
      const command = strings(spec["command"], `${f}.command`, true);
      const args = strings(spec["args"], `${f}.args`, false);
      if (command && args) lab.images[image] = { command, args };
    }
  }

  // revisions
  if (root["revisions"] !== undefined) {
    if (!isObj(root["revisions"])) p("revisions", "must be a mapping of revision name to {args, env}");
    else {
      for (const [rev, spec] of Object.entries(root["revisions"])) {
        const f = `revisions.${rev}`;
        if (!isObj(spec)) {
          p(f, "must be a mapping with args and/or env");
          continue;
        }
        fields(spec, f, ["args", "env"]);
        const args = strings(spec["args"], `${f}.args`, false);
        lab.revisions[rev] = { args: args ?? [], env: stringMap(spec["env"], `${f}.env`) };
      }
    }
  }

  // traffic
  if (root["traffic"] !== undefined) {
    if (!Array.isArray(root["traffic"])) p("traffic", "must be a list of load generator settings");
    else {
      root["traffic"].forEach((t, i) => {
        const f = `traffic[${i}]`;
        if (!isObj(t)) {
          p(f, "must be a mapping");
          return;
        }
        fields(t, f, ["job", "container", "url", "headers", "qps", "connections", "duration", "delay"]);
        if (typeof t["job"] !== "string" || t["job"] === "") {
          p(`${f}.job`, "is required: the name of a batch/v1 Job in the manifests");
          return;
        }
        const s: TrafficSetting = { job: t["job"], headers: stringMap(t["headers"], `${f}.headers`) };
        if (t["container"] !== undefined) {
          if (typeof t["container"] !== "string") p(`${f}.container`, "must be a string");
          else s.container = t["container"];
        }
        if (t["url"] !== undefined) {
          if (typeof t["url"] !== "string" || !/^http:\/\/[^/\s]+/.test(t["url"]))
            p(`${f}.url`, `must be an http:// URL, got ${JSON.stringify(t["url"])}`);
          else s.url = t["url"];
        }
        if (t["qps"] !== undefined) {
          const q = positive(t["qps"], `${f}.qps`, false);
          if (q !== undefined) s.qps = q;
        }
        const c = positive(t["connections"], `${f}.connections`, true);
        if (c !== undefined) s.connections = c;
        const d = duration(t["duration"], `${f}.duration`);
        if (d !== undefined) s.durationMs = d;
        const dl = duration(t["delay"], `${f}.delay`);
        if (dl !== undefined) s.delayMs = dl;
        lab.traffic.push(s);
      });
    }
  }

  // helm
  const helm = root["helm"];
  if (helm !== undefined) {
    if (!isObj(helm)) p("helm", "must be a mapping (command, release, service, values, render)");
    else {
      fields(helm, "helm", ["command", "release", "service", "values", "render"]);
      const command = helm["command"] ?? "helm";
      if (typeof command !== "string" || command === "" || command.includes("/"))
        p("helm.command", "must be a command name without a path, e.g. helm");
      if (typeof helm["release"] !== "string" || helm["release"] === "")
        p("helm.release", "is required: the Helm release name the task upgrades");
      const svc = helm["service"];
      const svcParts = typeof svc === "string" ? svc.split("/") : [];
      if (svcParts.length !== 2 || !svcParts[0] || !svcParts[1])
        p(
          "helm.service",
          `must be NAMESPACE/NAME of the Knative Service the chart renders, got ${JSON.stringify(svc)}`,
        );
      const values: Record<string, string> = {};
      if (!isObj(helm["values"]) || Object.keys(helm["values"]).length === 0)
        p("helm.values", "must map each values file URL the task passes to a local file");
      else {
        for (const [url, local] of Object.entries(helm["values"])) {
          if (typeof local !== "string" || local === "") {
            p(`helm.values["${url}"]`, "must be a file path");
            continue;
          }
          const path = resolve(dir, local);
          if (!existsSync(path))
            p(`helm.values["${url}"]`, `file ${local} does not exist (looked in ${dir})`);
          values[url] = path;
        }
      }
      const render: Record<string, string> = {};
      if (!isObj(helm["render"]) || Object.keys(helm["render"]).length === 0)
        p(
          "helm.render",
          "must map values keys to the Knative Service fields the chart sets (e.g. name: .spec.template.metadata.name)",
        );
      else {
        for (const [key, path] of Object.entries(helm["render"])) {
          if (typeof path !== "string") {
            p(`helm.render.${key}`, "must be a field path such as .spec.traffic");
            continue;
          }
          try {
            parseFieldPath(path);
            render[key] = path;
          } catch (e) {
            p(`helm.render.${key}`, (e as Error).message);
          }
        }
      }
      if (problems.length === 0) {
        lab.helm = {
          command: command as string,
          release: helm["release"] as string,
          service: { namespace: svcParts[0]!, name: svcParts[1]! },
          values,
          render,
        };
      }
    }
  }

  if (root["metrics"] !== undefined) {
    if (root["metrics"] !== "builtin" && root["metrics"] !== "prometheus")
      p("metrics", `must be builtin or prometheus, got ${JSON.stringify(root["metrics"])}`);
    else lab.metrics = root["metrics"];
  }
  if (root["manifests"] !== undefined) {
    const m = strings(root["manifests"], "manifests", false);
    if (m) {
      m.forEach((f, i) => {
        if (!existsSync(resolve(dir, f))) p(`manifests[${i}]`, `file ${f} does not exist`);
      });
      lab.manifests = m;
    }
  }
  if (problems.length > 0) throw new LabError(problems);
  return lab;
}
