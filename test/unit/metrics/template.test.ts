// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are Python-style query templates, on purpose
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  elapsedSeconds,
  placeholders,
  safeSubstitute,
  versionVariables,
} from "../../../src/metrics/template.ts";
import { baseline, candidate, experiment } from "./fixtures.ts";

describe("safeSubstitute (Python string.Template.safe_substitute)", () => {
  const vars = { name: "current", revision: "sample-app-v1", elapsedTime: "42", _x1: "u" };
  const cases: [string, string][] = [
    ["$name", "current"],
    ["${name}", "current"],
    ["rev='$revision'", "rev='sample-app-v1'"],
    ["[${elapsedTime}s]", "[42s]"],
    ["$elapsedTimes", "$elapsedTimes"], // identifier is greedy: `elapsedTimes` is unknown
    ["${elapsedTime}s", "42s"],
    ["$$name", "$name"], // escape
    ["$$$name", "$current"],
    ["cost: $5", "cost: $5"], // invalid placeholder left alone
    ["$", "$"],
    ["${", "${"],
    ["${name", "${name"], // unterminated brace
    ["${ name }", "${ name }"],
    ["$unknown and ${unknown}", "$unknown and ${unknown}"],
    ["$_x1", "u"],
    ["$name-$revision", "current-sample-app-v1"],
    ["$NAME", "$NAME"], // case-sensitive lookup; the pattern itself is case-insensitive
  ];
  for (const [template, expected] of cases) {
    it(`${JSON.stringify(template)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(safeSubstitute(template, vars), expected);
    });
  }

  it("does not look up inherited properties", () => {
    assert.equal(safeSubstitute("$toString ${constructor}", {}), "$toString ${constructor}");
  });

  it("leaves text without `$` unchanged, and a value is never re-interpolated", () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !s.includes("$")),
        (s) => safeSubstitute(s, vars) === s,
      ),
    );
    assert.equal(safeSubstitute("$a", { a: "$name" }), "$name");
  });

  it("doubling every `$` escapes the whole template", () => {
    // Template-like text: dollars, braces and identifiers, so placeholders of every kind occur.
    const templateText = fc
      .array(fc.constantFrom("$", "{", "}", "name", "revision", "x", "_", "1", " ", "'"), { maxLength: 30 })
      .map((parts) => parts.join(""));
    for (const arb of [fc.string(), templateText]) {
      fc.assert(
        fc.property(
          arb,
          (s) =>
            safeSubstitute(
              s.replaceAll("$", () => "$$"),
              vars,
            ) === s,
        ),
      );
    }
  });

  it("lists placeholders in order of first use", () => {
    assert.deepEqual(placeholders("$a ${b} $$c $a ${d"), ["a", "b"]);
  });
});

describe("elapsedSeconds", () => {
  const start = "2026-01-01T00:00:00Z";
  const at = (ms: number) => new Date(Date.parse(start) + ms);
  it("floors to whole seconds", () => assert.equal(elapsedSeconds(start, at(12_999)), 12));
  it("is at least 1", () => {
    assert.equal(elapsedSeconds(start, at(0)), 1);
    assert.equal(elapsedSeconds(start, at(999)), 1);
    assert.equal(elapsedSeconds(start, at(-5000)), 1);
  });
  it("is undefined without a valid start", () => {
    assert.equal(elapsedSeconds(undefined, at(0)), undefined);
    assert.equal(elapsedSeconds("yesterday-ish", at(0)), undefined);
  });
});

describe("versionVariables", () => {
  it("gives name, namespace, elapsedTime and the version's variables", () => {
    const e = experiment();
    assert.deepEqual(versionVariables(e, candidate(e), 7), {
      elapsedTime: "7",
      interval: "7s",
      name: "candidate",
      namespace: "shop",
      revision: "sample-app-v2",
    });
  });
  it("lets variables override name and namespace", () => {
    const e = experiment();
    const v = {
      name: "current",
      variables: [
        { name: "name", value: "v1" },
        { name: "namespace", value: "knative-ns" },
      ],
    };
    const vars = versionVariables(e, v, 3);
    assert.equal(vars.name, "v1");
    assert.equal(vars.namespace, "knative-ns");
  });
  it("defaults the namespace to `default`", () => {
    const e = experiment();
    delete e.metadata.namespace;
    assert.equal(versionVariables(e, baseline(e), 1).namespace, "default");
  });
});
