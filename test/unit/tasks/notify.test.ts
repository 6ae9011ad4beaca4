// The notification tasks' failure rule: logged and ignored by default, fatal with ignoreFailure: false.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { errorText } from "../../../src/lib/errors.ts";
import { notify } from "../../../src/tasks/http.ts";
import type { TaskContext } from "../../../src/tasks/types.ts";

function context(): { ctx: TaskContext; logged: string[] } {
  const logged: string[] = [];
  const ctx = { log: (text: string) => logged.push(text) } as unknown as TaskContext;
  return { ctx, logged };
}

const failing = async () => {
  throw new Error("HTTP 500");
};

describe("notify", () => {
  it("logs a failure as ignored by default", async () => {
    const { ctx, logged } = context();
    await notify(ctx, {}, "Slack notification", failing);
    assert.deepEqual(logged, ["Slack notification failed (ignored): HTTP 500\n"]);
  });
  it("fails with ignoreFailure: false, and logs nothing for it", async () => {
    const { ctx, logged } = context();
    await assert.rejects(notify(ctx, { ignoreFailure: false }, "notification", failing), /HTTP 500/);
    assert.deepEqual(logged, []);
  });
  it("runs the send once when it succeeds", async () => {
    const { ctx, logged } = context();
    let sent = 0;
    await notify(ctx, {}, "notification", async () => {
      sent++;
    });
    assert.equal(sent, 1);
    assert.deepEqual(logged, []);
  });
});

describe("errorText", () => {
  it("is an Error's message, anything else as a string", () => {
    assert.equal(errorText(new Error("boom")), "boom");
    assert.equal(errorText("plain"), "plain");
    assert.equal(errorText(undefined), "undefined");
  });
});
