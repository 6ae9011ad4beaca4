// `iter8 assert --timeout`'s wait, driven by a fake clock: it reads until the experiment completes or
// its run is known dead, tolerates an experiment that does not exist yet, and stops at the deadline.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Experiment } from "../../../src/api/types.ts";
import { type Settling, waitUntilSettled } from "../../../src/platforms/settle.ts";
import { FakeClock, settle } from "../engine/fakes.ts";

const running = { metadata: { name: "a" }, status: { stage: "Running" } } as unknown as Experiment;
const completed = {
  metadata: { name: "a" },
  status: { stage: "Completed", conditions: [{ type: "Completed", status: "True" }] },
} as unknown as Experiment;

/** A reader that returns `answers` in turn (the last one repeats) and records each call's tolerance. */
function script(answers: Array<Settling | undefined | Error>) {
  const calls: boolean[] = [];
  const read = async (tolerant: boolean) => {
    calls.push(tolerant);
    const a = answers[Math.min(calls.length - 1, answers.length - 1)];
    if (a instanceof Error) throw a;
    return a;
  };
  return { read, calls };
}

/** Runs the wait, advancing the clock `stepMs` at a time until it resolves. */
async function drive<T>(clock: FakeClock, wait: Promise<T>, stepMs: number): Promise<T> {
  let done = false;
  const mark = () => {
    done = true;
  };
  wait.then(mark, mark);
  for (let i = 0; i < 1000 && !done; i++) {
    await settle();
    if (!done) clock.advance(stepMs);
  }
  return wait;
}

describe("waitUntilSettled", () => {
  it("without a timeout reads once, not tolerating a missing experiment", async () => {
    const r = script([{ experiment: running }]);
    const found = await waitUntilSettled(r.read, { timeoutMs: 0, clock: new FakeClock() });
    assert.equal(found.experiment, running);
    assert.deepEqual(r.calls, [false]);
  });

  it("reads every 200 ms until the experiment completes", async () => {
    const clock = new FakeClock();
    const start = clock.ms;
    const r = script([{ experiment: running }, { experiment: running }, { experiment: completed }]);
    const found = await drive(clock, waitUntilSettled(r.read, { timeoutMs: 10_000, clock }), 50);
    assert.equal(found.experiment, completed);
    assert.deepEqual(r.calls, [true, true, true]);
    assert.equal(clock.ms - start, 400);
  });

  it("stops at once for a run known to be dead", async () => {
    const r = script([{ experiment: running, liveness: { alive: false } }]);
    const found = await waitUntilSettled(r.read, { timeoutMs: 10_000, clock: new FakeClock() });
    assert.deepEqual(found.liveness, { alive: false });
    assert.deepEqual(r.calls, [true]);
  });

  it("waits 500 ms between reads while the experiment does not exist yet", async () => {
    const clock = new FakeClock();
    const start = clock.ms;
    const r = script([undefined, undefined, { experiment: completed }]);
    const found = await drive(clock, waitUntilSettled(r.read, { timeoutMs: 10_000, clock }), 100);
    assert.equal(found.experiment, completed);
    assert.equal(clock.ms - start, 1000);
  });

  it("at the deadline returns the last experiment read, and keeps it over a missing read", async () => {
    const clock = new FakeClock();
    const r = script([{ experiment: running }, undefined]);
    const found = await drive(clock, waitUntilSettled(r.read, { timeoutMs: 1000, pollMs: 300, clock }), 100);
    assert.equal(found.experiment, running);
    assert.equal(r.calls.at(-1), false, "the read at the deadline is not tolerant");
  });

  it("an experiment that never appears ends in the reader's error", async () => {
    const clock = new FakeClock();
    const missing = new Error("not found");
    const read = async (tolerant: boolean) => {
      if (tolerant) return undefined;
      throw missing;
    };
    await assert.rejects(drive(clock, waitUntilSettled(read, { timeoutMs: 1000, clock }), 100), missing);
  });
});
