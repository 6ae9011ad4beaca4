import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  formatQuantity,
  isQuantity,
  parseQuantity,
  QUANTITY_PATTERN,
  QuantityError,
} from "../../../src/api/quantity.ts";

describe("parseQuantity", () => {
  const valid: Array<[number | string, number]> = [
    [50, 50],
    ["50", 50],
    ["0.01", 0.01],
    ["10m", 0.01],
    ["1.5e2", 150],
    ["1.5E2", 150],
    ["1e-3", 0.001],
    ["+5", 5],
    ["-5", -5],
    ["-0.5", -0.5],
    [".5", 0.5],
    ["5.", 5],
    ["100n", 100e-9],
    ["310319302313n", 310.319302313],
    ["250u", 250e-6],
    ["2k", 2000],
    ["3M", 3e6],
    ["1G", 1e9],
    ["1T", 1e12],
    ["1P", 1e15],
    ["1E", 1e18],
    ["1Ki", 1024],
    ["1.5Mi", 1.5 * 2 ** 20],
    ["1Gi", 2 ** 30],
    ["1Ti", 2 ** 40],
    ["1Pi", 2 ** 50],
    ["1Ei", 2 ** 60],
    ["0", 0],
    [0.25, 0.25],
  ];
  for (const [input, expected] of valid) {
    it(`parses ${JSON.stringify(input)}`, () => assert.equal(parseQuantity(input), expected));
  }

  const invalid: unknown[] = [
    "",
    " 5",
    "5 ",
    "abc",
    "1e",
    "1e1.5",
    "1ki",
    "1KI",
    "5x",
    "--5",
    "1.2.3",
    "0x10",
    "e5",
    "1Mi5",
    Number.NaN,
    Infinity,
    "1e400",
    null,
    {},
    [],
    true,
  ];
  for (const input of invalid) {
    it(`rejects ${typeof input === "string" ? JSON.stringify(input) : Array.isArray(input) ? "[]" : String(input)}`, () => {
      assert.throws(() => parseQuantity(input as string), QuantityError);
      assert.equal(isQuantity(input), false);
    });
  }

  it("names the value in its message", () => {
    assert.throws(() => parseQuantity("10q"), /"10q" is not a valid quantity: unknown suffix "q"/);
  });
});

describe("parseQuantity properties", () => {
  const mantissa = fc
    .tuple(fc.nat({ max: 999_999 }), fc.option(fc.nat({ max: 9999 }), { nil: undefined }))
    .map(([i, f]) => (f === undefined ? `${i}` : `${i}.${String(f).padStart(4, "0")}`));
  const decimalSuffix = fc.constantFrom(
    ["n", -9],
    ["u", -6],
    ["m", -3],
    ["", 0],
    ["k", 3],
    ["M", 6],
    ["G", 9],
    ["T", 12],
    ["P", 15],
    ["E", 18],
  );
  const binarySuffix = fc.constantFrom(
    ["Ki", 10],
    ["Mi", 20],
    ["Gi", 30],
    ["Ti", 40],
    ["Pi", 50],
    ["Ei", 60],
  );

  it("round-trips every finite double through its string form", () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        (x) => Object.is(parseQuantity(String(x)), x) || (x === 0 && parseQuantity(String(x)) === 0),
      ),
    );
  });

  it("decimal suffixes scale by powers of ten exactly as the number parser does", () => {
    fc.assert(
      fc.property(fc.constantFrom("", "+", "-"), mantissa, decimalSuffix, (sign, m, [suffix, exp]) => {
        const expected = (sign === "-" ? -1 : 1) * Number(`${m}e${exp}`);
        assert.equal(parseQuantity(`${sign}${m}${suffix}`), expected);
      }),
    );
  });

  it("binary suffixes scale by powers of two", () => {
    fc.assert(
      fc.property(mantissa, binarySuffix, (m, [suffix, bits]) => {
        assert.equal(parseQuantity(`${m}${suffix}`), Number(m) * 2 ** (bits as number));
      }),
    );
  });

  it("exponents are equivalent to the decimal suffix with the same power", () => {
    fc.assert(
      fc.property(mantissa, fc.integer({ min: -20, max: 20 }), (m, e) => {
        assert.equal(parseQuantity(`${m}e${e}`), Number(`${m}e${e}`));
      }),
    );
  });

  it("accepts a string exactly when the Kubernetes pattern matches (integer exponents)", () => {
    const pattern = new RegExp(QUANTITY_PATTERN);
    const alphabet = fc.constantFrom(..."0123456789.+-eEnumkMGTPKi x".split(""));
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 8 }).map((cs) => cs.join("")),
        (s) => {
          const matches = pattern.test(s) && !/[eE][+-]?\d*\.\d*$/.test(s);
          let error: string | undefined;
          try {
            parseQuantity(s);
          } catch (e) {
            assert.ok(e instanceof QuantityError);
            error = e.message;
          }
          // Huge exponents match the pattern but do not fit in a double.
          if (matches && error !== undefined) assert.match(error, /too large/, s);
          else assert.equal(error === undefined, matches, s);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("formatQuantity output always parses back to the same number", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const q = formatQuantity(x);
        assert.ok(typeof q === "number" ? Number.isSafeInteger(q) : new RegExp(QUANTITY_PATTERN).test(q));
        assert.equal(parseQuantity(q), x === 0 ? 0 : x);
      }),
    );
  });
});
