// Controller behaviour on a real kube-apiserver, every controller running as the chart's
// ServiceAccount: resuming after a restart without repeating or skipping an iteration, leader
// election between two replicas, invalid experiments ending Failed with the reason, and watches
// that survive dropped connections and pick up what happened meanwhile.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { experimentsPath, LEASE_NAME } from "../../src/platforms/kubernetes/resources.ts";
import { KubeApiError, KubeClient, resourcePath } from "../../src/platforms/kubernetes/rest.ts";
import { metricFixture } from "../support/experiments.ts";
import { asObj, canaryOn } from "./experiments.ts";
import { waitFor } from "./harness/http.ts";
import {
  apply,
  completed,
  condition,
  controllerAsServiceAccount,
  cuttableProxy,
  INSTALL_NS,
  type Obj,
  ROOT,
  readYaml,
  recordChanges,
  SA,
  startEnv,
  type TestEnv,
  waitForExperiment,
} from "./support.ts";

function virtualService(namespace: string, name: string): Obj {
  const route = (host: string, weight: number) => ({ destination: { host }, weight });
  return {
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "VirtualService",
    metadata: { name, namespace },
    spec: { hosts: ["example.com"], http: [{ route: [route("v1", 100), route("v2", 0)] }] },
  };
}

/** A Canary experiment shifting the weights of `vs` (like seed 000, in the test's namespace), each
 * iteration a second; `extra` replaces whole fields of its spec. */
function canary(namespace: string, name: string, vs: string, iterations: number, extra: Obj = {}): Obj {
  const exp = canaryOn(namespace, name, vs, iterations, 1);
  return { ...exp, spec: { ...(exp["spec"] as Obj), ...extra } };
}

/** Weights after each iteration of a winning candidate. */
function expectedWeights(iterations: number): number[][] {
  const out = [[100, 0]];
  for (let i = 1; i <= iterations; i++) {
    const c = Math.min(10 * i, 95);
    out.push([100 - c, c]);
  }
  return out;
}

const vsWeights = (o: Obj) =>
  ((o["spec"] as { http: { route: { weight?: number }[] }[] }).http[0]!.route ?? []).map((r) => r.weight);

async function eventsOf(env: TestEnv, namespace: string, name: string) {
  const list = await env.admin.get<{
    items: { reason: string; message: string; reportingInstance?: string; involvedObject: Obj }[];
  }>(resourcePath("v1", "events", namespace));
  return list.items.filter((e) => e.involvedObject["name"] === name);
}

describe("controller on a real API server", { timeout: 240_000 }, () => {
  let env: TestEnv;

  before(async () => {
    env = await startEnv();
  });
  after(async () => {
    await env?.stop();
  });

  test("a controller restarted mid-experiment resumes: no iteration repeated or skipped", async () => {
    const ns = await env.cp.createNamespace("restart");
    await apply(env.admin, env.discovery, virtualService(ns, "vs"));
    const weights = recordChanges(
      env.admin,
      resourcePath("networking.istio.io/v1alpha3", "virtualservices", ns),
      "vs",
      vsWeights,
    );
    // Every status write of the experiment, in order (repeats kept).
    const counts = recordChanges(
      env.admin,
      experimentsPath(ns),
      "exp",
      (o) => ((o["status"] ?? {}) as { completedIterations?: number }).completedIterations ?? 0,
      { keepRepeats: true },
    );
    const first = controllerAsServiceAccount(env);
    const running = first.controller.start();
    try {
      await apply(env.admin, env.discovery, canary(ns, "exp", "vs", 8));
      const mid = await waitForExperiment(
        env.admin,
        ns,
        "exp",
        "3 iterations",
        (e) => (e.status?.completedIterations ?? 0) >= 3,
      );
      await first.controller.stop();
      await running;
      const atStop = (await waitForExperiment(env.admin, ns, "exp", "read", () => true)).status!
        .completedIterations!;
      assert.ok(atStop >= mid.status!.completedIterations! && atStop < 8, `stopped at ${atStop}`);

      const second = controllerAsServiceAccount(env);
      void second.controller.start();
      try {
        const done = await waitForExperiment(env.admin, ns, "exp", "Completed", completed);
        assert.equal(done.status!.completedIterations, 8);
        assert.equal(done.status!.message, "ExperimentCompleted: Experiment completed successfully");
        // Every iteration moved the weights exactly one step: none repeated, none skipped.
        assert.deepEqual(weights.values, expectedWeights(8));
        // completedIterations only ever grew by one.
        const seen = counts.values;
        for (let i = 1; i < seen.length; i++) {
          assert.ok(seen[i]! - seen[i - 1]! <= 1 && seen[i]! >= seen[i - 1]!, `counts ${seen.join(",")}`);
        }
        assert.equal(seen.at(-1), 8, JSON.stringify(seen));
      } finally {
        await second.controller.stop();
      }
    } finally {
      counts.stop();
      weights.stop();
      await first.controller.stop();
    }
  });

  test("a controller stopped during the finish action: the action is stopped and relaunched once by the next", async () => {
    const ns = await env.cp.createNamespace("restart-action");
    await apply(env.admin, env.discovery, virtualService(ns, "vs"));
    const log = join(mkdtempSync(join(tmpdir(), "iter8-finish-")), "finish.log");
    writeFileSync(log, "");
    const exp = canary(ns, "exp", "vs", 1, {
      strategy: {
        testingPattern: "Canary",
        // Declared idempotent: an interrupted task is run again only then (else the action fails).
        actions: { finish: [{ run: `echo start >> ${log}; sleep 2; echo end >> ${log}`, idempotent: true }] },
      },
    });
    const first = controllerAsServiceAccount(env);
    void first.controller.start();
    let stopped = false;
    try {
      await apply(env.admin, env.discovery, exp);
      await waitFor(
        "the finish action to start",
        async () => (readFileSync(log, "utf8").includes("start") ? true : undefined),
        {
          timeoutMs: 30_000,
        },
      );
      await first.controller.stop();
      stopped = true;
      const mid = await waitForExperiment(env.admin, ns, "exp", "read", () => true);
      assert.equal(mid.status?.stage, "Finishing");
      const second = controllerAsServiceAccount(env);
      void second.controller.start();
      try {
        const done = await waitForExperiment(env.admin, ns, "exp", "Completed", completed);
        assert.equal(done.status?.message, "ExperimentCompleted: Experiment Completed");
        // The interrupted run was killed before its end; the relaunch ran to completion.
        assert.deepEqual(readFileSync(log, "utf8").trim().split("\n"), ["start", "start", "end"]);
      } finally {
        await second.controller.stop();
      }
    } finally {
      if (!stopped) await first.controller.stop();
    }
  });

  test("of two replicas with --leader-elect only the Lease holder acts; the other takes over when it stops", async () => {
    const ns = await env.cp.createNamespace("leader");
    await apply(env.admin, env.discovery, virtualService(ns, "vs1"));
    await apply(env.admin, env.discovery, virtualService(ns, "vs2"));
    const opts = { leaderElect: true, leaseDurationMs: 3000 };
    const a = controllerAsServiceAccount(env, { ...opts, identity: "replica-a" });
    const b = controllerAsServiceAccount(env, { ...opts, identity: "replica-b" });
    let both = 0;
    const sampler = setInterval(() => {
      if (a.controller.leading && b.controller.leading) both++;
    }, 20);
    void a.controller.start();
    try {
      await waitFor("replica-a to lead", async () => (a.controller.leading ? true : undefined), {
        timeoutMs: 20_000,
      });
      void b.controller.start();
      await apply(env.admin, env.discovery, canary(ns, "first", "vs1", 4));
      await waitForExperiment(env.admin, ns, "first", "Completed", completed);
      assert.equal(b.controller.leading, false);
      const lease = await env.admin.get<{ spec: { holderIdentity: string } }>(
        `/apis/coordination.k8s.io/v1/namespaces/${INSTALL_NS}/leases/${LEASE_NAME}`,
      );
      assert.equal(lease.spec.holderIdentity, "replica-a");
      const firstEvents = await eventsOf(env, ns, "first");
      assert.ok(firstEvents.length > 0);
      assert.deepEqual([...new Set(firstEvents.map((e) => e.reportingInstance))], ["replica-a"]);

      // The leader stops cleanly (releasing the Lease): the standby takes over.
      await a.controller.stop();
      await waitFor("replica-b to lead", async () => (b.controller.leading ? true : undefined), {
        timeoutMs: 20_000,
      });
      await apply(env.admin, env.discovery, canary(ns, "second", "vs2", 3));
      await waitForExperiment(env.admin, ns, "second", "Completed", completed);
      const secondEvents = await eventsOf(env, ns, "second");
      assert.deepEqual([...new Set(secondEvents.map((e) => e.reportingInstance))], ["replica-b"]);
      assert.equal(both, 0, "both replicas were leading at the same time");
    } finally {
      clearInterval(sampler);
      await a.controller.stop();
      await b.controller.stop();
    }
  });

  test("a leader cut off from the API server steps down before the standby takes over", async () => {
    const ns = await env.cp.createNamespace("partition");
    await apply(env.admin, env.discovery, virtualService(ns, "vs"));
    const proxy = await cuttableProxy(env);
    const opts = { leaderElect: true, leaseDurationMs: 3000 };
    const a = controllerAsServiceAccount(env, { ...opts, identity: "cut-a", client: proxy.client });
    const b = controllerAsServiceAccount(env, { ...opts, identity: "cut-b" });
    let both = 0;
    const sampler = setInterval(() => {
      if (a.controller.leading && b.controller.leading) both++;
    }, 10);
    void a.controller.start();
    try {
      await waitFor("cut-a to lead", async () => (a.controller.leading ? true : undefined), {
        timeoutMs: 20_000,
      });
      void b.controller.start();
      await apply(env.admin, env.discovery, canary(ns, "exp", "vs", 6));
      await waitForExperiment(
        env.admin,
        ns,
        "exp",
        "2 iterations",
        (e) => (e.status?.completedIterations ?? 0) >= 2,
      );
      proxy.cut();
      await waitFor("cut-a to step down", async () => (a.controller.leading ? undefined : true), {
        timeoutMs: 10_000,
      });
      await waitFor("cut-b to lead", async () => (b.controller.leading ? true : undefined), {
        timeoutMs: 10_000,
      });
      const done = await waitForExperiment(env.admin, ns, "exp", "Completed", completed);
      assert.equal(done.status?.completedIterations, 6);
      assert.equal(condition(done, "Failed")?.status, "False");
      assert.equal(both, 0, "both replicas were leading at the same time");
      const lease = await env.admin.get<{ spec: { holderIdentity: string; leaseTransitions: number } }>(
        `/apis/coordination.k8s.io/v1/namespaces/${INSTALL_NS}/leases/${LEASE_NAME}`,
      );
      assert.equal(lease.spec.holderIdentity, "cut-b");
    } finally {
      clearInterval(sampler);
      await b.controller.stop();
      await a.controller.stop();
      proxy.close();
    }
  });

  test("experiments on one target run one at a time; deleting the holder hands the target on", async () => {
    const nsA = await env.cp.createNamespace("lock-a");
    const nsB = await env.cp.createNamespace("lock-b");
    await apply(env.admin, env.discovery, virtualService(nsA, "vs"));
    await apply(env.admin, env.discovery, virtualService(nsB, "vs"));
    const { controller } = controllerAsServiceAccount(env);
    void controller.start();
    try {
      const target = `${nsA}/shared-target`;
      await apply(env.admin, env.discovery, canary(nsA, "first", "vs", 30, { target }));
      await waitForExperiment(
        env.admin,
        nsA,
        "first",
        "running",
        (e) => (e.status?.completedIterations ?? 0) >= 1,
      );
      await apply(env.admin, env.discovery, canary(nsB, "second", "vs", 2, { target }));
      const waiting = await waitForExperiment(
        env.admin,
        nsB,
        "second",
        "initialised",
        (e) => e.status?.initTime !== undefined,
      );
      // While the first holds the target the second waits, across namespaces.
      await waitForExperiment(
        env.admin,
        nsA,
        "first",
        "two more iterations",
        (e) => (e.status?.completedIterations ?? 0) >= 3,
      );
      const still = await waitForExperiment(env.admin, nsB, "second", "read", () => true);
      assert.equal(still.status?.stage, "Waiting");
      assert.equal(still.status?.message, "ExperimentInitialized: Experiment status initialized");
      assert.equal(condition(still, "TargetAcquired")?.status, "False");
      assert.equal(still.metadata.resourceVersion, waiting.metadata.resourceVersion);

      await env.admin.request("DELETE", experimentsPath(nsA, "first"));
      const done = await waitForExperiment(env.admin, nsB, "second", "Completed", completed);
      assert.equal(done.status?.completedIterations, 2);
      assert.equal(condition(done, "TargetAcquired")?.status, "True");
    } finally {
      await controller.stop();
    }
  });

  test("invalid experiments end Failed with the reason in the message", async () => {
    const ns = await env.cp.createNamespace("invalid");
    await apply(env.admin, env.discovery, virtualService(ns, "vs"));
    const { controller } = controllerAsServiceAccount(env);
    void controller.start();
    try {
      const badTask = canary(ns, "bad-task", "vs", 2, {
        target: `${ns}/t1`,
        strategy: { testingPattern: "Canary", actions: { start: [{ task: "common/no-such-task" }] } },
      });
      const twoCandidates = canary(ns, "two-candidates", "vs", 2, { target: `${ns}/t2` });
      const vi = (twoCandidates["spec"] as { versionInfo: { candidates: Obj[] } }).versionInfo;
      vi.candidates.push({ name: "candidate-2" });
      const unknownMetric = canary(ns, "unknown-metric", "vs", 2, {
        target: `${ns}/t3`,
        criteria: { objectives: [{ metric: "iter8-knative/no-such-metric", upperLimit: 1 }] },
      });
      for (const e of [badTask, twoCandidates, unknownMetric]) await apply(env.admin, env.discovery, e);

      const cases: [string, RegExp][] = [
        ["bad-task", /common\/no-such-task/],
        ["two-candidates", /candidates/],
        ["unknown-metric", /Unable to find metric iter8-knative\/no-such-metric/],
      ];
      for (const [name, reason] of cases) {
        const e = await waitForExperiment(env.admin, ns, name, "Completed", completed);
        const failed = condition(e, "Failed");
        assert.equal(failed?.status, "True", name);
        assert.match(failed?.message ?? "", reason, name);
        assert.equal(e.status?.message, "ExperimentCompleted: Experiment failed");
        assert.equal(e.status?.stage, "Completed");
      }
      // Nothing was shifted by the failed experiments.
      const vs = await env.admin.get<Obj>(
        `${resourcePath("networking.istio.io/v1alpha3", "virtualservices", ns)}/vs`,
      );
      assert.deepEqual(vsWeights(vs), [100, 0]);
    } finally {
      await controller.stop();
    }
  });

  test("watches survive dropped connections and the relist catches what happened meanwhile", async () => {
    const ns = await env.cp.createNamespace("disconnect");
    await apply(env.admin, env.discovery, virtualService(ns, "vs1"));
    await apply(env.admin, env.discovery, virtualService(ns, "vs2"));
    const proxy = await cuttableProxy(env);
    const { controller } = controllerAsServiceAccount(env, { client: proxy.client });
    void controller.start();
    try {
      await apply(env.admin, env.discovery, canary(ns, "first", "vs1", 5));
      await waitForExperiment(
        env.admin,
        ns,
        "first",
        "2 iterations",
        (e) => (e.status?.completedIterations ?? 0) >= 2,
      );
      // Cut every connection and refuse new ones while a second experiment is created.
      proxy.cut();
      await apply(env.admin, env.discovery, canary(ns, "second", "vs2", 3));
      proxy.restore();
      const first = await waitForExperiment(env.admin, ns, "first", "Completed", completed);
      const second = await waitForExperiment(env.admin, ns, "second", "Completed", completed);
      assert.equal(first.status?.completedIterations, 5);
      assert.equal(second.status?.completedIterations, 3);
      assert.equal(condition(first, "Failed")?.status, "False");
    } finally {
      await controller.stop();
      proxy.close();
    }
  });

  test("metrics from an HTTP backend with a Bearer token from a Secret; common/readiness waits for an object", async () => {
    const ns = await env.cp.createNamespace("secrets");
    await apply(env.admin, env.discovery, virtualService(ns, "vs"));
    // A metrics backend on loopback that insists on the token.
    const seen: string[] = [];
    const backend = createHttpServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      seen.push(req.headers.authorization ?? "");
      if (req.headers.authorization !== "Bearer s3cret") {
        res.writeHead(401).end("{}");
        return;
      }
      const version = url.searchParams.get("version");
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ value: version === "current" ? 12 : 80 }));
    });
    await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
    const port = (backend.address() as { port: number }).port;
    await apply(env.admin, env.discovery, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "metrics-token", namespace: ns },
      stringData: { token: "s3cret" },
    });
    await apply(
      env.admin,
      env.discovery,
      asObj(
        metricFixture(`${ns}/http-latency`, {
          type: "Gauge",
          urlTemplate: `http://127.0.0.1:${port}/query`,
          params: [{ name: "version", value: "$name" }],
          headerTemplates: [{ name: "Authorization", value: "Bearer ${token}" }],
          authType: "Bearer",
          secret: "metrics-token",
          jqExpression: ".value",
        }),
      ),
    );
    const { controller } = controllerAsServiceAccount(env);
    void controller.start();
    try {
      const exp = canary(ns, "exp", "vs", 3, {
        strategy: {
          testingPattern: "Canary",
          actions: {
            start: [
              {
                task: "common/readiness",
                with: {
                  initialDelaySeconds: 0,
                  intervalSeconds: 1,
                  numRetries: 30,
                  objRefs: [
                    {
                      kind: "virtualservice.v1alpha3.networking.istio.io",
                      name: "late",
                      waitFor: "jsonpath={.spec.hosts[0]}=example.com",
                    },
                  ],
                },
              },
            ],
          },
        },
        criteria: { objectives: [{ metric: "http-latency", upperLimit: 50 }] },
      });
      await apply(env.admin, env.discovery, exp);
      await waitForExperiment(env.admin, ns, "exp", "start action running", (e) =>
        (e.status?.message ?? "").includes("Start handler 'start' launched"),
      );
      // The object the readiness task waits for appears only now.
      await apply(env.admin, env.discovery, virtualService(ns, "late"));
      const done = await waitForExperiment(env.admin, ns, "exp", "Completed", completed);
      assert.equal(condition(done, "Failed")?.status, "False", JSON.stringify(done.status));
      assert.equal(done.status?.completedIterations, 3);
      const data = done.status?.analysis?.aggregatedMetrics?.data?.[`${ns}/http-latency`]?.data ?? {};
      assert.equal(Number(data["current"]?.value), 12);
      assert.equal(Number(data["candidate"]?.value), 80);
      // The candidate misses its objective: no winner, the baseline keeps 95%.
      assert.equal(done.status?.versionRecommendedForPromotion, "current");
      assert.deepEqual(done.status?.currentWeightDistribution, [
        { name: "current", value: 95 },
        { name: "candidate", value: 5 },
      ]);
      assert.ok(seen.length > 0 && seen.every((h) => h === "Bearer s3cret"));
    } finally {
      await controller.stop();
      backend.close();
    }
  });

  test("--namespaces limits the controller to the listed namespaces", async () => {
    const watched = await env.cp.createNamespace("watched");
    const ignored = await env.cp.createNamespace("ignored");
    for (const ns of [watched, ignored]) await apply(env.admin, env.discovery, virtualService(ns, "vs"));
    const { controller } = controllerAsServiceAccount(env, { namespaces: [watched] });
    void controller.start();
    try {
      await apply(env.admin, env.discovery, canary(ignored, "exp", "vs", 2));
      await apply(env.admin, env.discovery, canary(watched, "exp", "vs", 2));
      await waitForExperiment(env.admin, watched, "exp", "Completed", completed);
      const other = await waitForExperiment(env.admin, ignored, "exp", "read", () => true);
      assert.equal(other.status, undefined, "an experiment outside --namespaces was touched");
    } finally {
      await controller.stop();
    }
  });

  test("the deploy manifests and the chart's sample metrics are accepted by the API server (dry run)", async () => {
    const files = [
      "controller/controller.yaml",
      "metrics/iter8-knative.yaml",
      "metrics/iter8-system-prometheus.yaml",
    ];
    let checked = 0;
    for (const file of files) {
      for (const obj of readYaml(join(ROOT, "deploy", file))) {
        if (obj["kind"] === "Namespace") continue;
        const md = obj["metadata"] as Obj;
        const r = await env.discovery.forKind(String(obj["apiVersion"]), String(obj["kind"]));
        const path = resourcePath(
          String(obj["apiVersion"]),
          r.plural,
          r.namespaced ? String(md["namespace"]) : undefined,
        );
        // A fresh name: the tests' mock Metrics already use the sample names.
        const body = { ...obj, metadata: { ...md, name: `${String(md["name"])}-dry` } };
        await env.admin.request("POST", path, {
          body,
          query: { dryRun: "All", fieldValidation: "Strict" },
        });
        checked++;
      }
    }
    assert.ok(checked >= 12, `checked ${checked} objects`);
  });

  test("a v2alpha1 Metric (iter8 v0.2.5 form) is stored as v2alpha2 and reads back unchanged in v2alpha1", async () => {
    const ns = await env.cp.createNamespace("metric-v1");
    const v1 = {
      apiVersion: "iter8.tools/v2alpha1",
      kind: "Metric",
      metadata: { name: "mean-latency", namespace: ns },
      spec: {
        description: "Mean latency",
        units: "milliseconds",
        provider: "prometheus",
        type: "gauge",
        sampleSize: { name: "request-count" },
        params: [{ name: "query", value: "sum(increase(x{revision_name='$revision'}[$interval]))" }],
      },
    };
    await apply(env.admin, env.discovery, v1);
    const path = resourcePath("iter8.tools/v2alpha2", "metrics", ns, "mean-latency");
    const stored = await env.admin.get<{ spec: Obj; metadata: { annotations?: Record<string, string> } }>(
      path,
    );
    assert.equal(stored.spec["type"], "Gauge");
    assert.equal(stored.spec["sampleSize"], "request-count");
    assert.equal(stored.spec["jqExpression"], ".data.result[0].value[1] | tonumber");
    assert.deepEqual(stored.spec["params"], [
      { name: "query", value: "sum(increase(x{revision_name='$revision'}[${elapsedTime}s]))" },
    ]);
    assert.equal(stored.metadata.annotations?.["iter8.tools/source-version"], "v2alpha1");
    const back = await env.admin.get<{ spec: Obj }>(path.replace("/v2alpha2/", "/v2alpha1/"));
    assert.deepEqual(back.spec, v1.spec);
  });

  test("the ServiceAccount has exactly the chart's least privileges", async () => {
    const { kc } = env.cp.serviceAccountKubeConfig(SA.namespace, SA.name);
    const sa = new KubeClient(kc);
    const forbidden = async (method: string, path: string, body?: unknown) => {
      await assert.rejects(
        sa.request(method, path, body === undefined ? {} : { body }),
        (err: unknown) => err instanceof KubeApiError && err.status === 403,
        `${method} ${path} should be forbidden`,
      );
    };
    try {
      // Allowed: what the controller needs.
      await sa.get(experimentsPath());
      await sa.get(resourcePath("iter8.tools/v2alpha2", "metrics", "iter8-knative", "mean-latency"));
      // Not allowed: anything else.
      await forbidden("GET", resourcePath("v1", "secrets", "default")); // list secrets
      await forbidden("DELETE", experimentsPath("default", "anything"));
      await forbidden("POST", experimentsPath("default"), {
        apiVersion: "iter8.tools/v2alpha2",
        kind: "Experiment",
      });
      await forbidden("GET", resourcePath("apps/v1", "deployments", "default"));
      await forbidden(
        "DELETE",
        resourcePath("networking.istio.io/v1alpha3", "virtualservices", "default", "x"),
      );
      await forbidden("GET", `/apis/coordination.k8s.io/v1/namespaces/default/leases/${LEASE_NAME}`);
    } finally {
      sa.close();
    }
  });
});
