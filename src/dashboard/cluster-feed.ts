// The dashboard's feed from a cluster: one list, then one watch of Experiments (relisting when the
// watch's resourceVersion expires), shared by every browser the dashboard serves.

import type { Experiment } from "../api/types.ts";
import {
  type ExperimentScope,
  listExperiments,
  watchExperiments,
} from "../platforms/kubernetes/cluster-read.ts";
import type { KubeClient } from "../platforms/kubernetes/rest.ts";
import { type ExperimentFeed, type FeedListener, FeedState } from "./feed.ts";

export class ClusterFeed implements ExperimentFeed {
  readonly #state = new FeedState();
  readonly #abort = new AbortController();

  private constructor() {}

  /** Lists once (so the first page is complete), then keeps watching in the background. */
  static async start(client: KubeClient, scope: ExperimentScope): Promise<ClusterFeed> {
    const feed = new ClusterFeed();
    const first = await listExperiments(client, scope);
    for (const e of first.items) feed.#state.put(e);
    void watchExperiments(
      client,
      scope,
      first.resourceVersion,
      (e) => feed.#state.put(e),
      feed.#abort.signal,
    );
    return feed;
  }

  list(): Experiment[] {
    return this.#state.list();
  }

  get(namespace: string, name: string): Experiment | undefined {
    return this.#state.get(namespace, name);
  }

  subscribe(listener: FeedListener): () => void {
    return this.#state.subscribe(listener);
  }

  close(): void {
    this.#abort.abort();
  }
}
