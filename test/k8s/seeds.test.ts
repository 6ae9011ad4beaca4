// The three seed tutorials on a real kube-apiserver: each seed's manifests applied unchanged (only
// the experiment's `intervalSeconds` shortened), the controller running as the chart's
// ServiceAccount, and the test playing Knative's controller. Asserts the weights written into the
// VirtualService / Knative Service iteration by iteration, the stages and messages, the final
// status, the Events, and the finish task's `{{ .promote }}`.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Controller } from "../../src/platforms/kubernetes/controller.ts";
import { experimentsPath } from "../../src/platforms/kubernetes/resources.ts";
import { resourcePath } from "../../src/platforms/kubernetes/rest.ts";
import { metricFixture } from "../support/experiments.ts";
import { asObj } from "./experiments.ts";
import { resolveTool } from "./harness/binaries.ts";
import { type SeedHelmRepo, startSeedHelmRepo } from "./seed-helm-repo.ts";
import {
  apply,
  completed,
  condition,
  controllerAsServiceAccount,
  fastSeed,
  GOOD_LEVELS,
  markKsvcReady,
  mockMetrics,
  type Obj,
  readYaml,
  recordChanges,
  recordMessages,
  remove,
  SEEDS,
  startEnv,
  type TestEnv,
  waitForExperiment,
} from "./support.ts";

const VS_PATH = resourcePath("networking.istio.io/v1alpha3", "virtualservices", "default");
const KSVC_PATH = resourcePath("serving.knative.dev/v1", "services", "default");

function iterationMessages(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `IterationUpdate: Completed Iteration ${i + 1}`);
}

describe("seed experiments on a real API server", { timeout: 240_000 }, () => {
  let env: TestEnv;
  let controller: Controller;
  let helmLog: string;
  let repo: SeedHelmRepo;

  before(async () => {
    env = await startEnv();
    // seed 001's finish task runs the real helm (against a local copy of what it downloads, see
    // seed-helm-repo.ts) through a wrapper on the controller's PATH that records its argv first.
    repo = await startSeedHelmRepo();
    const bin = mkdtempSync(join(tmpdir(), "iter8-helm-wrapper-"));
    helmLog = join(bin, "argv.jsonl");
    writeFileSync(
      join(bin, "helm"),
      "#!/usr/bin/env node\n" +
        `require("node:fs").appendFileSync(${JSON.stringify(helmLog)}, JSON.stringify(process.argv.slice(2)) + "\\n");\n` +
        `const r = require("node:child_process").spawnSync(${JSON.stringify(resolveTool("ITER8_HELM"))}, process.argv.slice(2), { stdio: "inherit" });\n` +
        "process.exit(r.status ?? 1);\n",
    );
    chmodSync(join(bin, "helm"), 0o755);
    writeFileSync(helmLog, "");
    ({ controller } = controllerAsServiceAccount(env, {
      // The task's helm uses the admin kubeconfig for its release (the controller's own RBAC does
      // not cover Helm's release Secrets).
      env: {
        ...process.env,
        ...repo.env,
        KUBECONFIG: env.cp.kubeconfigPath,
        PATH: `${bin}:${process.env["PATH"]}`,
      },
    }));
    void controller.start();
  });

  /** What the seed's helm release promoted (its ConfigMap in the release namespace). */
  const promoted = async () =>
    (
      await env.admin.get<{ data: { promoted: string } }>(
        "/api/v1/namespaces/iter8-system/configmaps/sample-app-promoted",
      )
    ).data.promoted;

  after(async () => {
    await controller?.stop();
    repo?.close();
    await env?.stop();
  });

  test("000 traffic segmentation: VirtualService weights shift to the candidate step by step", async () => {
    const ns = await env.cp.createNamespace("seed000");
    for (const svc of readYaml(join(SEEDS, "000-services.yaml"))) {
      await apply(env.admin, env.discovery, svc);
      const md = svc["metadata"] as Obj;
      const rev = ((svc["spec"] as Obj)["template"] as { metadata: { name: string } }).metadata.name;
      await markKsvcReady(env.admin, "default", String(md["name"]), [
        { revisionName: rev, latestRevision: true, percent: 100 },
      ]);
    }
    const rule = readYaml(join(SEEDS, "000-routing-rule.yaml"))[0]!;
    await apply(env.admin, env.discovery, rule, "default");
    const weights = recordChanges(env.admin, VS_PATH, "routing-for-wakanda", (o) =>
      ((o["spec"] as { http: { route: { weight?: number }[] }[] }).http[0]!.route ?? []).map((r) => r.weight),
    );
    const messages = recordMessages(env.admin, ns, "request-routing");
    try {
      await apply(env.admin, env.discovery, fastSeed("000-experiment.yaml"), ns);
      const exp = await waitForExperiment(env.admin, ns, "request-routing", "Completed", completed);

      // A winning candidate moves by maxCandidateWeightIncrement (10) up to 95.
      assert.deepEqual(weights.values, [
        [100, 0],
        [90, 10],
        [80, 20],
        [70, 30],
        [60, 40],
        [50, 50],
        [40, 60],
        [30, 70],
        [20, 80],
        [10, 90],
        [5, 95],
      ]);
      const st = exp.status!;
      assert.equal(st.stage, "Completed");
      assert.equal(st.completedIterations, 10);
      assert.equal(st.message, "ExperimentCompleted: Experiment completed successfully");
      assert.equal(st.versionRecommendedForPromotion, "candidate");
      assert.equal(condition(exp, "Failed")?.status, "False");
      assert.deepEqual(st.currentWeightDistribution, [
        { name: "current", value: 5 },
        { name: "candidate", value: 95 },
      ]);
      // The default route (http[1]) is untouched.
      const vs = await env.admin.get<{ spec: { http: Obj[] } }>(`${VS_PATH}/routing-for-wakanda`);
      assert.equal((vs.spec.http[1]!["route"] as Obj[])[0]!["weight"], undefined);

      const seen = messages.values.map((m) => m.message);
      assert.deepEqual(
        seen.filter((m) => m?.startsWith("IterationUpdate")),
        // Iteration 10 and Loop 1 are recorded in one status write: the message shows the later.
        [...iterationMessages(9), "IterationUpdate: Completed Loop 1"],
      );
      assert.equal(seen.at(-1), "ExperimentCompleted: Experiment completed successfully");
      assert.deepEqual(
        [...new Set(messages.values.map((m) => m.stage).filter(Boolean))],
        ["Waiting", "Initializing", "Running", "Completed"],
      );

      // Events on the Experiment, one per condition change.
      const events = await env.admin.get<{
        items: { reason: string; message: string; involvedObject: Obj }[];
      }>(resourcePath("v1", "events", ns));
      const mine = events.items.filter((e) => e.involvedObject["name"] === "request-routing");
      const texts = mine.map((e) => (e.message ? `${e.reason}: ${e.message}` : e.reason));
      for (const m of [
        "ExperimentInitialized: Experiment status initialized",
        "TargetAcquired",
        "StageAdvanced: Advanced to Running",
        ...iterationMessages(10),
        "ExperimentCompleted: Experiment completed successfully",
      ]) {
        assert.ok(texts.includes(m), `event ${m} missing from ${JSON.stringify(texts)}`);
      }
    } finally {
      weights.stop();
      messages.stop();
    }
  });

  test("001 progressive with Helm promotion: ksvc traffic within the caps, helm promotes the candidate", async () => {
    const ns = await env.cp.createNamespace("seed001");
    // What the tutorial's `helm upgrade --install ... experimental-values.yaml` creates.
    const ksvc = {
      apiVersion: "serving.knative.dev/v1",
      kind: "Service",
      metadata: { name: "sample-app", namespace: "default" },
      spec: {
        template: {
          metadata: { name: "sample-app-v2" },
          spec: {
            containers: [
              {
                image: "gcr.io/knative-samples/knative-route-demo:green",
                env: [{ name: "T_VERSION", value: "green" }],
              },
            ],
          },
        },
        traffic: [
          { tag: "current", revisionName: "sample-app-v1", percent: 100 },
          { tag: "candidate", latestRevision: true, percent: 0 },
        ],
      },
    };
    await remove(env.admin, env.discovery, ksvc);
    await apply(env.admin, env.discovery, ksvc);
    await markKsvcReady(env.admin, "default", "sample-app", [
      { tag: "current", revisionName: "sample-app-v1", latestRevision: false, percent: 100 },
      { tag: "candidate", revisionName: "sample-app-v2", latestRevision: true, percent: 0 },
    ]);
    const traffic = recordChanges(env.admin, KSVC_PATH, "sample-app", (o) =>
      ((o["spec"] as { traffic: { percent: number }[] }).traffic ?? []).map((t) => t.percent),
    );
    const messages = recordMessages(env.admin, ns, "canary-progressive");
    try {
      const seed = fastSeed("001-experiment.yaml");
      await apply(env.admin, env.discovery, seed, ns);
      const exp = await waitForExperiment(
        env.admin,
        ns,
        "canary-progressive",
        "Completed",
        completed,
        90_000,
      );

      // maxCandidateWeightIncrement 20, maxCandidateWeight 75.
      assert.deepEqual(traffic.values, [
        [100, 0],
        [80, 20],
        [60, 40],
        [40, 60],
        [25, 75],
      ]);
      const st = exp.status!;
      assert.equal(st.completedIterations, 10);
      assert.equal(st.stage, "Completed");
      assert.equal(st.message, "ExperimentCompleted: Experiment Completed");
      assert.equal(st.versionRecommendedForPromotion, "candidate");
      // knative/init-experiment wrote the weightObjRefs and namespace variables into the spec.
      const vi = exp.spec.versionInfo!;
      assert.deepEqual(vi.baseline.weightObjRef, {
        apiVersion: "serving.knative.dev/v1",
        kind: "Service",
        namespace: "default",
        name: "sample-app",
        fieldPath: ".spec.traffic[0].percent",
      });
      assert.equal(vi.candidates![0]!.weightObjRef?.fieldPath, ".spec.traffic[1].percent");
      assert.ok(vi.baseline.variables?.some((v) => v.name === "namespace" && v.value === "default"));

      const seen = messages.values.map((m) => m.message);
      assert.ok(seen.includes("HandlerLaunched: Start handler 'start' launched"), JSON.stringify(seen));
      assert.ok(seen.includes("HandlerLaunched: Finish handler 'finish' launched"), JSON.stringify(seen));
      assert.deepEqual(
        [...new Set(messages.values.map((m) => m.stage).filter(Boolean))],
        ["Waiting", "Initializing", "Running", "Finishing", "Completed"],
      );
      assert.deepEqual(
        seen.filter((m) => m?.startsWith("IterationUpdate")),
        [...iterationMessages(9), "IterationUpdate: Completed Loop 1"],
      );

      // The finish task ran helm once, with {{ .promote }} = candidate.
      const calls = readFileSync(helmLog, "utf8")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      const args = (
        (seed["spec"] as Obj)["strategy"] as { actions: { finish: { with: { args: string[] } }[] } }
      ).actions.finish[0]!.with.args.map((a) => a.replace("{{ .promote }}", "candidate"));
      assert.deepEqual(calls, [args]);
      assert.ok(args.at(-1)!.endsWith("/candidate-values.yaml"));
      // ... and the real helm installed the release with the candidate's values.
      assert.equal(await promoted(), "candidate");
    } finally {
      traffic.stop();
      messages.stop();
    }
  });

  test("001 with a candidate that misses its latency objective: traffic stays with the baseline, helm promotes the baseline", async () => {
    const ns = await env.cp.createNamespace("seed001b");
    // mean-latency as a mock Counter (value = level x elapsed seconds): the candidate is always > 50.
    const slow = asObj(
      metricFixture("iter8-knative/mean-latency", {
        type: "Counter",
        provider: "mock",
        mock: [
          { name: "current", level: "0.1" },
          { name: "candidate", level: 60 },
        ],
      }),
    );
    await apply(env.admin, env.discovery, slow);
    writeFileSync(helmLog, "");
    const ksvc = {
      apiVersion: "serving.knative.dev/v1",
      kind: "Service",
      metadata: { name: "sample-app", namespace: "default" },
      spec: {
        template: { metadata: { name: "sample-app-v2" }, spec: { containers: [{ image: "green" }] } },
        traffic: [
          { tag: "current", revisionName: "sample-app-v1", percent: 100 },
          { tag: "candidate", latestRevision: true, percent: 0 },
        ],
      },
    };
    await remove(env.admin, env.discovery, ksvc);
    await apply(env.admin, env.discovery, ksvc);
    await markKsvcReady(env.admin, "default", "sample-app", [
      { tag: "current", revisionName: "sample-app-v1", latestRevision: false, percent: 100 },
      { tag: "candidate", revisionName: "sample-app-v2", latestRevision: true, percent: 0 },
    ]);
    const traffic = recordChanges(env.admin, KSVC_PATH, "sample-app", (o) =>
      ((o["spec"] as { traffic: { percent: number }[] }).traffic ?? []).map((t) => t.percent),
    );
    try {
      const seed = fastSeed("001-experiment.yaml");
      await apply(env.admin, env.discovery, seed, ns);
      const exp = await waitForExperiment(
        env.admin,
        ns,
        "canary-progressive",
        "Completed",
        completed,
        90_000,
      );
      // No winner: the candidate keeps only the 5% exploration share.
      assert.deepEqual(traffic.values, [
        [100, 0],
        [95, 5],
      ]);
      assert.equal(exp.status?.completedIterations, 10);
      assert.equal(exp.status?.versionRecommendedForPromotion, "current");
      assert.equal(exp.status?.message, "ExperimentCompleted: Experiment Completed");
      const calls = readFileSync(helmLog, "utf8")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as string[]);
      assert.equal(calls.length, 1);
      assert.equal(
        calls[0]!.at(-1),
        "--values=https://raw.githubusercontent.com/iter8-tools/iter8/master/samples/knative/canaryprogressive/baseline-values.yaml",
      );
      assert.equal(await promoted(), "baseline");
    } finally {
      traffic.stop();
      for (const m of mockMetrics("iter8-knative", GOOD_LEVELS)) await apply(env.admin, env.discovery, m);
    }
  });

  test("004 v2alpha1 conformance, converted by the webhook: no weight is touched, baseline recommended", async () => {
    const ns = await env.cp.createNamespace("seed004");
    await remove(env.admin, env.discovery, {
      apiVersion: "serving.knative.dev/v1",
      kind: "Service",
      metadata: { name: "sample-app", namespace: "default" },
    });
    for (const doc of readYaml(join(SEEDS, "004-service.yaml"))) await apply(env.admin, env.discovery, doc);
    await markKsvcReady(env.admin, "default", "sample-app", [
      { revisionName: "sample-app-v1", latestRevision: false, percent: 100 },
      { revisionName: "sample-app-v2", latestRevision: true, percent: 0 },
    ]);
    const before = await env.admin.get<Obj>(`${KSVC_PATH}/sample-app`);
    const conversionsBefore = env.conversions.count;
    const messages = recordMessages(env.admin, ns, "mirroring");
    try {
      const seed = fastSeed("004-experiment.yaml");
      assert.equal(seed["apiVersion"], "iter8.tools/v2alpha1");
      await apply(env.admin, env.discovery, seed, ns);
      const exp = await waitForExperiment(env.admin, ns, "mirroring", "Completed", completed, 90_000);
      assert.ok(env.conversions.count > conversionsBefore, "the API server used the conversion webhook");

      const st = exp.status!;
      assert.equal(st.completedIterations, 10);
      assert.equal(st.message, "ExperimentCompleted: Experiment completed successfully");
      assert.equal(st.versionRecommendedForPromotion, "current");
      assert.equal(condition(exp, "Failed")?.status, "False");
      // Stored as v2alpha2 with the v2alpha1 task upgraded; init-experiment added the namespace.
      assert.deepEqual(exp.spec.strategy.actions?.["start"], [{ task: "knative/init-experiment" }]);
      assert.ok(exp.spec.versionInfo?.baseline.variables?.some((v) => v.name === "namespace"));
      // Conformance never patches weights.
      const afterKsvc = await env.admin.get<Obj>(`${KSVC_PATH}/sample-app`);
      assert.deepEqual(afterKsvc["spec"], before["spec"]);
      assert.equal((afterKsvc["metadata"] as Obj)["generation"], (before["metadata"] as Obj)["generation"]);

      // The tutorial's `kubectl get experiment --watch` messages.
      assert.deepEqual(
        messages.values.map((m) => m.message).filter((m) => m?.startsWith("IterationUpdate")),
        [...iterationMessages(9), "IterationUpdate: Completed Loop 1"],
      );

      // Read back in v2alpha1 (what `kubectl get -o yaml` with the seed's apiVersion shows).
      const v1 = await env.admin.get<{ apiVersion: string; spec: Obj; status: Obj }>(
        experimentsPath(ns, "mirroring").replace("v2alpha2", "v2alpha1"),
      );
      assert.equal(v1.apiVersion, "iter8.tools/v2alpha1");
      assert.deepEqual((v1.spec["strategy"] as Obj)["actions"], {
        start: [{ library: "knative", task: "init-experiment" }],
      });
      assert.equal(v1.status["recommendedBaseline"], "current");
    } finally {
      messages.stop();
    }
  });
});
