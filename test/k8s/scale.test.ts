// The controller's core loop on a real kube-apiserver, as the chart's ServiceAccount, counting every
// request it makes: reads come from its watch-fed cache (no GET of an Experiment, one LIST per
// relist), its own status writes coming back on the watch do not cause reconciles, target locking
// reads the cache's index instead of listing, and built-in (`provider: iter8`) metrics collected by
// `metrics/collect` from a sample app on loopback decide an experiment on the cluster.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Experiment } from "../../src/api/types.ts";
import { ControllerMetrics } from "../../src/platforms/kubernetes/controller-metrics.ts";
import { listWatch } from "../../src/platforms/kubernetes/listwatch.ts";
import { experimentsPath } from "../../src/platforms/kubernetes/resources.ts";
import { KubeClient, type RequestRecord } from "../../src/platforms/kubernetes/rest.ts";
import { startSampleApp } from "../../src/sampleapp/index.ts";
import { experimentFixture } from "../support/experiments.ts";
import { asObj, canaryOn, finalCandidateWeight, twoRouteVirtualService } from "./experiments.ts";
import { waitFor } from "./harness/http.ts";
import {
  apply,
  completed,
  condition,
  controllerAsServiceAccount,
  type Obj,
  ROOT,
  readYaml,
  SA,
  startEnv,
  type TestEnv,
  waitForExperiment,
} from "./support.ts";

/** A ServiceAccount client that records every request it makes. */
function countingClient(env: TestEnv): { client: KubeClient; requests: RequestRecord[] } {
  const requests: RequestRecord[] = [];
  const { kc } = env.cp.serviceAccountKubeConfig(SA.namespace, SA.name);
  return { client: new KubeClient(kc, { onRequest: (r) => requests.push(r) }), requests };
}

const count = (rs: RequestRecord[], verb: string, resource: string) =>
  rs.filter((r) => r.verb === verb && r.resource === resource).length;

/**
 * Every LIST of Experiments the controller made began a watch (its cache's list-then-watch; the API
 * server may end a watch early, which relists), so none was made for target locking.
 */
async function assertListsOnlyForWatches(rs: RequestRecord[]): Promise<void> {
  const lists = () => count(rs, "list", "experiments");
  const watches = () => count(rs, "watch", "experiments");
  // A watch is recorded when its answer starts: one opened right after a relist may be in flight.
  await waitFor(
    "the watch that follows the last LIST",
    async () => (lists() <= watches() ? true : undefined),
    {
      timeoutMs: 5000,
    },
  ).catch(() => undefined);
  assert.ok(lists() >= 1 && lists() <= watches(), `${lists()} LISTs of Experiments for ${watches()} watches`);
}

/** Distinct stored versions that carry a status (each status write makes one). */
function statusVersions(seen: { rv: string | undefined; hasStatus: boolean }[]): number {
  return new Set(seen.filter((v) => v.hasStatus).map((v) => v.rv)).size;
}

describe("controller core loop at scale", { timeout: 240_000 }, () => {
  let env: TestEnv;

  before(async () => {
    env = await startEnv();
  });
  after(async () => {
    await env?.stop();
  });

  test("own status writes are not reconciled again, and no Experiment is ever read back", async () => {
    const ns = await env.cp.createNamespace("echo");
    await apply(env.admin, env.discovery, twoRouteVirtualService(ns, "vs"));
    const { client, requests } = countingClient(env);
    const metrics = new ControllerMetrics();
    const { controller } = controllerAsServiceAccount(env, { client, metrics, namespaces: [ns] });
    void controller.start();
    try {
      // Every version of the experiment the API server stored, in order, seen by a watch.
      // (The shared list/watch loop resumes from the last version after an error; a version seen
      // twice counts once.)
      const seen: { rv: string | undefined; hasStatus: boolean }[] = [];
      const note = (e: Experiment) =>
        seen.push({ rv: e.metadata.resourceVersion, hasStatus: e.status !== undefined });
      const ac = new AbortController();
      const watching = listWatch<Experiment>({
        client: env.admin,
        path: experimentsPath(ns),
        onList: (items) => items.forEach(note),
        onEvent: (ev) => note(ev.object),
        signal: ac.signal,
      });
      await apply(env.admin, env.discovery, canaryOn(ns, "echo", "vs", 3, 1));
      const done = await waitForExperiment(env.admin, ns, "echo", "Completed", completed);
      assert.equal(done.status?.completedIterations, 3);
      assert.equal(condition(done, "Failed")?.status, "False");
      // The watch has seen the final write once it shows the Completed version.
      await waitFor(
        "the watch to see the final status",
        async () => (seen.some((v) => v.rv === done.metadata.resourceVersion) ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      ac.abort();
      await watching;

      const writes = count(requests, "update", "experiments/status");
      assert.equal(writes, statusVersions(seen), "every stored status came from one of our writes");
      const passes = (await metrics.reconciles.get()).values.reduce((n, v) => n + v.value, 0);
      // One pass for the creation, then one per status write; none caused by the writes' echoes.
      assert.ok(passes <= writes + 1, `${passes} reconcile passes for ${writes} status writes`);
      // The only change the watch passed on is the creation; every later version was our own.
      const changes = (await metrics.watchChanges.get()).values.map((v) => [v.labels["change"], v.value]);
      assert.deepEqual(changes, [["added", 1]]);
      const echoes = (await metrics.watchEchoes.get()).values[0]?.value ?? 0;
      assert.ok(echoes >= writes - 1, `only ${echoes} of ${writes} own writes recognised on the watch`);
      assert.equal(count(requests, "get", "experiments"), 0, "no Experiment read back from the API server");
      await assertListsOnlyForWatches(requests);
      // The weight PATCH answer stands in for a read-back: one GET of the target, when it starts.
      assert.equal(count(requests, "patch", "virtualservices"), 3);
      assert.equal(count(requests, "get", "virtualservices"), 1);
    } finally {
      await controller.stop();
    }
  });

  test("target locking hands the target on without listing experiments", async () => {
    const ns = await env.cp.createNamespace("nolist");
    await apply(env.admin, env.discovery, twoRouteVirtualService(ns, "vs"));
    const { client, requests } = countingClient(env);
    const { controller } = controllerAsServiceAccount(env, { client, namespaces: [ns] });
    void controller.start();
    try {
      const names = ["first", "second", "third"];
      for (const name of names) await apply(env.admin, env.discovery, canaryOn(ns, name, "vs", 2, 1));
      const ends: Experiment[] = [];
      for (const name of names)
        ends.push(await waitForExperiment(env.admin, ns, name, "Completed", completed));
      // One after another on the shared target, each completing all its iterations.
      const startOf = (e: Experiment) => Date.parse(e.status!.startTime!);
      const endOf = (e: Experiment) =>
        Date.parse(e.status!.conditions!.find((c) => c.type === "Completed")!.lastTransitionTime!);
      const ordered = [...ends].sort((a, b) => startOf(a) - startOf(b));
      for (let i = 1; i < ordered.length; i++) assert.ok(startOf(ordered[i]!) >= endOf(ordered[i - 1]!));
      for (const e of ends) assert.equal(e.status?.completedIterations, 2);
      await assertListsOnlyForWatches(requests);
      assert.equal(count(requests, "get", "experiments"), 0);
    } finally {
      await controller.stop();
    }
  });

  test("metrics/collect against a sample app: built-in metrics decide the experiment on the cluster", async () => {
    const ns = await env.cp.createNamespace("builtin");
    // The built-in Metrics, installed in the test's namespace (iter8-system holds mock ones here).
    for (const m of readYaml(join(ROOT, "deploy", "metrics", "builtin.yaml"))) {
      const text = JSON.stringify(m).replaceAll("iter8-system", ns);
      await apply(env.admin, env.discovery, JSON.parse(text) as Obj);
    }
    const current = await startSampleApp({ version: "v1", seed: 1 });
    const candidate = await startSampleApp({ version: "v2", seed: 2 });
    const { controller } = controllerAsServiceAccount(env, { namespaces: [ns] });
    void controller.start();
    try {
      const url = (app: { url: string }) => app.url;
      const exp = experimentFixture({
        name: "collect",
        namespace: ns,
        target: `${ns}/sample-app`,
        deploymentPattern: "FixedSplit",
        actions: {
          start: [
            {
              task: "metrics/collect",
              with: {
                numQueries: 30,
                qps: 0,
                connections: 2,
                versions: [
                  { name: "current", url: url(current) },
                  { name: "candidate", url: url(candidate) },
                ],
              },
            },
          ],
        },
        criteria: {
          objectives: [
            { metric: `${ns}/mean-latency`, upperLimit: 1000 },
            { metric: `${ns}/error-rate`, upperLimit: "0.01" },
          ],
        },
        duration: { intervalSeconds: 1, iterationsPerLoop: 2 },
      });
      await apply(env.admin, env.discovery, asObj(exp));
      const done = await waitForExperiment(env.admin, ns, "collect", "Completed", completed, 90_000);
      assert.equal(condition(done, "Failed")?.status, "False", done.status?.message);
      assert.equal(done.status?.completedIterations, 2);
      const metricsData = done.status?.analysis?.aggregatedMetrics?.data ?? {};
      for (const version of ["current", "candidate"]) {
        const requestCount = Number(metricsData[`${ns}/request-count`]?.data[version]?.value);
        assert.equal(requestCount, 30, `${version} request-count`);
        const errorRate = Number(metricsData[`${ns}/error-rate`]?.data[version]?.value);
        assert.equal(errorRate, 0, `${version} error-rate`);
        const latency = Number(metricsData[`${ns}/mean-latency`]?.data[version]?.value);
        assert.ok(latency > 0 && latency < 1000, `${version} mean-latency ${latency}`);
      }
      assert.equal(current.stats().requests, 30);
      assert.equal(candidate.stats().requests, 30);
      assert.equal(done.status?.analysis?.winnerAssessment?.data?.winner, "candidate");
      assert.equal(done.status?.versionRecommendedForPromotion, "candidate");
    } finally {
      await controller.stop();
      await current.close();
      await candidate.close();
    }
  });

  test("the controller keeps many experiments on time (20 at once, 3 iterations each)", async () => {
    const ns = await env.cp.createNamespace("many");
    const names = Array.from({ length: 20 }, (_, i) => `exp-${i}`);
    for (const n of names) await apply(env.admin, env.discovery, twoRouteVirtualService(ns, `vs-${n}`));
    const { controller } = controllerAsServiceAccount(env, { namespaces: [ns], iterationEvents: false });
    void controller.start();
    try {
      await Promise.all(names.map((n) => apply(env.admin, env.discovery, canaryOn(ns, n, `vs-${n}`, 3, 1))));
      for (const n of names) {
        const e = await waitForExperiment(env.admin, ns, n, "Completed", completed);
        assert.equal(e.status?.completedIterations, 3, n);
        assert.equal(e.status?.versionRecommendedForPromotion, "candidate", n);
        assert.deepEqual(
          e.status?.currentWeightDistribution?.map((w) => w.value),
          [100 - finalCandidateWeight(3), finalCandidateWeight(3)],
          n,
        );
      }
      // --iteration-events=false: no per-iteration Events, the stage changes still recorded.
      const events = await env.admin.get<{ items: { reason: string; involvedObject: Obj }[] }>(
        `/api/v1/namespaces/${ns}/events`,
      );
      assert.equal(events.items.filter((e) => e.reason === "IterationUpdate").length, 0);
      assert.ok(events.items.some((e) => e.reason === "ExperimentCompleted"));
    } finally {
      await controller.stop();
    }
  });
});
