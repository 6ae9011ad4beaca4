import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ceilDecimalText } from "../../../src/report/decimal.ts";
import { compareFormatted, formatQuantityRoundedUp } from "../../../src/report/format.ts";

describe("formatQuantityRoundedUp: rounded toward +infinity, exactly 3 decimals", () => {
  const cases: Array<[number | string, string]> = [
    [0, "0.000"],
    ["0", "0.000"],
    [0.01, "0.010"],
    ["0.01", "0.010"],
    ["10m", "0.010"],
    ["1001m", "1.001"],
    [50, "50.000"],
    [100, "100.000"],
    ["1.5e2", "150.000"],
    ["310319302313n", "310.320"],
    ["330681818182n", "330.682"],
    ["57714400001n", "57.715"],
    [330.681818182, "330.682"],
    [57.714400001, "57.715"],
    [136.0833, "136.084"],
    [0.8786, "0.879"],
    [4.8341, "4.835"],
    [1000, "1000.000"],
    ["1k", "1000.000"],
    ["1Ki", "1024.000"],
    [-0.0015, "-0.001"],
    [-0.0001, "0.000"],
    [1e-7, "0.001"],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} -> ${expected}`, () =>
      assert.equal(formatQuantityRoundedUp(input), expected));
  }

  it("rejects what is not a quantity, naming it", () => {
    assert.throws(() => formatQuantityRoundedUp("fast"), /fast/);
  });
});

describe("ceilDecimalText", () => {
  const cases: Array<[string, number, string]> = [
    ["0.01", 3, "0.010"],
    ["0.0100000001", 3, "0.011"],
    ["1e-7", 3, "0.001"],
    ["1.5e+21", 3, "1500000000000000000000.000"],
    ["-2.5", 0, "-2"],
    ["2.5", 0, "3"],
    [".5", 1, "0.5"],
    ["7.", 2, "7.00"],
    ["-0", 3, "0.000"],
    ["000123.4500", 2, "123.45"],
  ];
  for (const [text, places, expected] of cases) {
    it(`${text} @${places} -> ${expected}`, () => assert.equal(ceilDecimalText(text, places), expected));
  }

  it("rejects non-numbers", () => {
    for (const bad of ["", ".", "abc", "1.2.3", "1e"])
      assert.throws(() => ceilDecimalText(bad, 3), /not a decimal/);
  });

  it("property: the result is the smallest multiple of 0.001 that is >= the value", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -10_000_000, max: 10_000_000 }),
        fc.integer({ min: 0, max: 6 }),
        (units, exp) => {
          // value = units / 10^exp, written exactly as decimal text
          const text = `${units < 0 ? "-" : ""}${(Math.abs(units) / 10 ** exp).toFixed(exp)}`;
          const out = ceilDecimalText(text, 3);
          // Compare in integer micro-units of 10^-6 to stay exact.
          const valueMicro = BigInt(units) * 10n ** BigInt(6 - exp);
          const outMilli = BigInt(out.replace(".", ""));
          assert.ok(outMilli * 1000n >= valueMicro, `${out} < ${text}`);
          assert.ok((outMilli - 1n) * 1000n < valueMicro, `${out} not the smallest for ${text}`);
        },
      ),
    );
  });
});

describe("compareFormatted", () => {
  it("orders formatted values numerically", () => {
    assert.equal(compareFormatted("5.030", "24.454"), -1);
    assert.equal(compareFormatted("-1.000", "0.000"), -1);
    assert.equal(compareFormatted("100.000", "99.999"), 1);
    assert.equal(compareFormatted("0.010", "0.010"), 0);
  });
});
