// The local Helm promotion: `helm upgrade [--install] RELEASE CHART --values=URL ...` as a finish
// task runs it, played on the held objects. The lab's values files for those URLs are rendered into
// the Knative Service the chart makes (lab `helm.render`), which is applied like `kubectl apply`
// would: its revision becomes the latest (started if new) and the router follows its traffic block.

import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { deletePath, getPath, parseFieldPath, setPath } from "../../kinds/fieldpath.ts";
import { knativeManifests, knativeService, revisionName, revisionsOf } from "../../kinds/knative.ts";
import { isRecord } from "../../lib/objects.ts";
import { findObject, type HeldObjects, type Promotion, type RoutingState } from "./held-objects.ts";
import { trafficByRevision } from "./knative-status.ts";
import type { HelmMapping } from "./lab.ts";

type Obj = Record<string, unknown>;

/** Starts a revision that a promotion creates (its container spec), returning its address. */
export type StartRevision = (
  revision: string,
  namespace: string,
  service: string,
  container: Obj,
) => Promise<string>;

/** The merged values of the files the lab maps to the task's URLs. */
function valuesOf(helm: HelmMapping, urls: string[]): Obj {
  const values: Obj = {};
  for (const url of urls) {
    const file = helm.values[url];
    if (!file)
      throw new Error(
        `values ${url} is not mapped in the lab's helm.values (known: ${Object.keys(helm.values).join(", ")})`,
      );
    const v = parseYaml(readFileSync(file, "utf8")) as unknown;
    if (v !== null && !isRecord(v)) throw new Error(`${file}: a values file must be a mapping`);
    Object.assign(values, v ?? {});
  }
  return values;
}

/** Plays `helm argv` on the held objects; returns what helm would print. */
export function helmPromote(
  held: HeldObjects,
  helm: HelmMapping,
  argv: string[],
  startRevision: StartRevision | undefined,
): Promise<string> {
  return held.serial(async () => {
    const parsed = parseHelmArgs(argv);
    if (parsed.release !== helm.release)
      throw new Error(
        `release ${JSON.stringify(parsed.release)} is not the lab's helm.release ${helm.release}`,
      );
    if (parsed.values.length === 0) throw new Error("no --values file given: nothing to promote");
    const values = valuesOf(helm, parsed.values);
    const { namespace, name } = helm.service;
    const current = findObject(held.objects, knativeService, namespace, name);
    if (!current) throw new Error(`Knative Service ${namespace}/${name} not found`);
    const doc = structuredClone(current);
    for (const [key, path] of Object.entries(helm.render)) {
      const p = parseFieldPath(path);
      if (values[key] === undefined) deletePath(doc, p);
      else setPath(doc, p, values[key]);
    }
    const revision = revisionName(doc, revisionsOf(held.objects, namespace, name).length + 1);
    if (held.upstreams[revision] === undefined) {
      if (!startRevision) throw new Error(`revision ${revision} has no process and none can start`);
      const container = getPath(doc, ["spec", "template", "spec", "containers", 0]);
      held.upstreams[revision] = await startRevision(
        revision,
        namespace,
        name,
        isRecord(container) ? container : {},
      );
    }
    // Applying a manifest whose revision already exists makes that revision the latest again.
    const replaced = new Set(
      knativeManifests(held.objects)
        .filter((m) => m.namespace === namespace && m.service === name && m.revision === revision)
        .map((m) => m.index),
    );
    const objects = held.objects.filter((_, i) => !replaced.has(i));
    objects.push(doc);
    const traffic = trafficByRevision(objects, namespace, name);
    const promotion: Promotion = {
      time: new Date().toISOString(),
      release: parsed.release,
      values: parsed.values,
      service: `${namespace}/${name}`,
      revision,
      traffic,
    };
    const next: RoutingState = { objects, promotions: [...held.promotions, promotion] };
    await held.commit(next);
    const split = Object.entries(traffic)
      .map(([r, p]) => `${r}=${p}%`)
      .join(" ");
    return `Release "${parsed.release}" has been upgraded (local). Knative Service ${namespace}/${name}: latest revision ${revision}; traffic ${split}\n`;
  });
}

export interface HelmArgs {
  command: string;
  release: string;
  chart: string;
  values: string[];
}

/** The parts of a `helm upgrade|install` command line a local promotion needs. */
export function parseHelmArgs(argv: string[]): HelmArgs {
  const command = argv[0] ?? "";
  if (command !== "upgrade" && command !== "install")
    throw new Error(`only "helm upgrade" and "helm install" are played locally, got "helm ${command}"`);
  const withValue = new Set([
    "--repo",
    "--namespace",
    "-n",
    "--version",
    "--kube-context",
    "--set",
    "--timeout",
  ]);
  const positional: string[] = [];
  const values: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-f" || a === "--values") values.push(argv[++i] ?? "");
    else if (a.startsWith("--values=")) values.push(a.slice("--values=".length));
    else if (a.startsWith("-f=")) values.push(a.slice(3));
    else if (withValue.has(a)) i++;
    else if (a.startsWith("-")) continue;
    else positional.push(a);
  }
  if (positional.length < 2)
    throw new Error(`helm ${command}: needs RELEASE and CHART, got ${positional.join(" ") || "neither"}`);
  return { command, release: positional[0]!, chart: positional[1]!, values };
}
