// ExperimentStore over the API server: Experiments in `iter8.tools/v2alpha2` (the storage version;
// v2alpha1 objects arrive converted by the conversion webhook), status through the status
// subresource with optimistic concurrency (409 -> ConflictError, the engine re-reads and redoes).
// Reads come from the controller's watch-fed cache (informer.ts); every write's answer goes back
// into it. Metrics are read from the API server and kept briefly: a thousand experiments starting
// at once name the same few Metrics.

import { namespaceOf } from "../../api/refs.ts";
import type { Experiment, Metric } from "../../api/types.ts";
import { ConflictError, type ExperimentStore, type ObjectKey } from "../../engine/ports.ts";
import { keyText } from "../../engine/target.ts";
import type { ExperimentCache } from "./informer.ts";
import { experimentsPath, metricsPath } from "./resources.ts";
import { isConflictError, isNotFound, type KubeClient } from "./rest.ts";

/** How long a Metric read stays fresh. Edits to a Metric reach experiments that start after this. */
const METRIC_TTL_MS = 10_000;

export class KubeExperimentStore implements ExperimentStore {
  readonly #client: KubeClient;
  readonly #cache: ExperimentCache;
  readonly #metrics = new Map<string, { at: number; metric: Promise<Metric | undefined> }>();

  constructor(client: KubeClient, cache: ExperimentCache) {
    this.#client = client;
    this.#cache = cache;
  }

  async get(key: ObjectKey): Promise<Experiment | undefined> {
    return this.#cache.get(key);
  }

  async list(): Promise<Experiment[]> {
    return this.#cache.list();
  }

  async listByTarget(target: string): Promise<Experiment[]> {
    return this.#cache.listByTarget(target);
  }

  updateStatus(experiment: Experiment): Promise<Experiment> {
    return this.#write(experiment, "status");
  }

  updateSpec(experiment: Experiment): Promise<Experiment> {
    return this.#write(experiment);
  }

  async #write(experiment: Experiment, subresource?: string): Promise<Experiment> {
    const key = { namespace: namespaceOf(experiment), name: experiment.metadata.name };
    const path = experimentsPath(key.namespace, key.name, subresource);
    this.#cache.beginWrite(key);
    try {
      const written = await this.#client.request<Experiment>("PUT", path, { body: experiment });
      this.#cache.recordWrite(written);
      return written;
    } catch (err) {
      if (isConflictError(err)) {
        // The cache was behind: read the current object so the engine's redo starts from it.
        await this.#reread(key);
        throw new ConflictError((err as Error).message);
      }
      if (isNotFound(err)) this.#cache.refresh(undefined, key);
      throw err;
    } finally {
      this.#cache.endWrite(key);
    }
  }

  async #reread(key: ObjectKey): Promise<void> {
    try {
      this.#cache.refresh(await this.#client.get<Experiment>(experimentsPath(key.namespace, key.name)), key);
    } catch (err) {
      if (isNotFound(err)) this.#cache.refresh(undefined, key);
    }
  }

  async getMetric(key: ObjectKey): Promise<Metric | undefined> {
    const id = keyText(key);
    const hit = this.#metrics.get(id);
    if (hit && Date.now() - hit.at < METRIC_TTL_MS) return structuredClone(await hit.metric);
    const metric = this.#client.get<Metric>(metricsPath(key.namespace, key.name)).catch((err) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    const entry = { at: Date.now(), metric };
    this.#metrics.set(id, entry);
    try {
      const m = await metric;
      // Only found Metrics are kept: one created right after is seen at once.
      if (m === undefined && this.#metrics.get(id) === entry) this.#metrics.delete(id);
      return m === undefined ? undefined : structuredClone(m);
    } catch (err) {
      if (this.#metrics.get(id) === entry) this.#metrics.delete(id);
      throw err;
    }
  }
}
