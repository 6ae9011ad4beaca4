// v2alpha1 <-> v2alpha2 conversion as the CRD webhook answers it: seed 004 upgrades as the API layer
// does, downgrade expresses what v2alpha1 can, and v2alpha2 content survives a round trip through a
// v2alpha1 client (kept aside, restored unless the v2alpha1 spec was edited).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import { parse } from "yaml";
import { upgradeExperiment } from "../../../src/api/upgrade.ts";
import { convert, reviewConversion } from "../../../src/platforms/kubernetes/conversion.ts";

const SEEDS = join(import.meta.dirname, "..", "..", "fixtures", "seeds");
type Obj = Record<string, unknown>;
const upgrade = (o: Obj) => convert(o, "iter8.tools/v2alpha2");
const downgrade = (o: Obj) => convert(o, "iter8.tools/v2alpha1");
/** JSON with sorted keys, for structural equality. */
const canonical = (x: unknown): string =>
  JSON.stringify(x, (_k, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
const seed = (f: string) => parse(readFileSync(join(SEEDS, f), "utf8")) as Obj;

describe("conversion webhook", () => {
  test("seed 004 (v2alpha1) upgrades to the same spec as reading the file does", () => {
    const v1 = seed("004-experiment.yaml");
    const converted = convert(v1, "iter8.tools/v2alpha2") as { spec: unknown; metadata: Obj };
    const read = upgradeExperiment(v1).object;
    assert.deepEqual(converted.spec, read.spec);
    const annotations = converted.metadata["annotations"] as Record<string, string>;
    assert.equal(annotations["iter8.tools/source-version"], "v2alpha1");
  });

  test("seed 004 round-trips v1 -> v2 -> v1 -> v2 unchanged", () => {
    const v2 = upgrade(seed("004-experiment.yaml"));
    const down = downgrade(v2);
    assert.equal((down["metadata"] as Obj)["annotations"], undefined, "nothing needed stashing");
    assert.deepEqual((down["spec"] as Obj)["strategy"], {
      testingPattern: "Conformance",
      actions: { start: [{ library: "knative", task: "init-experiment" }] },
    });
    assert.equal(canonical(upgrade(down)), canonical(v2));
  });

  for (const file of ["000-experiment.yaml", "001-experiment.yaml"]) {
    test(`seed ${file} (v2alpha2) survives a v2alpha1 read-modify-write untouched`, () => {
      const v2 = seed(file);
      const down = downgrade(v2);
      assert.equal(down["apiVersion"], "iter8.tools/v2alpha1");
      assert.equal(canonical(upgrade(down)), canonical(v2));
    });
  }

  test("downgrade converts fieldPaths, rewards and status names", () => {
    const v2: Obj = {
      apiVersion: "iter8.tools/v2alpha2",
      kind: "Experiment",
      metadata: { name: "x", namespace: "ns" },
      spec: {
        target: "ns/app",
        strategy: {
          testingPattern: "A/B",
          actions: { finish: [{ task: "common/exec", with: { cmd: "true" } }] },
        },
        criteria: { rewards: [{ metric: "ns/user-engagement", preferredDirection: "High" }] },
        versionInfo: {
          baseline: { name: "a", weightObjRef: { fieldPath: ".spec.traffic[0].percent" } },
          candidates: [{ name: "b", weightObjRef: { fieldPath: ".spec.http[0].route[1].weight" } }],
        },
      },
      status: { versionRecommendedForPromotion: "b" },
    };
    const v1 = downgrade(v2);
    const spec = v1["spec"] as {
      criteria: Obj;
      strategy: { actions: Obj };
      versionInfo: { baseline: { weightObjRef: Obj }; candidates: { weightObjRef: Obj }[] };
    };
    assert.deepEqual(spec.criteria["reward"], { metric: "ns/user-engagement", preferredDirection: "High" });
    assert.deepEqual(spec.strategy.actions["finish"], [
      { library: "common", task: "exec", with: { cmd: "true" } },
    ]);
    assert.equal(spec.versionInfo.baseline.weightObjRef["fieldPath"], "/spec/traffic/0/percent");
    assert.equal(spec.versionInfo.candidates[0]!.weightObjRef["fieldPath"], "/spec/http/0/route/1/weight");
    assert.equal((v1["status"] as Obj)["recommendedBaseline"], "b");
  });

  test("run: tasks are kept aside and restored, but a v2alpha1 edit wins", () => {
    const v2: Obj = {
      apiVersion: "iter8.tools/v2alpha2",
      kind: "Experiment",
      metadata: { name: "x", namespace: "ns" },
      spec: {
        target: "ns/app",
        strategy: {
          testingPattern: "Conformance",
          actions: { finish: [{ run: "echo hi", if: "WinnerFound()" }] },
        },
        versionInfo: { baseline: { name: "a" } },
      },
    };
    const v1 = downgrade(v2);
    // What v2alpha1 cannot express (a run: task) is kept aside in an annotation.
    const kept = Object.keys(((v1["metadata"] as Obj)["annotations"] as Obj) ?? {});
    assert.ok(
      kept.some((k) => k.startsWith("iter8.tools/v2alpha2-")),
      kept.join(", "),
    );
    assert.deepEqual(upgrade(v1), v2);
    const edited = structuredClone(v1);
    (edited["spec"] as Obj)["target"] = "ns/other";
    const up = upgrade(edited);
    assert.equal((up["spec"] as Obj)["target"], "ns/other");
    // The edit wins; the run: task comes back as what v2alpha1 could hold: a common/bash script.
    assert.deepEqual(((up["spec"] as Obj)["strategy"] as Obj)["actions"], {
      finish: [{ task: "common/bash", with: { script: "echo hi" } }],
    });
  });

  test("Metric: v2alpha2 query fields survive a v2alpha1 round trip", () => {
    const m: Obj = {
      apiVersion: "iter8.tools/v2alpha2",
      kind: "Metric",
      metadata: { name: "mean-latency", namespace: "iter8-knative" },
      spec: {
        type: "Gauge",
        sampleSize: "iter8-knative/request-count",
        urlTemplate: "http://prom:9090/api/v1/query",
        jqExpression: ".data.result[0].value[1] | tonumber",
        params: [{ name: "query", value: "q" }],
      },
    };
    const v1 = downgrade(m);
    assert.deepEqual((v1["spec"] as Obj)["sampleSize"], {
      namespace: "iter8-knative",
      name: "request-count",
    });
    assert.equal((v1["spec"] as Obj)["type"], "gauge");
    assert.deepEqual(upgrade(v1), m);
  });

  test("a v2alpha1 Metric with $interval round-trips v1 -> v2 -> v1 unchanged", () => {
    const v1: Obj = {
      apiVersion: "iter8.tools/v2alpha1",
      kind: "Metric",
      metadata: { name: "mean-latency", namespace: "iter8-system" },
      spec: {
        provider: "prometheus",
        type: "gauge",
        sampleSize: { name: "request-count" },
        params: [{ name: "query", value: "sum(increase(x{revision_name='$revision'}[$interval]))" }],
      },
    };
    const v2 = upgrade(v1);
    assert.equal(
      ((v2["spec"] as Obj)["params"] as Obj[])[0]!["value"],
      "sum(increase(x{revision_name='$revision'}[" + "$" + "{elapsedTime}s]))",
    );
    assert.deepEqual(downgrade(v2), v1);
  });

  test("property: any v2alpha2 task list round-trips through v2alpha1", () => {
    const task = fc.oneof(
      fc.record({ task: fc.constantFrom("common/exec", "knative/init-experiment", "notification/slack") }),
      fc.record({ run: fc.string({ minLength: 1 }) }),
      fc.record({
        task: fc.constant("common/bash"),
        if: fc.constantFrom("CandidateWon()", "not WinnerFound()"),
      }),
    );
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom("start", "loop", "finish"), fc.array(task, { maxLength: 3 })),
        (actions) => {
          const v2: Obj = {
            apiVersion: "iter8.tools/v2alpha2",
            kind: "Experiment",
            metadata: { name: "p", namespace: "ns" },
            spec: { target: "t", strategy: { testingPattern: "Conformance", actions } },
          };
          assert.equal(canonical(upgrade(downgrade(v2))), canonical(v2));
        },
      ),
    );
  });

  test("a ConversionReview is answered with the request uid; unknown kinds fail the review", () => {
    const ok = reviewConversion({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "ConversionReview",
      request: {
        uid: "u1",
        desiredAPIVersion: "iter8.tools/v2alpha2",
        objects: [seed("004-experiment.yaml")],
      },
    }) as { response: { uid: string; result: { status: string }; convertedObjects: Obj[] } };
    assert.equal(ok.response.uid, "u1");
    assert.equal(ok.response.result.status, "Success");
    assert.equal(ok.response.convertedObjects[0]!["apiVersion"], "iter8.tools/v2alpha2");
    const bad = reviewConversion({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "ConversionReview",
      request: {
        uid: "u2",
        desiredAPIVersion: "iter8.tools/v2alpha2",
        objects: [{ kind: "Pod", apiVersion: "v1" }],
      },
    }) as { response: { result: { status: string; message: string } } };
    assert.equal(bad.response.result.status, "Failure");
    assert.match(bad.response.result.message, /cannot convert kind Pod/);
  });
});
