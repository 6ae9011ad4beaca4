// Tasks that look at platform objects (knative/init-experiment, common/readiness), with a platform
// double and a virtual clock whose sleeps advance time instantly.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Experiment } from "../../../src/api/types.ts";
import type { Clock } from "../../../src/engine/ports.ts";
import { initFromKsvc } from "../../../src/tasks/knative-init.ts";
import { unmetWaitFor } from "../../../src/tasks/readiness.ts";
import { InProcessTaskRunner } from "../../../src/tasks/runner.ts";
import type { ObjectRef, TaskPlatform } from "../../../src/tasks/types.ts";
import { experimentFixture, version, virtualServiceRef } from "../../support/experiments.ts";

class VirtualClock implements Clock {
  t = 0;
  sleeps: number[] = [];
  now() {
    return new Date(this.t);
  }
  async sleep(ms: number, signal?: AbortSignal) {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    this.t += ms;
  }
}

type Obj = Record<string, unknown>;

/** Objects by "kind ns/name"; each may become available or ready only after some reads. */
class ObjectsPlatform implements TaskPlatform {
  reads: ObjectRef[] = [];
  readonly objects: Map<string, (read: number) => Obj | undefined>;
  constructor(objects: Map<string, (read: number) => Obj | undefined>) {
    this.objects = objects;
  }
  async getObject(ref: ObjectRef) {
    this.reads.push(ref);
    const f = this.objects.get(`${ref.kind} ${ref.namespace}/${ref.name}`);
    return f?.(this.reads.filter((r) => r.name === ref.name && r.kind === ref.kind).length);
  }
  async getSecret() {
    return undefined;
  }
}

function ksvc(ready: boolean): Obj {
  const c = (type: string) => ({ type, status: ready ? "True" : "Unknown" });
  return {
    apiVersion: "serving.knative.dev/v1",
    kind: "Service",
    metadata: { name: "sample-app", namespace: "default" },
    spec: {
      traffic: [
        { tag: "current", revisionName: "sample-app-v1", percent: 100 },
        { tag: "candidate", latestRevision: true, percent: 0 },
      ],
    },
    status: {
      conditions: [c("Ready"), c("ConfigurationsReady"), c("RoutesReady")],
      traffic: [
        { tag: "current", revisionName: "sample-app-v1", percent: 100 },
        { tag: "candidate", revisionName: "sample-app-v2", latestRevision: true, percent: 0 },
      ],
    },
  };
}

function seed001(): Experiment {
  return experimentFixture({
    name: "canary-progressive",
    target: "default/sample-app",
    actions: { start: [{ task: "knative/init-experiment" }] },
    versions: [
      version("current", { revision: "sample-app-v1", promote: "baseline" }),
      version("candidate", { revision: "sample-app-v2", promote: "candidate" }),
    ],
  });
}

describe("knative/init-experiment", () => {
  it("waits for the Service to be Ready and fills namespace variables and weightObjRefs (seed 001)", async () => {
    const clock = new VirtualClock();
    const platform = new ObjectsPlatform(
      new Map([["Service default/sample-app", (n: number) => (n < 2 ? undefined : ksvc(n >= 3))]]),
    );
    const runner = new InProcessTaskRunner({
      platform,
      clock,
      knativeTiming: { attempts: 5, intervalMs: 18_000 },
    });
    const result = await runner.run("start", seed001());
    assert.equal(result.ok, true, JSON.stringify(result.tasks));
    assert.deepEqual(clock.sleeps, [18_000, 18_000]);
    assert.equal(platform.reads[0]!.apiVersion, "serving.knative.dev/v1");
    const vi = result.experiment.spec.versionInfo!;
    assert.deepEqual(vi.baseline.weightObjRef, {
      apiVersion: "serving.knative.dev/v1",
      kind: "Service",
      namespace: "default",
      name: "sample-app",
      fieldPath: ".spec.traffic[0].percent",
    });
    assert.equal(vi.candidates![0]!.weightObjRef!.fieldPath, ".spec.traffic[1].percent");
    assert.deepEqual(vi.candidates![0]!.variables, [
      { name: "revision", value: "sample-app-v2" },
      { name: "promote", value: "candidate" },
      { name: "namespace", value: "default" },
    ]);
    assert.match(
      result.tasks[0]!.output,
      /attempt 1: ksvc default\/sample-app not found\nattempt 2: knative service is not ready\n/,
    );
  });

  it("fails after its attempts when the Service never becomes ready", async () => {
    const platform = new ObjectsPlatform(new Map([["Service default/sample-app", () => ksvc(false)]]));
    const runner = new InProcessTaskRunner({
      platform,
      clock: new VirtualClock(),
      knativeTiming: { attempts: 3, intervalMs: 1000 },
    });
    const result = await runner.run("start", seed001());
    assert.equal(result.ok, false);
    assert.equal(result.tasks[0]!.error, "knative service is not ready");
  });

  const errors: Array<[string, (e: Experiment) => void, RegExp]> = [
    ["target not ns/name", (e) => (e.spec.target = "sample-app"), /unable to parse target/],
    ["A/B", (e) => (e.spec.strategy.testingPattern = "A/B"), /unsupported testing pattern/],
    [
      "no revision variable",
      (e) => (e.spec.versionInfo!.baseline.variables = []),
      /version current has no "revision" variable/,
    ],
    [
      "unknown revision",
      (e) => (e.spec.versionInfo!.baseline.variables![0]!.value = "sample-app-v9"),
      /revision sample-app-v9 not found/,
    ],
  ];
  for (const [label, mutate, err] of errors) {
    it(`errors: ${label}`, async () => {
      const exp = seed001();
      mutate(exp);
      const platform = new ObjectsPlatform(new Map([["Service default/sample-app", () => ksvc(true)]]));
      const result = await new InProcessTaskRunner({ platform, clock: new VirtualClock() }).run("start", exp);
      assert.equal(result.ok, false);
      assert.match(result.tasks[0]!.error!, err);
    });
  }

  it("Conformance: checks the revision and adds only the namespace variable; existing variables are kept", () => {
    const exp = seed001();
    exp.spec.strategy.testingPattern = "Conformance";
    exp.spec.versionInfo = {
      baseline: {
        name: "current",
        variables: [
          { name: "revision", value: "sample-app-v2" },
          { name: "namespace", value: "mine" },
        ],
      },
    };
    initFromKsvc(exp, ksvc(true), "default", "sample-app");
    assert.deepEqual(exp.spec.versionInfo.baseline, {
      name: "current",
      variables: [
        { name: "revision", value: "sample-app-v2" },
        { name: "namespace", value: "mine" },
      ],
    });
  });
});

describe("common/readiness", () => {
  const exp = (): Experiment => {
    const e = seed001();
    e.spec.strategy.actions = {
      start: [
        {
          task: "common/readiness",
          with: {
            initialDelaySeconds: 2,
            intervalSeconds: 3,
            numRetries: 4,
            objRefs: [{ kind: "deploy", name: "app", waitFor: "condition=Available" }],
          },
        },
      ],
    };
    e.spec.versionInfo!.baseline.weightObjRef = virtualServiceRef("vs", 0);
    return e;
  };

  it("retries until every object (and the weightObjRef objects) is ready", async () => {
    const clock = new VirtualClock();
    const deploy = (n: number): Obj => ({
      status: { conditions: [{ type: "Available", status: n >= 3 ? "True" : "False" }] },
    });
    const platform = new ObjectsPlatform(
      new Map<string, (n: number) => Obj | undefined>([
        ["deploy default/app", deploy],
        ["VirtualService default/vs", () => ({ spec: {} })],
      ]),
    );
    const result = await new InProcessTaskRunner({ platform, clock }).run("start", exp());
    assert.equal(result.ok, true, JSON.stringify(result.tasks));
    assert.deepEqual(clock.sleeps, [2000, 3000, 3000]);
    assert.match(result.tasks[0]!.output, /attempt 1: deploy default\/app: condition Available is False/);
    assert.match(result.tasks[0]!.output, /all 2 objects ready after 3 attempt\(s\)/);
  });

  it("fails once the retries are used up, naming what is not ready", async () => {
    const clock = new VirtualClock();
    const platform = new ObjectsPlatform(new Map([["deploy default/app", () => ({ status: {} })]]));
    const result = await new InProcessTaskRunner({ platform, clock }).run("start", exp());
    assert.equal(result.ok, false);
    assert.equal(clock.sleeps.length, 5);
    assert.match(
      result.tasks[0]!.error!,
      /not ready after 5 attempts: deploy default\/app: condition Available not reported; VirtualService default\/vs: not found/,
    );
  });

  const waits: Array<[Obj | undefined, string | undefined, string | undefined]> = [
    [undefined, undefined, "not found"],
    [{}, undefined, undefined],
    [undefined, "delete", undefined],
    [{}, "delete", "still exists"],
    [{ status: { conditions: [{ type: "Ready", status: "True" }] } }, "condition=Ready", undefined],
    [{ status: { conditions: [{ type: "Ready", status: "False" }] } }, "condition=Ready=False", undefined],
    [{ status: { phase: "Running" } }, "jsonpath={.status.phase}=Running", undefined],
    [
      { status: { phase: "Pending" } },
      "jsonpath={.status.phase}=Running",
      '{.status.phase} is "Pending", want Running',
    ],
  ];
  for (const [obj, waitFor, want] of waits) {
    it(`waitFor ${waitFor ?? "(none)"} on ${JSON.stringify(obj)}`, () => {
      assert.equal(unmetWaitFor(obj, waitFor), want);
    });
  }
});
