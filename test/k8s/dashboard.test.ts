// The dashboard's cluster feed on a real kube-apiserver: one list and one watch serve the pages,
// and a status change on the cluster reaches an open event stream.

import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, test } from "node:test";
import { ClusterFeed } from "../../src/dashboard/cluster-feed.ts";
import { DashboardServer } from "../../src/dashboard/server.ts";
import { experimentsPath } from "../../src/platforms/kubernetes/resources.ts";
import { MERGE_PATCH } from "../../src/platforms/kubernetes/rest.ts";
import { apply, fastSeed, startEnv, type TestEnv } from "./support.ts";

const NS = "dashboard";

function getJson(port: number, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve(JSON.parse(body)));
    })
      .on("error", reject)
      .end();
  });
}

/** The models an event stream sends, until `enough` is true; `onFirst` runs after the first one. */
function models(
  port: number,
  path: string,
  enough: (m: unknown[]) => boolean,
  onFirst: () => Promise<unknown>,
) {
  return new Promise<Array<{ iterations: number[]; stage: string }>>((resolve, reject) => {
    const got: Array<{ iterations: number[]; stage: string }> = [];
    const req = request({ host: "127.0.0.1", port, path }, (res) => {
      let buf = "";
      res.setEncoding("utf8").on("data", (c: string) => {
        buf += c;
        for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (!block.startsWith("event: model") || !data) continue;
          got.push(JSON.parse(data));
          if (got.length === 1) onFirst().catch(reject);
        }
        if (enough(got)) {
          req.destroy();
          resolve(got);
        }
      });
    });
    req.on("error", (e) => (req.destroyed ? undefined : reject(e)));
    req.end();
  });
}

describe("iter8 dashboard on a cluster", { timeout: 180_000 }, () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv();
    await env.admin.request("POST", "/api/v1/namespaces", { body: { metadata: { name: NS } } });
  });
  after(async () => env?.stop());

  test("lists the namespace's experiments and streams a status change to an open page", async () => {
    const exp = fastSeed("001-experiment.yaml");
    await apply(env.admin, env.discovery, exp, NS);
    const feed = await ClusterFeed.start(env.admin, { namespace: NS });
    const server = new DashboardServer({ feed });
    const { port } = await server.listen("127.0.0.1", 0);
    try {
      const rows = (await getJson(port, "/api/experiments")) as Array<{ name: string; namespace: string }>;
      assert.deepEqual(
        rows.map((r) => `${r.namespace}/${r.name}`),
        [`${NS}/canary-progressive`],
      );
      const got = await models(
        port,
        `/events/experiments/${NS}/canary-progressive`,
        (m) => m.length >= 2,
        () =>
          env.admin.request("PATCH", `${experimentsPath(NS, "canary-progressive")}/status`, {
            contentType: MERGE_PATCH,
            body: {
              status: {
                stage: "Running",
                completedIterations: 1,
                currentWeightDistribution: [
                  { name: "current", value: 95 },
                  { name: "candidate", value: 5 },
                ],
              },
            },
          }),
      );
      assert.deepEqual(got[0]?.iterations, []);
      assert.equal(got[1]?.stage, "Running");
      assert.deepEqual(got[1]?.iterations, [1]);
    } finally {
      feed.close();
      await server.close();
    }
  });
});
