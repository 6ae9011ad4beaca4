import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KeyedSerial } from "../../../src/lib/keyed-serial.ts";

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe("KeyedSerial", () => {
  it("runs the tasks of one key one at a time, in order", async () => {
    const serial = new KeyedSerial();
    const log: string[] = [];
    const first = gate();
    const a = serial.run("k", async () => {
      log.push("a start");
      await first.opened;
      log.push("a end");
    });
    const b = serial.run("k", async () => {
      log.push("b");
    });
    await Promise.resolve();
    assert.deepEqual(log, ["a start"]);
    first.open();
    await Promise.all([a, b]);
    assert.deepEqual(log, ["a start", "a end", "b"]);
    assert.equal(serial.size, 0);
  });

  it("runs different keys side by side", async () => {
    const serial = new KeyedSerial();
    const held = gate();
    const log: string[] = [];
    const a = serial.run("x", async () => {
      await held.opened;
      log.push("x");
    });
    await serial.run("y", async () => {
      log.push("y");
    });
    assert.deepEqual(log, ["y"]);
    held.open();
    await a;
    assert.deepEqual(log, ["y", "x"]);
  });

  it("a failed task rejects its caller and does not block the next", async () => {
    const serial = new KeyedSerial();
    const failed = serial.run("k", async () => {
      throw new Error("boom");
    });
    const next = serial.run("k", async () => 42);
    await assert.rejects(failed, /boom/);
    assert.equal(await next, 42);
  });
});
