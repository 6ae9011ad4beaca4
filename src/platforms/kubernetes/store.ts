// ExperimentStore over the API server: Experiments in `iter8.tools/v2alpha2` (the storage version;
// v2alpha1 objects arrive converted by the conversion webhook), status through the status
// subresource with optimistic concurrency (409 -> ConflictError, the engine re-reads and redoes).

import type { Experiment, Metric } from "../../api/types.ts";
import { ConflictError, type ExperimentStore, type ObjectKey } from "../../engine/ports.ts";
import { experimentsPath, metricsPath } from "./resources.ts";
import { isConflictError, isNotFound, type KubeClient } from "./rest.ts";

export class KubeExperimentStore implements ExperimentStore {
  readonly #client: KubeClient;
  /** Namespaces listed for target locking; undefined = all namespaces. */
  readonly #namespaces: string[] | undefined;

  constructor(client: KubeClient, opts: { namespaces?: string[] } = {}) {
    this.#client = client;
    this.#namespaces = opts.namespaces;
  }

  async get(key: ObjectKey): Promise<Experiment | undefined> {
    try {
      return await this.#client.get<Experiment>(experimentsPath(key.namespace, key.name));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list(): Promise<Experiment[]> {
    const namespaces = this.#namespaces ?? [undefined];
    const lists = await Promise.all(
      namespaces.map((ns) => this.#client.get<{ items: Experiment[] }>(experimentsPath(ns))),
    );
    return lists.flatMap((l) =>
      l.items.map((e) => ({ ...e, apiVersion: "iter8.tools/v2alpha2", kind: "Experiment" })),
    );
  }

  async updateStatus(experiment: Experiment): Promise<Experiment> {
    const { namespace = "default", name } = experiment.metadata;
    try {
      return await this.#client.request<Experiment>("PUT", experimentsPath(namespace, name, "status"), {
        body: experiment,
      });
    } catch (err) {
      if (isConflictError(err)) throw new ConflictError((err as Error).message);
      throw err;
    }
  }

  async updateSpec(experiment: Experiment): Promise<Experiment> {
    const { namespace = "default", name } = experiment.metadata;
    try {
      return await this.#client.request<Experiment>("PUT", experimentsPath(namespace, name), {
        body: experiment,
      });
    } catch (err) {
      if (isConflictError(err)) throw new ConflictError((err as Error).message);
      throw err;
    }
  }

  async getMetric(key: ObjectKey): Promise<Metric | undefined> {
    try {
      return await this.#client.get<Metric>(metricsPath(key.namespace, key.name));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}
