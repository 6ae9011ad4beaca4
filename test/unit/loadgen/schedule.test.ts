import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { FixedRateSchedule, TimeQueue } from "../../../src/loadgen/schedule.ts";

test("a timed schedule produces qps × duration requests at exact intended times", () => {
  const s = new FixedRateSchedule(1000, 100, null, 1000 + 2000);
  assert.equal(s.limit, 200);
  const got: number[] = [];
  // Ticks at irregular (late) times: the intended times do not drift.
  for (const now of [1000, 1003.7, 1050.2, 1051, 2999.99, 5000]) s.takeDue(now, (t) => got.push(t));
  assert.equal(got.length, 200);
  for (const [i, t] of got.entries()) assert.ok(Math.abs(t - (1000 + i * 10)) < 1e-9, `request ${i} at ${t}`);
  assert.equal(s.exhausted, true);
  assert.equal(s.peek(), Infinity);
});

test("takeDue takes exactly the requests due by now", () => {
  const s = new FixedRateSchedule(0, 1000, null, Infinity);
  let n = 0;
  s.takeDue(0, () => n++);
  assert.equal(n, 1); // request 0 is due at the start
  s.takeDue(4.5, () => n++);
  assert.equal(n, 5); // 1, 2, 3, 4 ms
  assert.equal(s.peek(), 5);
  assert.equal(s.exhausted, false);
});

test("a request limit wins over the duration, and the duration caps the count", () => {
  assert.equal(new FixedRateSchedule(0, 10, 5, 10_000).limit, 5);
  assert.equal(new FixedRateSchedule(0, 10, 500, 1000).limit, 10);
  assert.equal(new FixedRateSchedule(0, 3, null, 1000).limit, 3); // 0, 333, 667 ms
  assert.equal(new FixedRateSchedule(0, 4, null, Infinity).limit, Infinity);
  assert.equal(new FixedRateSchedule(0, 0.5, null, 3000).limit, 2); // 0 s and 2 s
});

test("TimeQueue is FIFO through growth and compaction (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.double({ noNaN: true }), fc.constant(null)), { maxLength: 500 }),
      (ops) => {
        const q = new TimeQueue();
        const model: number[] = [];
        for (const op of ops) {
          if (op === null) {
            if (model.length === 0) assert.throws(() => q.shift());
            else assert.equal(q.shift(), model.shift());
          } else {
            q.push(op);
            model.push(op);
          }
          assert.equal(q.length, model.length);
        }
        assert.equal(q.clear(), model.length);
        assert.equal(q.length, 0);
      },
    ),
  );
});
