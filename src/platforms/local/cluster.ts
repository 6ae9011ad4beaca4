// The local stand-in for a cluster, composed of one module per role: the held routing objects
// (held-objects.ts), the TrafficActuator (actuator.ts), the tasks' TaskPlatform with Knative's
// status (task-platform.ts, knative-status.ts) and the Helm promotion (helm-promotion.ts). One
// object so that the run and the tests wire them together in one place.

import type { Experiment, VersionWeight } from "../../api/types.ts";
import type { FieldWrite, ObjectKey, TrafficActuator, WeightField } from "../../engine/ports.ts";
import { readWeights, writeWeights } from "../../engine/weights.ts";
import { revisionsOf } from "../../kinds/knative.ts";
import type { RouteTable } from "../../router/index.ts";
import type { ObjectRef, TaskPlatform } from "../../tasks/types.ts";
import { LocalActuator } from "./actuator.ts";
import { HeldObjects, type RoutingState } from "./held-objects.ts";
import { helmPromote, type StartRevision } from "./helm-promotion.ts";
import type { HelmMapping } from "./lab.ts";
import { LocalTaskPlatform } from "./task-platform.ts";

export type { Promotion, RoutingState } from "./held-objects.ts";
export { type HelmArgs, parseHelmArgs } from "./helm-promotion.ts";

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
  startRevision?: StartRevision;
  helm?: HelmMapping;
  env?: NodeJS.ProcessEnv;
}

export class LocalCluster implements TrafficActuator, TaskPlatform {
  readonly #held: HeldObjects;
  readonly #actuator: LocalActuator;
  readonly #platform: LocalTaskPlatform;
  readonly #opts: ClusterOptions;

  constructor(opts: ClusterOptions) {
    this.#opts = opts;
    this.#held = new HeldObjects({
      state: opts.state,
      upstreams: opts.upstreams,
      ...(opts.setRoutes ? { setRoutes: opts.setRoutes } : {}),
      ...(opts.onChange ? { onChange: opts.onChange } : {}),
    });
    this.#actuator = new LocalActuator(this.#held);
    this.#platform = new LocalTaskPlatform(this.#held, opts.revisionReady, opts.env ?? process.env);
  }

  get state(): RoutingState {
    return this.#held.state;
  }

  table(): RouteTable {
    return this.#held.table();
  }

  readFields(fields: readonly WeightField[]): Promise<unknown[]> {
    return this.#actuator.readFields(fields);
  }

  writeFields(writes: readonly FieldWrite[]): Promise<void> {
    return this.#actuator.writeFields(writes);
  }

  /** The experiment's weights as the engine reads them here (the run's preflight reads them too). */
  read(exp: Experiment): Promise<VersionWeight[]> {
    return readWeights(this, exp);
  }

  /** Writes the experiment's weights as the engine does. */
  apply(exp: Experiment, weights: VersionWeight[]): Promise<void> {
    return writeWeights(this, exp, weights);
  }

  getObject(ref: ObjectRef): Promise<Record<string, unknown> | undefined> {
    return this.#platform.getObject(ref);
  }

  getSecret(key: ObjectKey): Promise<Record<string, string> | undefined> {
    return this.#platform.getSecret(key);
  }

  /** Revisions of a Knative Service, oldest first (the last is the latest created). */
  revisionsOf(namespace: string, name: string): string[] {
    return revisionsOf(this.#held.objects, namespace, name);
  }

  helm(argv: string[]): Promise<string> {
    const helm = this.#opts.helm;
    if (!helm) return Promise.reject(new Error("no helm mapping in the lab file"));
    return helmPromote(this.#held, helm, argv, this.#opts.startRevision);
  }
}
