// The controller's scheduling and client parts: the due-time queue, the rate limit, the request
// names used in /metrics, and the backoff formula.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Experiment } from "../../../src/api/types.ts";
import { backoffMs } from "../../../src/lib/backoff.ts";
import { nextIterationAt } from "../../../src/platforms/kubernetes/controller.ts";
import { DueQueue } from "../../../src/platforms/kubernetes/queue.ts";
import { TokenBucket } from "../../../src/platforms/kubernetes/ratelimit.ts";
import { describeRequest } from "../../../src/platforms/kubernetes/rest.ts";

describe("DueQueue", () => {
  it("hands out keys by due time, never before they are due", () => {
    const q = new DueQueue();
    q.add("b", 200, "asap");
    q.add("a", 100, "asap");
    q.add("c", 300, "asap");
    assert.equal(q.take(50), undefined);
    assert.equal(q.nextDue(), 100);
    assert.deepEqual(q.take(250), { id: "a", due: 100, lane: "asap" });
    assert.deepEqual(q.take(250), { id: "b", due: 200, lane: "asap" });
    assert.equal(q.take(250), undefined);
    assert.equal(q.size, 1);
  });

  it("a due timed key goes before asap keys that were due earlier", () => {
    const q = new DueQueue();
    q.add("starting", 10, "asap");
    q.add("iterating", 90, "timed");
    assert.equal(q.take(100)?.id, "iterating");
    assert.equal(q.take(100)?.id, "starting");
  });

  it("a key queued twice keeps the earlier due time and is handed out once", () => {
    const q = new DueQueue();
    q.add("k", 500, "timed");
    q.add("k", 100, "asap");
    q.add("k", 900, "asap");
    assert.equal(q.size, 1);
    assert.deepEqual(q.take(1000), { id: "k", due: 100, lane: "asap" });
    assert.equal(q.take(1000), undefined);
    assert.equal(q.dueCount(1000), 0);
  });

  it("a backlog of due timed keys leaves every fourth turn to the asap lane", () => {
    const q = new DueQueue();
    for (let i = 0; i < 6; i++) q.add(`t${i}`, i, "timed");
    q.add("new", 0, "asap");
    const order = Array.from({ length: 7 }, () => q.take(100)?.id);
    assert.deepEqual(order, ["t0", "t1", "t2", "new", "t3", "t4", "t5"]);
  });

  it("equal due times are served in arrival order (fair)", () => {
    const q = new DueQueue();
    for (const id of ["x", "y", "z"]) q.add(id, 5, "asap");
    assert.deepEqual([q.take(5)?.id, q.take(5)?.id, q.take(5)?.id], ["x", "y", "z"]);
  });

  it("deleted keys are never handed out", () => {
    const q = new DueQueue();
    q.add("gone", 1, "asap");
    q.add("kept", 2, "asap");
    q.delete("gone");
    assert.equal(q.take(10)?.id, "kept");
  });
});

describe("TokenBucket", () => {
  it("lets the burst through at once, then makes the next request wait for a token", async () => {
    const bucket = new TokenBucket(100, 3);
    await Promise.all([bucket.take(), bucket.take(), bucket.take()]);
    let fourth = false;
    const p = bucket.take().then(() => {
      fourth = true;
    });
    assert.equal(bucket.waiting, 1);
    assert.equal(fourth, false);
    await p;
    assert.equal(bucket.waiting, 0);
  });

  it("qps 0 is no limit", async () => {
    const bucket = new TokenBucket(0, 1);
    await Promise.all(Array.from({ length: 100 }, () => bucket.take()));
    assert.equal(bucket.waiting, 0);
  });
});

describe("describeRequest", () => {
  it("names verb and resource as apiserver_request_total does", () => {
    const ns = "/apis/iter8.tools/v2alpha2/namespaces/ns/experiments";
    assert.deepEqual(describeRequest("GET", ns), { verb: "list", resource: "experiments" });
    assert.deepEqual(describeRequest("GET", `${ns}/e`), { verb: "get", resource: "experiments" });
    assert.deepEqual(describeRequest("GET", ns, true), { verb: "watch", resource: "experiments" });
    assert.deepEqual(describeRequest("PUT", `${ns}/e/status`), {
      verb: "update",
      resource: "experiments/status",
    });
    assert.deepEqual(describeRequest("POST", "/api/v1/namespaces/ns/events"), {
      verb: "create",
      resource: "events",
    });
    assert.deepEqual(
      describeRequest("PATCH", "/apis/networking.istio.io/v1alpha3/namespaces/n/virtualservices/v"),
      {
        verb: "patch",
        resource: "virtualservices",
      },
    );
    assert.deepEqual(describeRequest("GET", "/apis/iter8.tools/v2alpha2/experiments"), {
      verb: "list",
      resource: "experiments",
    });
  });
});

describe("backoffMs", () => {
  it("doubles from the base up to the cap", () => {
    assert.deepEqual(
      [1, 2, 3, 4].map((a) => backoffMs(a, 250, 1000)),
      [250, 500, 1000, 1000],
    );
    assert.equal(backoffMs(5000, 1, 30_000), 30_000);
    assert.equal(backoffMs(0, 100, 1000), 100);
  });
});

describe("nextIterationAt", () => {
  const exp = (status: Experiment["status"]) =>
    ({
      apiVersion: "iter8.tools/v2alpha2",
      kind: "Experiment",
      metadata: { name: "e" },
      spec: { duration: { intervalSeconds: 10 } },
      status,
    }) as unknown as Experiment;

  it("is the last iteration time plus the interval, for a running experiment", () => {
    const t = "2026-01-01T00:00:00.000Z";
    assert.equal(
      nextIterationAt(exp({ stage: "Running", completedIterations: 2, lastUpdateTime: t })),
      Date.parse(t) + 10_000,
    );
    assert.equal(
      nextIterationAt(exp({ stage: "Running", completedIterations: 0, lastUpdateTime: t })),
      undefined,
    );
    assert.equal(
      nextIterationAt(exp({ stage: "Completed", completedIterations: 3, lastUpdateTime: t })),
      undefined,
    );
  });
});
