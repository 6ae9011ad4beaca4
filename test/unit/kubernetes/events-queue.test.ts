// Events go out from a bounded queue, at most `maxInFlight` at a time, so that a burst of them never
// takes the connections the iterations' writes need; a full queue drops its oldest Event.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import type { Experiment } from "../../../src/api/types.ts";
import { EventRecorder } from "../../../src/platforms/kubernetes/events.ts";
import type { KubeClient } from "../../../src/platforms/kubernetes/rest.ts";
import { loopbackClient } from "../../support/kube-client.ts";

/** Holds every request until released; records the most held at once and each Event's reason. */
function holdingServer() {
  const held: ServerResponse[] = [];
  const reasons: string[] = [];
  let most = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      reasons.push((JSON.parse(body) as { reason: string }).reason);
      held.push(res);
      most = Math.max(most, held.length);
    });
  });
  const releaseAll = () => {
    for (const res of held.splice(0)) res.writeHead(201, { "content-type": "application/json" }).end("{}");
  };
  return { server, held, reasons, releaseAll, most: () => most };
}

const experiment = (name: string): Experiment =>
  ({
    apiVersion: "iter8.tools/v2alpha2",
    kind: "Experiment",
    metadata: { name, namespace: "ns", uid: `uid-${name}` },
    spec: { target: `t-${name}` },
  }) as Experiment;

async function until(f: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !f(); i++) await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(f(), "condition never held");
}

describe("EventRecorder send queue", () => {
  const s = holdingServer();
  let client: KubeClient;
  before(async () => {
    await new Promise<void>((resolve) => s.server.listen(0, "127.0.0.1", resolve));
    client = loopbackClient((s.server.address() as { port: number }).port, { maxSockets: 64 });
  });
  after(async () => {
    s.releaseAll();
    client.close();
    await new Promise<void>((resolve) => s.server.close(() => resolve()));
  });

  it("sends at most maxInFlight at once, in order, and drops the oldest past maxQueued", async () => {
    const results: string[] = [];
    const rec = new EventRecorder({
      client,
      host: "test",
      maxInFlight: 2,
      maxQueued: 3,
      onRecorded: (r) => results.push(r),
    });
    for (let i = 0; i < 8; i++) rec.record(experiment(`e${i}`), { reason: `R${i}`, message: "m" });
    await until(() => s.held.length === 2);
    // R0 and R1 are in flight; of R2..R7 the queue keeps the newest three.
    assert.equal(rec.queued, 3);
    assert.deepEqual(results.filter((r) => r === "dropped").length, 3);
    while (s.reasons.length < 5) {
      s.releaseAll();
      await until(() => s.held.length > 0 || s.reasons.length >= 5);
    }
    s.releaseAll();
    assert.equal(s.most(), 2);
    assert.deepEqual(s.reasons.slice(0, 5), ["R0", "R1", "R5", "R6", "R7"]);
    assert.equal(rec.queued, 0);
  });

  it("an Event repeated within the window is skipped; close drops and counts what is queued", async () => {
    s.reasons.length = 0;
    const results: string[] = [];
    const rec = new EventRecorder({
      client,
      host: "test",
      maxInFlight: 1,
      onRecorded: (r) => results.push(r),
    });
    rec.record(experiment("a"), { reason: "Same", message: "x" });
    rec.record(experiment("a"), { reason: "Same", message: "x" });
    rec.record(experiment("a"), { reason: "Other", message: "x" });
    rec.record(experiment("b"), { reason: "Other", message: "x" });
    assert.deepEqual(results, ["sent", "skipped", "sent", "sent"]);
    await until(() => s.held.length === 1);
    rec.close();
    assert.equal(rec.queued, 0);
    assert.deepEqual(results.slice(4), ["dropped", "dropped"]);
    s.releaseAll();
    assert.deepEqual(s.reasons, ["Same"]);
  });
});
