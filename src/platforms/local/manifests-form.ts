// The Kubernetes-manifests form of a lab: a tutorial's unchanged Knative Services, Istio
// VirtualServices and batch Jobs beside the lab file, which maps their images to local commands, the
// Jobs to load generators and a Helm promotion to the held objects. Checked here, before start.

import { basename } from "node:path";
import type { Experiment } from "../../api/index.ts";
import { allVersions } from "../../engine/weights.ts";
import { trafficKindOf, trafficKindTitles } from "../../kinds/index.ts";
import { knativeManifests, knativeService } from "../../kinds/knative.ts";
import { isRecord } from "../../lib/objects.ts";
import { objectName } from "../../router/compile.ts";
import { compileRoutes, RouteTableError } from "../../router/index.ts";
import { parseHelmArgs } from "./cluster.ts";
import { TutorialError } from "./errors.ts";
import type { Lab } from "./lab.ts";
import { type LoadGenerator, loadGeneratorsFor } from "./traffic.ts";

type Obj = Record<string, unknown>;

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

export interface ManifestsForm {
  routing: Manifest[];
  revisions: Revision[];
  generators: LoadGenerator[];
}

function metaOf(o: Obj): { name: string; namespace: string } {
  const { name, namespace } = objectName(o);
  return { name: String(name ?? ""), namespace };
}

/** The revision a Knative Service manifest makes, or the problems that keep it from running. */
function revisionOf(
  m: Manifest,
  revision: string,
  lab: Lab,
  label: string,
  problems: string[],
): Revision | undefined {
  const { name, namespace } = metaOf(m.obj);
  const spec = isRecord(m.obj["spec"]) ? m.obj["spec"] : {};
  const tpl = isRecord(spec["template"]) ? spec["template"] : {};
  const tspec = isRecord(tpl["spec"]) ? tpl["spec"] : {};
  const containers = Array.isArray(tspec["containers"]) ? tspec["containers"] : [];
  const c = containers[0];
  if (!isRecord(c) || typeof c["image"] !== "string") {
    problems.push(`${label}: spec.template.spec.containers[0].image: is required`);
    return undefined;
  }
  if (containers.length > 1)
    problems.push(`${label}: spec.template.spec.containers: only one container per revision runs locally`);
  const image = c["image"].trim();
  if (!lab.images[image])
    problems.push(
      `${label}: spec.template.spec.containers[0].image: ${image} is not mapped in ${lab.file} images`,
    );
  const env: Record<string, string> = {};
  (Array.isArray(c["env"]) ? c["env"] : []).forEach((e, i) => {
    if (!isRecord(e) || typeof e["name"] !== "string")
      problems.push(`${label}: spec.template.spec.containers[0].env[${i}].name: is required`);
    else if (e["valueFrom"] !== undefined)
      problems.push(`${label}: spec.template.spec.containers[0].env[${i}].valueFrom: not supported locally`);
    else env[e["name"]] = String(e["value"] ?? "");
  });
  return { name: revision, namespace, service: name, image, env, where: label };
}

/** Sorts the non-iter8 manifests into routing objects, revisions and Jobs, checking each. */
export function manifestsForm(manifests: Manifest[], lab: Lab, problems: string[]): ManifestsForm {
  const routing: Manifest[] = [];
  const revisions: Revision[] = [];
  const jobs: Manifest[] = [];
  const revisionAt = new Map(knativeManifests(manifests.map((m) => m.obj)).map((k) => [k.index, k.revision]));
  for (const [index, m] of manifests.entries()) {
    const api = String(m.obj["apiVersion"]);
    const kind = m.obj["kind"];
    if (api.startsWith("iter8.tools/")) continue;
    const { name, namespace: ns } = metaOf(m.obj);
    const label = `${m.file}: ${kind} ${ns}/${name}`;
    const trafficKind = trafficKindOf(m.obj);
    if (trafficKind === knativeService) {
      routing.push(m);
      const r = revisionOf(m, revisionAt.get(index)!, lab, label, problems);
      if (!r) continue;
      const existing = revisions.findIndex((x) => x.name === r.name && x.namespace === ns);
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
  problems.push(...routingProblems(routing, revisions));
  let generators: LoadGenerator[] = [];
  try {
    generators = loadGeneratorsFor(jobs, lab);
  } catch (e) {
    if (e instanceof TutorialError) problems.push(...e.problems);
    else throw e;
  }
  return { routing, revisions, generators };
}

/** The routing objects must compile (placeholder addresses: nothing listens yet). */
function routingProblems(routing: Manifest[], revisions: Revision[]): string[] {
  const placeholder: Record<string, string> = {};
  for (const r of revisions) placeholder[r.name] = "127.0.0.1:1";
  try {
    compileRoutes(
      routing.map((m) => m.obj),
      placeholder,
    );
    return [];
  } catch (e) {
    if (!(e instanceof RouteTableError)) return [`routing: ${(e as Error).message}`];
    return e.issues.map((issue) => {
      const file = fileOf(routing, issue.object);
      return `${file}${issue.object ? `: ${issue.object}` : ""}: ${issue.path}: ${issue.message}`;
    });
  }
}

function sameName(obj: Obj, ns: string, name: string): boolean {
  const md = isRecord(obj["metadata"]) ? obj["metadata"] : {};
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
export function checkExperimentAgainstLab(
  exp: Experiment,
  file: string,
  lab: Lab,
  routing: Manifest[],
): string[] {
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
        for (const v of allVersions(exp)) {
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
  const versions = allVersions(exp);
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
