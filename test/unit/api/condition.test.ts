import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  type Condition,
  ConditionSyntaxError,
  evaluateCondition,
  parseCondition,
} from "../../../src/api/condition.ts";

const contexts = [
  { winnerFound: false, candidateWon: false },
  { winnerFound: true, candidateWon: false },
  { winnerFound: true, candidateWon: true },
];

describe("parseCondition / evaluateCondition", () => {
  const table: Array<[string, boolean[]]> = [
    ["WinnerFound()", [false, true, true]],
    ["CandidateWon()", [false, false, true]],
    ["not CandidateWon()", [true, true, false]],
    ["not WinnerFound()", [true, false, false]],
    ["!WinnerFound()", [true, false, false]],
    ["WinnerFound() and not CandidateWon()", [false, true, false]],
    ["WinnerFound() && !CandidateWon()", [false, true, false]],
    ["not WinnerFound() or CandidateWon()", [true, false, true]],
    ["not (WinnerFound() or CandidateWon())", [true, false, false]],
    ["true", [true, true, true]],
    ["false || WinnerFound()", [false, true, true]],
    // and binds tighter than or
    ["true or false and false", [true, true, true]],
    ["  ( ( CandidateWon ( ) ) )  ", [false, false, true]],
  ];
  for (const [src, expected] of table) {
    it(src, () => {
      const c = parseCondition(src);
      assert.deepEqual(
        contexts.map((ctx) => evaluateCondition(c, ctx)),
        expected,
      );
    });
  }

  const errors: Array<[string, RegExp]> = [
    ["", /empty/],
    ["WinnerFound", /expected "\(" after WinnerFound/],
    ["WinnerFound(x)", /takes no arguments/],
    ["Winner()", /unknown name "Winner"/],
    ["Status.Analysis != nil", /comparisons such as "!=" are not supported/],
    ["Status.Analysis", /unknown name "Status.Analysis"/],
    ["WinnerFound() and", /found the end of the condition/],
    ["(WinnerFound()", /expected "\)"/],
    ["WinnerFound() CandidateWon()", /expected and, or or the end/],
    ["WinnerFound() & CandidateWon()", /unexpected character "&"/],
  ];
  for (const [src, message] of errors) {
    it(`rejects ${JSON.stringify(src)}`, () => {
      assert.throws(
        () => parseCondition(src),
        (e: unknown) => e instanceof ConditionSyntaxError && message.test(e.message),
      );
    });
  }

  it("printing any condition tree and parsing it back gives the same tree", () => {
    const tree: fc.Arbitrary<Condition> = fc.letrec<{ c: Condition }>((tie) => ({
      c: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        fc.constantFrom<Condition>(
          { kind: "call", name: "WinnerFound" },
          { kind: "call", name: "CandidateWon" },
          { kind: "literal", value: true },
          { kind: "literal", value: false },
        ),
        tie("c").map((operand): Condition => ({ kind: "not", operand })),
        fc
          .tuple(fc.constantFrom("and" as const, "or" as const), tie("c"), tie("c"))
          .map(([kind, left, right]): Condition => ({ kind, left, right })),
      ),
    })).c;
    const print = (c: Condition): string => {
      switch (c.kind) {
        case "call":
          return `${c.name}()`;
        case "literal":
          return String(c.value);
        case "not":
          return `not (${print(c.operand)})`;
        default:
          return `(${print(c.left)}) ${c.kind} (${print(c.right)})`;
      }
    };
    fc.assert(fc.property(tree, (c) => assert.deepEqual(parseCondition(print(c)), c)));
  });
});
