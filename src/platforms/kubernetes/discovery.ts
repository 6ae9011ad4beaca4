// API discovery: maps a kind (`VirtualService` in `networking.istio.io/v1alpha3`) or a kubectl
// resource type (`ksvc`, `virtualservices.v1beta1.networking.istio.io`) to the resource's URL
// pieces. CRDs come and go, so a miss refreshes the cache (at most once per `refreshMs`).

import type { KubeClient } from "./rest.ts";

export interface ResourceInfo {
  /** `group/version`, or `v1` for the core group. */
  apiVersion: string;
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames: string[];
  singular: string;
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
  singularName?: string;
  shortNames?: string[];
}

export class Discovery {
  readonly #client: KubeClient;
  readonly #refreshMs: number;
  #resources: ResourceInfo[] | undefined;
  #loadedAt = 0;
  #loading: Promise<ResourceInfo[]> | undefined;

  constructor(client: KubeClient, opts: { refreshMs?: number } = {}) {
    this.#client = client;
    this.#refreshMs = opts.refreshMs ?? 2000;
  }

  async #load(): Promise<ResourceInfo[]> {
    const out: ResourceInfo[] = [];
    const add = (apiVersion: string, list: ApiResource[]) => {
      const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
      for (const r of list) {
        if (r.name.includes("/")) continue; // subresources
        out.push({
          apiVersion,
          group: group!,
          version: version!,
          kind: r.kind,
          plural: r.name,
          namespaced: r.namespaced,
          shortNames: r.shortNames ?? [],
          singular: r.singularName || r.kind.toLowerCase(),
        });
      }
    };
    const core = await this.#client.get<{ resources: ApiResource[] }>("/api/v1");
    add("v1", core.resources);
    const groups = await this.#client.get<{
      groups: {
        name: string;
        versions: { groupVersion: string }[];
        preferredVersion?: { groupVersion: string };
      }[];
    }>("/apis");
    const lists = await Promise.all(
      groups.groups.flatMap((g) =>
        // Preferred version first, so a bare `TYPE.GROUP` resolves to it.
        [...g.versions]
          .sort((a, b) =>
            a.groupVersion === g.preferredVersion?.groupVersion
              ? -1
              : b.groupVersion === g.preferredVersion?.groupVersion
                ? 1
                : 0,
          )
          .map(async (v) => {
            try {
              const l = await this.#client.get<{ resources: ApiResource[] }>(`/apis/${v.groupVersion}`);
              return { gv: v.groupVersion, resources: l.resources };
            } catch {
              return { gv: v.groupVersion, resources: [] as ApiResource[] };
            }
          }),
      ),
    );
    for (const l of lists) add(l.gv, l.resources);
    return out;
  }

  async #all(forceRefresh: boolean): Promise<ResourceInfo[]> {
    const stale = Date.now() - this.#loadedAt >= this.#refreshMs;
    if (!this.#resources || (forceRefresh && stale)) {
      this.#loading ??= this.#load().finally(() => {
        this.#loading = undefined;
      });
      this.#resources = await this.#loading;
      this.#loadedAt = Date.now();
    }
    return this.#resources;
  }

  async #find(match: (r: ResourceInfo) => boolean): Promise<ResourceInfo | undefined> {
    const first = (await this.#all(false)).find(match);
    if (first) return first;
    return (await this.#all(true)).find(match);
  }

  /** The resource of `kind` in `apiVersion`; throws a clear error when the server does not serve it. */
  async forKind(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const r = await this.#find((x) => x.apiVersion === apiVersion && x.kind === kind);
    if (!r) throw new Error(`the API server does not serve kind ${kind} in ${apiVersion}`);
    return r;
  }

  /**
   * A kubectl resource type: `TYPE`, `TYPE.GROUP` or `TYPE.VERSION.GROUP`, where TYPE is a plural,
   * singular, short name or kind (case-insensitive). With `apiVersion` given, a bare TYPE is looked
   * up in it first.
   */
  async forType(type: string, apiVersion?: string): Promise<ResourceInfo> {
    const [head, ...rest] = type.split(".");
    const t = head!.toLowerCase();
    const names = (r: ResourceInfo) =>
      r.plural === t || r.singular === t || r.kind.toLowerCase() === t || r.shortNames.includes(t);
    let match: (r: ResourceInfo) => boolean;
    if (rest.length === 0) {
      match = (r) => names(r) && (apiVersion === undefined || r.apiVersion === apiVersion);
      const r = await this.#find(match);
      if (r || apiVersion === undefined) {
        if (!r) throw new Error(`the API server has no resource type "${type}"`);
        return r;
      }
      match = names;
    } else {
      const suffix = rest.join(".");
      match = (r) =>
        names(r) && (r.group === suffix || (rest.length >= 2 && `${r.version}.${r.group}` === suffix));
    }
    const r = await this.#find(match);
    if (!r) throw new Error(`the API server has no resource type "${type}"`);
    return r;
  }
}
