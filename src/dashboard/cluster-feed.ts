// The dashboard's feed from a cluster: one list, then one watch of Experiments (relisting when the
// watch's resourceVersion expires), shared by every browser the dashboard serves.

import {
  type ExperimentScope,
  listExperiments,
  watchExperiments,
} from "../platforms/kubernetes/cluster-read.ts";
import type { KubeClient } from "../platforms/kubernetes/rest.ts";
import { type ExperimentFeed, FeedState } from "./feed.ts";

export class ClusterFeed extends FeedState implements ExperimentFeed {
  readonly #abort = new AbortController();

  /** Lists once (so the first page is complete), then keeps watching in the background. */
  static async start(client: KubeClient, scope: ExperimentScope): Promise<ClusterFeed> {
    const feed = new ClusterFeed();
    const first = await listExperiments(client, scope);
    for (const e of first.items) feed.put(e);
    void watchExperiments(client, scope, first.resourceVersion, (e) => feed.put(e), feed.#abort.signal);
    return feed;
  }

  close(): void {
    this.#abort.abort();
  }
}
