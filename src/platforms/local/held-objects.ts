// The routing objects a local run holds in place of a cluster: the Knative Services (every
// revision's manifest, in order), Istio VirtualServices and Gateway API HTTPRoutes, the address of each revision's process,
// and the one way to change them: a whole new state, compiled into the router's table first (so
// nothing is half-applied), then swapped in and persisted. Changes run one at a time.

import type { WeightField } from "../../engine/ports.ts";
import { parseFieldPath, type Segment } from "../../kinds/fieldpath.ts";
import { type TrafficKind, trafficKindFor, trafficKindOf } from "../../kinds/index.ts";
import { isRecord } from "../../lib/objects.ts";
import { compileRoutes, type RouteTable } from "../../router/index.ts";

type Obj = Record<string, unknown>;

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

export interface HeldObjectsOptions {
  state: RoutingState;
  /** Revision name -> HOST:PORT of its process. */
  upstreams: Record<string, string>;
  /** Swaps the router's table (absent while only validating). */
  setRoutes?: (table: RouteTable) => Promise<void>;
  /** Called after every change, with the new state (persist it). */
  onChange?: (state: RoutingState) => Promise<void>;
}

export function metaOf(o: Obj): { name: string; namespace: string } {
  const md = isRecord(o["metadata"]) ? o["metadata"] : {};
  return {
    name: String(md["name"] ?? ""),
    namespace: typeof md["namespace"] === "string" && md["namespace"] ? md["namespace"] : "default",
  };
}

/** The held object of that kind and name: for a Knative Service, its latest manifest. */
export function findObject(
  objects: Obj[],
  kind: TrafficKind,
  namespace: string,
  name: string,
): Obj | undefined {
  const match = objects.filter(
    (o) => trafficKindOf(o) === kind && metaOf(o).name === name && metaOf(o).namespace === namespace,
  );
  return match[match.length - 1];
}

/** The held object a weight field is in, and the field's parsed path; throws naming what is missing. */
export function weightTarget(objects: Obj[], f: WeightField): { obj: Obj; path: Segment[] } {
  const kind = trafficKindFor({ kind: f.kind, apiVersion: f.apiVersion });
  const obj = kind ? findObject(objects, kind, f.namespace, f.name) : undefined;
  if (!obj) throw new Error(`version ${f.version}: ${f.kind} ${f.namespace}/${f.name} not found`);
  return { obj, path: parseFieldPath(f.fieldPath) };
}

export class HeldObjects {
  #state: RoutingState;
  readonly upstreams: Record<string, string>;
  readonly #opts: HeldObjectsOptions;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: HeldObjectsOptions) {
    this.#state = structuredClone(opts.state);
    this.upstreams = { ...opts.upstreams };
    this.#opts = opts;
  }

  /** The current state (a copy). */
  get state(): RoutingState {
    return structuredClone(this.#state);
  }

  /** The current objects, not copied: read them, never change them. */
  get objects(): Obj[] {
    return this.#state.objects;
  }

  get promotions(): Promotion[] {
    return this.#state.promotions;
  }

  table(): RouteTable {
    return compileRoutes(this.#state.objects, this.upstreams);
  }

  /** Compiles `next` (throwing before anything changes), swaps it into the router, persists it. */
  async commit(next: RoutingState): Promise<void> {
    const table = compileRoutes(next.objects, this.upstreams);
    await this.#opts.setRoutes?.(table);
    this.#state = next;
    await this.#opts.onChange?.(this.state);
  }

  /** Runs changes one at a time. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
