// Real jq (jq-wasm, jq 1.7) applied to Prometheus-shaped responses.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jqNumber } from "../../../src/metrics/jq.ts";

const PROM = ".data.result[0].value[1] | tonumber";
const vector = (...values: string[]) =>
  JSON.stringify({
    status: "success",
    data: { resultType: "vector", result: values.map((v) => ({ metric: {}, value: [1700000000.1, v] })) },
  });

describe("jqNumber", () => {
  const ok: [string, string, string, number][] = [
    ["a Prometheus sample", vector("12.5"), PROM, 12.5],
    ["an integer", vector("136"), PROM, 136],
    ["exponent notation", vector("1.5e-3"), PROM, 0.0015],
    ["the first of several outputs", vector("3", "4"), ".data.result[].value[1] | tonumber", 3],
    ["a JSON number", '{"results":[{"avg":7}]}', ".results[0] | .[] ", 7],
  ];
  for (const [what, json, expr, expected] of ok) {
    it(`reads ${what}`, async () => assert.deepEqual(await jqNumber(json, expr), { value: expected }));
  }

  const bad: [string, string, string, RegExp][] = [
    ["an empty vector", vector(), PROM, /failed: .*null \(null\) cannot be parsed as a number/],
    ["NaN", vector("NaN"), PROM, /produced null \(a NaN or missing value\)/],
    ["+Inf", vector("+Inf"), PROM, /infinite value/],
    ["-Inf", vector("-Inf"), PROM, /infinite value/],
    ["an overflowing number", vector("1e999"), PROM, /infinite value/],
    ["a non-numeric string", vector("abc"), PROM, /failed: .*Invalid numeric literal/],
    [
      "a string result without tonumber",
      vector("12"),
      ".data.result[0].value[1]",
      /produced "12", not a number/,
    ],
    ["an object result", vector("1"), ".data", /produced \{.*\}, not a number/],
    ["no output", vector("1"), "empty", /produced no output/],
    ["a syntax error", vector("1"), ".data.result[0", /failed: .*syntax error/],
    ["a runtime error", vector("1"), 'error("boom")', /failed: .*boom/],
    ["input that is not JSON", "<html>", PROM, /failed: .*parse error/],
  ];
  for (const [what, json, expr, reason] of bad) {
    it(`rejects ${what}`, async () => {
      const out = await jqNumber(json, expr);
      assert.ok("error" in out, `expected an error, got ${JSON.stringify(out)}`);
      assert.match(out.error, reason);
      assert.ok(out.error.includes(expr), "the message names the expression");
    });
  }
});

describe("jq side effects", () => {
  it("a failing expression does not change process.exitCode", async () => {
    const before = process.exitCode;
    const outs = await Promise.all([
      jqNumber("{}", 'error("x")'),
      jqNumber(vector("1"), PROM),
      jqNumber("{}", ".a("),
    ]);
    assert.deepEqual(outs[1], { value: 1 });
    assert.equal(process.exitCode, before);
  });
});
