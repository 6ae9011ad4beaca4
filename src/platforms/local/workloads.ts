// What runs for each version: one Workload per Knative revision (the lab's command for its image,
// the container's env and args, the lab's per-revision extras) or per version of the services form.
// Derived here only, both for the checks before start and for the run (also for revisions a
// promotion creates and for routing objects restored on resume).

import { getPath } from "../../kinds/fieldpath.ts";
import { knativeManifests } from "../../kinds/knative.ts";
import { isRecord } from "../../lib/objects.ts";
import { type Lab, resolveProgram } from "./lab.ts";

type Obj = Record<string, unknown>;

export interface Workload {
  /** The router's upstream key: the Knative revision name or the version name. */
  name: string;
  /** What to start; absent for a version that already runs at `address`. */
  argv?: string[];
  env: Record<string, string>;
  /** Working directory of the process: the lab's directory. */
  cwd: string;
  /** HOST:PORT of a version that runs already (services form `url`). */
  address?: string;
  /** Where the command comes from, for errors: `lab.yaml: versions.v1.command`. */
  field: string;
  /** Shown when it starts: `(image gcr.io/...)`. */
  origin: string;
}

/** One Knative revision in the held manifests (the newest manifest of a revision wins). */
export interface KnativeRevision {
  name: string;
  namespace: string;
  service: string;
  container: Obj;
}

/** Every revision of the Knative Services among `objects`, in order of first appearance. */
export function knativeRevisions(objects: Obj[]): KnativeRevision[] {
  const out = new Map<string, KnativeRevision>();
  for (const m of knativeManifests(objects)) {
    const c = getPath(m.manifest, ["spec", "template", "spec", "containers", 0]);
    out.set(`${m.namespace}/${m.revision}`, {
      name: m.revision,
      namespace: m.namespace,
      service: m.service,
      container: isRecord(c) ? c : {},
    });
  }
  return [...out.values()];
}

export function containerEnv(container: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of Array.isArray(container["env"]) ? container["env"] : [])
    if (isRecord(e) && typeof e["name"] === "string") env[e["name"]] = String(e["value"] ?? "");
  return env;
}

/**
 * The workload of a Knative revision, or a problem when its image is not mapped. The container's
 * `args` follow the lab's command and args (they are the image's arguments on a cluster too); its
 * `command` would replace the image's entrypoint, which the lab's command already stands for, so
 * it is reported through `warn`.
 */
export function knativeWorkload(
  rev: KnativeRevision,
  lab: Lab,
  warn?: (message: string) => void,
): Workload | string {
  const image = String(rev.container["image"] ?? "").trim();
  const mapped = lab.images[image];
  if (!mapped) return `revision ${rev.name}: image ${image} is not mapped in ${lab.file} images`;
  const extra = lab.revisions[rev.name];
  const args = Array.isArray(rev.container["args"]) ? rev.container["args"].map(String) : [];
  if (Array.isArray(rev.container["command"]) && rev.container["command"].length > 0)
    warn?.(
      `revision ${rev.name}: the container's command ${JSON.stringify(rev.container["command"])} is not run: ${lab.file} images["${image}"].command replaces the image's entrypoint`,
    );
  return {
    name: rev.name,
    argv: [
      resolveProgram(mapped.command[0]!, lab.dir),
      ...mapped.command.slice(1),
      ...mapped.args,
      ...args,
      ...(extra?.args ?? []),
    ],
    env: { ...containerEnv(rev.container), ...(extra?.env ?? {}) },
    cwd: lab.dir,
    field: `${lab.file}: images["${image}"].command`,
    origin: `image ${image}`,
  };
}

/** The workloads of the services form (`versions` in the lab). */
export function versionWorkloads(lab: Lab): Workload[] {
  return (lab.versions ?? []).map((v) => ({
    name: v.name,
    ...(v.command ? { argv: v.command } : {}),
    ...(v.address ? { address: v.address } : {}),
    env: v.env,
    cwd: lab.dir,
    field: `${lab.file}: versions.${v.name}.${v.command ? "command" : "url"}`,
    origin: v.command ? `command ${v.command.join(" ")}` : `already running at ${v.address}`,
  }));
}
