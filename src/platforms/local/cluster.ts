// The local stand-in for the cluster's routing objects: the tutorial's Knative Services (every
// revision's manifest, in order) and Istio VirtualServices, held in memory, compiled into the
// router's table, and changed only through whole-table swaps. It is the local TrafficActuator (reads
// and writes the integer at each `weightObjRef.fieldPath`), the tasks' TaskPlatform (objects with a
// Knative-like status, Ready once the revisions' processes serve), and the target of the local Helm
// promotion. Every change is validated by compiling the new table first: nothing is half-applied.

import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import type { Experiment, VersionDetail, VersionWeight } from "../../api/types.ts";
import type { ObjectKey, TrafficActuator } from "../../engine/ports.ts";
import { withRemainingWeight } from "../../engine/weights.ts";
import {
  ChainSecretSource,
  EnvSecretSource,
  FileSecretSource,
  type SecretSource,
} from "../../metrics/index.ts";
import { compileRoutes, type RouteTable } from "../../router/index.ts";
import type { ObjectRef, TaskPlatform } from "../../tasks/types.ts";
import { deletePath, getPath, parseFieldPath, setPath } from "./fieldpath.ts";
import type { HelmMapping } from "./lab.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export interface Promotion {
  time: string;
  release: string;
  values: string[];
  service: string;
  revision: string;
  /** The Service's traffic after the promotion, by revision. */
  traffic: Record<string, number>;
}

export interface RoutingState {
  objects: Obj[];
  promotions: Promotion[];
}

export interface ClusterOptions {
  state: RoutingState;
  /** Revision name -> HOST:PORT of its process. */
  upstreams: Record<string, string>;
  /** Swaps the router's table (absent while only validating). */
  setRoutes?: (table: RouteTable) => Promise<void>;
  /** Does the revision's process serve? */
  revisionReady: (revision: string) => boolean;
  /** Called after every change, with the new state (persist it). */
  onChange?: (state: RoutingState) => Promise<void>;
  /** Starts a revision that a promotion creates (its container spec), returning its address. */
  startRevision?: (revision: string, namespace: string, service: string, container: Obj) => Promise<string>;
  helm?: HelmMapping;
  env?: NodeJS.ProcessEnv;
}

function meta(o: Obj): { name: string; namespace: string } {
  const md = isObj(o["metadata"]) ? o["metadata"] : {};
  return {
    name: String(md["name"] ?? ""),
    namespace: typeof md["namespace"] === "string" && md["namespace"] ? md["namespace"] : "default",
  };
}

const isKsvc = (o: Obj) =>
  o["kind"] === "Service" && String(o["apiVersion"]).startsWith("serving.knative.dev/");
const isVs = (o: Obj) =>
  o["kind"] === "VirtualService" && String(o["apiVersion"]).startsWith("networking.istio.io/");

function templateRevision(doc: Obj, index: number): string {
  const name = getPath(doc, ["spec", "template", "metadata", "name"]);
  return typeof name === "string" ? name : `${meta(doc).name}-${String(index).padStart(5, "0")}`;
}

/** `Service`, `ksvc`, `virtualservice.v1beta1.networking.istio.io`, `vs`, ... -> our two kinds. */
function kindOf(ref: ObjectRef): "ksvc" | "vs" | undefined {
  const k = ref.kind.toLowerCase();
  const first = k.split(".")[0]!;
  if (["ksvc", "kservice", "kservices"].includes(first)) return "ksvc";
  if (["virtualservice", "virtualservices", "vs"].includes(first)) return "vs";
  if (first === "service" || first === "services") {
    const group = ref.apiVersion?.split("/")[0] ?? (k.includes(".") ? k.split(".").slice(-3).join(".") : "");
    if (group === "" || group.startsWith("serving.knative.dev")) return "ksvc";
  }
  return undefined;
}

export class LocalCluster implements TrafficActuator, TaskPlatform {
  #state: RoutingState;
  readonly #upstreams: Record<string, string>;
  readonly #opts: ClusterOptions;
  readonly #secrets: SecretSource;
  /** Changes are applied one at a time. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: ClusterOptions) {
    this.#state = structuredClone(opts.state);
    this.#upstreams = { ...opts.upstreams };
    this.#opts = opts;
    const env = opts.env ?? process.env;
    const sources: SecretSource[] = [];
    if (env["ITER8_SECRETS_FILE"]) sources.push(new FileSecretSource(env["ITER8_SECRETS_FILE"]));
    sources.push(new EnvSecretSource(env));
    this.#secrets = new ChainSecretSource(sources);
  }

  get state(): RoutingState {
    return structuredClone(this.#state);
  }

  table(): RouteTable {
    return compileRoutes(this.#state.objects, this.#upstreams);
  }

  /** The held object a reference names: for a Knative Service, its latest manifest. */
  #find(objects: Obj[], kind: "ksvc" | "vs", namespace: string, name: string): Obj | undefined {
    const match = objects.filter(
      (o) =>
        (kind === "ksvc" ? isKsvc(o) : isVs(o)) && meta(o).name === name && meta(o).namespace === namespace,
    );
    return match[match.length - 1];
  }

  #refTarget(objects: Obj[], exp: Experiment, v: VersionDetail): { obj: Obj; path: (string | number)[] } {
    const w = v.weightObjRef!;
    const ns = w.namespace || exp.metadata.namespace || "default";
    const kind = kindOf({
      kind: w.kind ?? "",
      name: w.name ?? "",
      namespace: ns,
      ...(w.apiVersion ? { apiVersion: w.apiVersion } : {}),
    });
    const obj = kind ? this.#find(objects, kind, ns, w.name ?? "") : undefined;
    if (!obj) throw new Error(`version ${v.name}: ${w.kind} ${ns}/${w.name} not found`);
    if (!w.fieldPath) throw new Error(`version ${v.name}: weightObjRef has no fieldPath`);
    return { obj, path: parseFieldPath(w.fieldPath) };
  }

  async read(exp: Experiment): Promise<VersionWeight[]> {
    const info = exp.spec.versionInfo;
    if (!info) return [];
    const versions = [info.baseline, ...(info.candidates ?? [])];
    const out: VersionWeight[] = [];
    const missing: VersionDetail[] = [];
    for (const v of versions) {
      if (!v.weightObjRef) {
        missing.push(v);
        continue;
      }
      const { obj, path } = this.#refTarget(this.#state.objects, exp, v);
      const value = getPath(obj, path);
      if (value === undefined && path[path.length - 1] === "weight") {
        // Istio: a route without weight gets the rest (a single route gets 100).
        out.push({ name: v.name, value: 0 });
        continue;
      }
      if (value === undefined && path[path.length - 1] === "percent") {
        out.push({ name: v.name, value: 0 });
        continue;
      }
      if (typeof value !== "number" || !Number.isInteger(value))
        throw new Error(
          `version ${v.name}: ${v.weightObjRef.fieldPath} is ${JSON.stringify(value)}, not an integer`,
        );
      out.push({ name: v.name, value });
    }
    return withRemainingWeight(
      exp,
      out,
      missing.map((v) => v.name),
    );
  }

  apply(exp: Experiment, weights: VersionWeight[]): Promise<void> {
    return this.#serial(async () => {
      const info = exp.spec.versionInfo;
      if (!info) return;
      const objects = structuredClone(this.#state.objects);
      for (const v of [info.baseline, ...(info.candidates ?? [])]) {
        if (!v.weightObjRef?.fieldPath) continue;
        const w = weights.find((x) => x.name === v.name);
        if (!w) continue;
        const { obj, path } = this.#refTarget(objects, exp, v);
        setPath(obj, path, w.value);
      }
      await this.#commit({ ...this.#state, objects });
    });
  }

  async #commit(next: RoutingState): Promise<void> {
    const table = compileRoutes(next.objects, this.#upstreams); // throws before anything changes
    await this.#opts.setRoutes?.(table);
    this.#state = next;
    await this.#opts.onChange?.(this.state);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  // ---- TaskPlatform ---------------------------------------------------------------------------

  async getObject(ref: ObjectRef): Promise<Record<string, unknown> | undefined> {
    const kind = kindOf(ref);
    if (!kind) return undefined;
    const obj = this.#find(this.#state.objects, kind, ref.namespace, ref.name);
    if (!obj) return undefined;
    const copy = structuredClone(obj);
    if (kind === "ksvc") copy["status"] = this.#ksvcStatus(ref.namespace, ref.name);
    else copy["status"] = {};
    return copy;
  }

  async getSecret(key: ObjectKey): Promise<Record<string, string> | undefined> {
    return this.#secrets.get(key);
  }

  /** Revisions of a Knative Service, oldest first (the last is the latest created). */
  revisionsOf(namespace: string, name: string): string[] {
    const out: string[] = [];
    let n = 0;
    for (const o of this.#state.objects) {
      if (!isKsvc(o) || meta(o).name !== name || meta(o).namespace !== namespace) continue;
      n++;
      const rev = templateRevision(o, n);
      if (!out.includes(rev)) out.push(rev);
    }
    return out;
  }

  /** What Knative would report: readiness from the processes, traffic resolved to revisions. */
  #ksvcStatus(namespace: string, name: string): Obj {
    const revisions = this.revisionsOf(namespace, name);
    const latest = revisions[revisions.length - 1]!;
    const svc = this.#find(this.#state.objects, "ksvc", namespace, name)!;
    const ready = revisions.every((r) => this.#opts.revisionReady(r));
    const status = ready ? "True" : "Unknown";
    const conditions = ["ConfigurationsReady", "Ready", "RoutesReady"].map((type) => ({
      type,
      status,
      ...(ready ? {} : { reason: "RevisionMissing", message: "revision processes are not serving yet" }),
    }));
    const spec = isObj(svc["spec"]) ? svc["spec"] : {};
    const traffic = Array.isArray(spec["traffic"])
      ? spec["traffic"].filter(isObj).map((t) => {
          const entry: Obj = {
            revisionName: t["latestRevision"] === true ? latest : t["revisionName"],
            latestRevision: t["latestRevision"] === true,
            percent: t["percent"] ?? 0,
          };
          if (t["tag"] !== undefined) entry["tag"] = t["tag"];
          return entry;
        })
      : [{ revisionName: latest, latestRevision: true, percent: 100 }];
    return {
      observedGeneration: 1,
      conditions,
      latestCreatedRevisionName: latest,
      latestReadyRevisionName: ready ? latest : undefined,
      url: `http://${name}.${namespace}.example.com`,
      address: { url: `http://${name}.${namespace}.svc.cluster.local` },
      traffic,
    };
  }

  // ---- Helm promotion --------------------------------------------------------------------------

  /**
   * `helm upgrade [--install] RELEASE CHART --values=URL ...` played locally: the lab's values files
   * for those URLs are rendered into the Knative Service the chart makes (lab `helm.render`), which
   * is applied like `kubectl apply` would: its revision becomes the latest (started if new) and the
   * router follows its traffic block. Returns what helm would print.
   */
  helm(argv: string[]): Promise<string> {
    return this.#serial(async () => {
      const helm = this.#opts.helm;
      if (!helm) throw new Error("no helm mapping in the lab file");
      const parsed = parseHelmArgs(argv);
      if (parsed.release !== helm.release)
        throw new Error(
          `release ${JSON.stringify(parsed.release)} is not the lab's helm.release ${helm.release}`,
        );
      if (parsed.values.length === 0) throw new Error("no --values file given: nothing to promote");
      const values: Obj = {};
      for (const url of parsed.values) {
        const file = helm.values[url];
        if (!file)
          throw new Error(
            `values ${url} is not mapped in the lab's helm.values (known: ${Object.keys(helm.values).join(", ")})`,
          );
        const v = parseYaml(readFileSync(file, "utf8")) as unknown;
        if (v !== null && !isObj(v)) throw new Error(`${file}: a values file must be a mapping`);
        Object.assign(values, v ?? {});
      }
      const { namespace, name } = helm.service;
      const current = this.#find(this.#state.objects, "ksvc", namespace, name);
      if (!current) throw new Error(`Knative Service ${namespace}/${name} not found`);
      const doc = structuredClone(current);
      for (const [key, path] of Object.entries(helm.render)) {
        const p = parseFieldPath(path);
        if (values[key] === undefined) deletePath(doc, p);
        else setPath(doc, p, values[key]);
      }
      const revision = templateRevision(doc, this.revisionsOf(namespace, name).length + 1);
      if (this.#upstreams[revision] === undefined) {
        if (!this.#opts.startRevision)
          throw new Error(`revision ${revision} has no process and none can start`);
        const container = getPath(doc, ["spec", "template", "spec", "containers", 0]);
        this.#upstreams[revision] = await this.#opts.startRevision(
          revision,
          namespace,
          name,
          isObj(container) ? container : {},
        );
      }
      // Applying a manifest whose revision already exists makes that revision the latest again.
      const objects = this.#state.objects.filter(
        (o, i) =>
          !(
            isKsvc(o) &&
            meta(o).name === name &&
            meta(o).namespace === namespace &&
            templateRevision(o, i + 1) === revision
          ),
      );
      objects.push(doc);
      const next: RoutingState = { objects, promotions: this.#state.promotions };
      compileRoutes(next.objects, this.#upstreams);
      const before = this.#state;
      this.#state = next;
      const traffic = this.#trafficOf(namespace, name);
      this.#state = before;
      const promotion: Promotion = {
        time: new Date().toISOString(),
        release: parsed.release,
        values: parsed.values,
        service: `${namespace}/${name}`,
        revision,
        traffic,
      };
      await this.#commit({ objects, promotions: [...this.#state.promotions, promotion] });
      const split = Object.entries(traffic)
        .map(([r, p]) => `${r}=${p}%`)
        .join(" ");
      return `Release "${parsed.release}" has been upgraded (local). Knative Service ${namespace}/${name}: latest revision ${revision}; traffic ${split}\n`;
    });
  }

  #trafficOf(namespace: string, name: string): Record<string, number> {
    const st = this.#ksvcStatus(namespace, name);
    const out: Record<string, number> = {};
    for (const t of st["traffic"] as Obj[]) {
      const r = String(t["revisionName"]);
      out[r] = (out[r] ?? 0) + Number(t["percent"] ?? 0);
    }
    return out;
  }
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
