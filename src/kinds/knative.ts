// Knative Serving `Service` (serving.knative.dev): everything iter8 knows about it in one place.
// - Revisions: several manifests of one Service are successive revisions (later = newer). A revision
//   is named by `spec.template.metadata.name`, else `<service>-00001`, `-00002`, ... in creation order.
// - `spec.traffic`: entries name a revision (`revisionName`) or the latest one (`latestRevision:
//   true`) with an integer `percent` (absent = 0); percents sum to 100; a `tag` adds the host
//   `<tag>-<service>...` that sends everything to that entry's revision. No traffic block: 100 % to
//   the latest revision. iter8 moves traffic by writing `.spec.traffic[i].percent`.
// - Routing: the Service answers on `name.ns`, `name.ns.svc`, `name.ns.svc.cluster.local` and
//   `name.ns.example.com` through the mesh and the Knative gateways; a destination host naming the
//   Service splits by its traffic, one naming a revision goes to that revision.

import { type CompileContext, DNS_LABEL, isRecord, type Obj, objectName } from "../router/compile.ts";
import {
  type Choice,
  choice,
  makeSplit,
  type Rule,
  type RuleDraft,
  type Split,
  type Target,
} from "../router/table.ts";
import type { Segment } from "./fieldpath.ts";
import type { KindCompiler, TrafficKind } from "./types.ts";

export const KNATIVE_GROUP = "serving.knative.dev";
export const KSVC_API_VERSION = `${KNATIVE_GROUP}/v1`;
const KNATIVE_DOMAIN = "example.com";
const GATEWAYS = ["mesh", "knative-serving/knative-ingress-gateway", "knative-serving/knative-local-gateway"];

export function isKnativeService(obj: unknown): obj is Obj {
  return (
    isRecord(obj) && obj["kind"] === "Service" && String(obj["apiVersion"]).startsWith(`${KNATIVE_GROUP}/`)
  );
}

/** The field iter8 writes for the `index`th traffic entry. */
export function trafficPercentPath(index: number): string {
  return `.spec.traffic[${index}].percent`;
}

/** The revision a manifest creates: its template's name, else `<service>-0000N` (N = `ordinal`, 1-based). */
export function revisionName(manifest: Obj, ordinal: number): string {
  const named = templateName(manifest);
  if (typeof named === "string") return named;
  return `${String(objectName(manifest).name)}-${String(ordinal).padStart(5, "0")}`;
}

/** `spec.template.metadata.name` as written (unchecked). */
function templateName(manifest: Obj): unknown {
  const spec = isRecord(manifest["spec"]) ? manifest["spec"] : {};
  const template = isRecord(spec["template"]) ? spec["template"] : {};
  return isRecord(template["metadata"]) ? template["metadata"]["name"] : undefined;
}

export interface KnativeManifest {
  readonly namespace: string;
  readonly service: string;
  /** The revision this manifest creates (or makes the latest again). */
  readonly revision: string;
  readonly manifest: Obj;
  /** Index of the manifest in the objects given. */
  readonly index: number;
}

/**
 * The Knative Service manifests among `objects`, in order, each with the revision it creates. An
 * unnamed revision's number is one more than the service's distinct revisions before it.
 */
export function knativeManifests(objects: readonly unknown[]): KnativeManifest[] {
  const out: KnativeManifest[] = [];
  const seen = new Map<string, Set<string>>(); // "ns/service" -> revisions so far
  objects.forEach((obj, index) => {
    if (!isKnativeService(obj)) return;
    const { name, namespace } = objectName(obj);
    const service = String(name ?? "");
    const revisions = seen.get(`${namespace}/${service}`) ?? new Set<string>();
    seen.set(`${namespace}/${service}`, revisions);
    const revision = revisionName(obj, revisions.size + 1);
    revisions.add(revision);
    out.push({ namespace, service, revision, manifest: obj, index });
  });
  return out;
}

/** Revision names of one Service, oldest first (the last is the latest created). */
export function revisionsOf(objects: readonly unknown[], namespace: string, service: string): string[] {
  const out: string[] = [];
  for (const m of knativeManifests(objects))
    if (m.namespace === namespace && m.service === service && !out.includes(m.revision)) out.push(m.revision);
  return out;
}

/** `spec.traffic` as Knative reports it in `status.traffic`: `latestRevision` resolved to `latest`. */
export function statusTraffic(traffic: unknown, latest: string): Obj[] {
  if (!Array.isArray(traffic)) return [{ revisionName: latest, latestRevision: true, percent: 100 }];
  return traffic.filter(isRecord).map((t) => {
    const entry: Obj = {
      revisionName: t["latestRevision"] === true ? latest : t["revisionName"],
      latestRevision: t["latestRevision"] === true,
      percent: t["percent"] ?? 0,
    };
    if (t["tag"] !== undefined) entry["tag"] = t["tag"];
    return entry;
  });
}

/** The hosts a Service (or a tag, `tag-name`) answers on. */
export function knativeHosts(name: string, namespace: string): string[] {
  const base = `${name}.${namespace}`;
  return [base, `${base}.svc`, `${base}.svc.cluster.local`, `${base}.${KNATIVE_DOMAIN}`];
}

export const knativeService: TrafficKind = {
  title: "Knative Service",
  group: KNATIVE_GROUP,
  kind: "Service",
  plural: "services",
  shortNames: ["ksvc", "kservice", "kservices"],
  absentWeight: (path: readonly Segment[]) => (path[path.length - 1] === "percent" ? 0 : undefined),
  compiler: (ctx) => new KnativeCompiler(ctx),
};

// ---- router --------------------------------------------------------------------------------------

interface KService {
  readonly name: string;
  readonly namespace: string;
  readonly label: string;
  /** Revision names in creation order (later manifests of the same service are newer revisions). */
  readonly revisions: string[];
  traffic: unknown;
}

class KnativeCompiler implements KindCompiler {
  readonly #ctx: CompileContext;
  readonly #services = new Map<string, KService>(); // "ns/name"
  readonly #revisionOwner = new Map<string, KService>(); // "ns/revision"
  readonly #splits = new Map<string, Split | null>();

  constructor(ctx: CompileContext) {
    this.#ctx = ctx;
    ctx.addHostResolver((name, namespace, path) => this.#resolveHost(name, namespace, path));
  }

  add(obj: Obj, index: number): void {
    const ctx = this.#ctx;
    const { name, namespace } = objectName(obj);
    if (typeof name !== "string" || !DNS_LABEL.test(name)) {
      ctx.issue(`objects[${index}].metadata.name`, "must be a DNS label (Knative Service name)");
      return;
    }
    const key = `${namespace}/${name}`;
    let svc = this.#services.get(key);
    if (!svc) {
      svc = { name, namespace, label: `Service ${key}`, revisions: [], traffic: undefined };
      this.#services.set(key, svc);
    }
    ctx.object = svc.label;
    const named = templateName(obj);
    if (named !== undefined && (typeof named !== "string" || !DNS_LABEL.test(named))) {
      ctx.issue("spec.template.metadata.name", "must be a DNS label (the revision name)");
      return;
    }
    if (typeof named === "string" && !named.startsWith(`${name}-`)) {
      ctx.issue("spec.template.metadata.name", `revision name must start with "${name}-" (Knative rule)`);
      return;
    }
    const revision = revisionName(obj, svc.revisions.length + 1);
    if (!svc.revisions.includes(revision)) svc.revisions.push(revision);
    const owner = this.#revisionOwner.get(`${namespace}/${revision}`);
    if (owner && owner !== svc)
      ctx.issue("spec.template.metadata.name", `revision ${revision} already belongs to ${owner.label}`);
    this.#revisionOwner.set(`${namespace}/${revision}`, svc);
    // The latest manifest's traffic block (or its absence) is the service's routing.
    svc.traffic = isRecord(obj["spec"]) ? obj["spec"]["traffic"] : undefined;
  }

  rules(): RuleDraft[] {
    const drafts: RuleDraft[] = [];
    for (const svc of this.#services.values()) {
      this.#ctx.object = svc.label;
      drafts.push(...this.#serviceRules(svc));
    }
    return drafts;
  }

  #resolveHost(name: string, namespace: string, path: string): Target | null | undefined {
    const owner = this.#revisionOwner.get(`${namespace}/${name}`);
    if (owner) return this.#revisionTarget(owner, name, path);
    const svc = this.#services.get(`${namespace}/${name}`);
    if (!svc) return undefined;
    const split = this.#split(svc);
    if (!split) {
      this.#ctx.issue(path, `${svc.label} has no valid traffic block`);
      return null;
    }
    return { kind: "split", split };
  }

  #revisionTarget(svc: KService, revision: string, path: string): Target | null {
    const up = this.#ctx.upstream(revision) ?? this.#ctx.upstream(`${revision}.${svc.namespace}`);
    if (!up) {
      this.#ctx.issue(path, `no upstream for revision "${revision}": add it to upstreams`);
      return null;
    }
    this.#ctx.versions.add(revision);
    return { kind: "upstream", upstream: up, version: revision, revision: true, host: revision };
  }

  /** The traffic split of a service (compiled once, shared by its routes and by destinations). */
  #split(svc: KService): Split | null {
    const key = `${svc.namespace}/${svc.name}`;
    if (!this.#splits.has(key))
      this.#splits.set(
        key,
        this.#ctx.within(svc.label, () => this.#traffic(svc, null)),
      );
    return this.#splits.get(key) ?? null;
  }

  /** tag = null: the service's default split; else the single target of that tag. */
  #traffic(svc: KService, tag: string | null): Split | null {
    // No valid revision: its manifest's problem has been reported already.
    if (svc.revisions.length === 0) return null;
    const latest = svc.revisions[svc.revisions.length - 1]!;
    if (svc.traffic === undefined || svc.traffic === null) {
      if (tag !== null) return null;
      const t = this.#revisionTarget(svc, latest, "spec.template.metadata.name");
      return t ? makeSplit([choice(100, t, [], null, `${svc.label} latest`)]) : null;
    }
    if (!Array.isArray(svc.traffic)) {
      this.#ctx.issue("spec.traffic", "must be a list of traffic targets");
      return null;
    }
    const choices: Choice[] = [];
    let sum = 0;
    let ok = true;
    const tags = new Set<string>();
    svc.traffic.forEach((entry, i) => {
      const p = `spec.traffic[${i}]`;
      const parsed = this.#entry(svc, entry, p, latest, tags);
      if (!parsed) {
        ok = false;
        return;
      }
      sum += parsed.percent;
      if (tag === null || parsed.tag === tag)
        choices.push(choice(parsed.percent, parsed.target, [], null, `${svc.label} ${p}`));
    });
    if (!ok) return null;
    if (sum !== 100) {
      this.#ctx.issue("spec.traffic", `percents must sum to 100 (they sum to ${sum})`);
      return null;
    }
    if (tag !== null) {
      // A tag route sends everything to its revision regardless of its percent.
      const first = choices[0];
      return first ? makeSplit([{ ...first, weight: 100 }]) : null;
    }
    return makeSplit(choices);
  }

  /** One `spec.traffic` entry -> its percent, tag and target; null when invalid (reported). */
  #entry(
    svc: KService,
    entry: unknown,
    p: string,
    latest: string,
    tags: Set<string>,
  ): { percent: number; tag: string | undefined; target: Target } | null {
    const ctx = this.#ctx;
    if (!isRecord(entry)) {
      ctx.issue(p, "must be a mapping");
      return null;
    }
    const percent = ctx.integer(entry["percent"] ?? 0, `${p}.percent`, 0, 100);
    if (percent === undefined) return null;
    let ok = true;
    const entryTag = entry["tag"];
    if (entryTag !== undefined && (typeof entryTag !== "string" || !DNS_LABEL.test(entryTag))) {
      ctx.issue(`${p}.tag`, "must be a DNS label");
      ok = false;
    } else if (typeof entryTag === "string") {
      if (tags.has(entryTag)) ctx.issue(`${p}.tag`, `duplicate tag "${entryTag}"`);
      tags.add(entryTag);
    }
    const revName = entry["revisionName"];
    const latestFlag = entry["latestRevision"];
    let revision: string;
    if (latestFlag === true) {
      if (revName !== undefined) {
        ctx.issue(p, "revisionName and latestRevision: true are mutually exclusive");
        return null;
      }
      revision = latest;
    } else if (typeof revName === "string" && revName !== "") {
      if (latestFlag !== undefined && latestFlag !== false) {
        ctx.issue(`${p}.latestRevision`, "must be a boolean");
        return null;
      }
      if (!svc.revisions.includes(revName) && !ctx.upstream(revName)) {
        ctx.issue(`${p}.revisionName`, `unknown revision "${revName}" of ${svc.label}`);
        return null;
      }
      revision = revName;
    } else {
      ctx.issue(p, "needs revisionName or latestRevision: true");
      return null;
    }
    const target = this.#revisionTarget(svc, revision, `${p}.revisionName`);
    if (!target || !ok) return null;
    return { percent, tag: typeof entryTag === "string" ? entryTag : undefined, target };
  }

  #serviceRules(svc: KService): RuleDraft[] {
    const split = this.#split(svc);
    if (!split) return [];
    const rule = (s: Split, origin: string): Rule => ({
      origin,
      match: [],
      split: s,
      mirror: null,
      timeoutMs: null,
    });
    const drafts: RuleDraft[] = [
      {
        rule: rule(split, `${svc.label} traffic`),
        hosts: knativeHosts(svc.name, svc.namespace),
        gateways: GATEWAYS,
      },
    ];
    if (!Array.isArray(svc.traffic)) return drafts;
    for (const entry of svc.traffic) {
      if (!isRecord(entry) || typeof entry["tag"] !== "string") continue;
      const tagSplit = this.#traffic(svc, entry["tag"]);
      if (tagSplit) {
        drafts.push({
          rule: rule(tagSplit, `${svc.label} tag ${entry["tag"]}`),
          hosts: knativeHosts(`${entry["tag"]}-${svc.name}`, svc.namespace),
          gateways: GATEWAYS,
        });
      }
    }
    return drafts;
  }
}
