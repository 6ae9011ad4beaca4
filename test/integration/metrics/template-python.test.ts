// safeSubstitute against the real thing: CPython's string.Template.safe_substitute, which the
// original analytics used, on the same generated templates.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import fc from "fast-check";
import { safeSubstitute } from "../../../src/metrics/template.ts";

const PYTHON = `
import json, sys
from string import Template
req = json.load(sys.stdin)
print(json.dumps([Template(t).safe_substitute(req["vars"]) for t in req["templates"]]))
`;

const python = spawnSync("python3", ["--version"]).status === 0;

describe("safeSubstitute matches Python", { skip: python ? false : "python3 is not installed" }, () => {
  it("on 2,000 generated templates", () => {
    const vars = {
      name: "current",
      revision: "sample-app-v1",
      elapsedTime: "42",
      namespace: "default",
      _a1: "x",
    };
    const piece = fc.constantFrom(
      "$",
      "$$",
      "{",
      "}",
      "name",
      "revision",
      "elapsedTime",
      "_a1",
      "Name",
      "1",
      "-",
      " ",
      "é",
      "[",
      "s]",
    );
    const templates = fc.sample(
      fc.array(piece, { maxLength: 20 }).map((p) => p.join("")),
      { numRuns: 2000, seed: 20210426 },
    );
    const run = spawnSync("python3", ["-c", PYTHON], {
      input: JSON.stringify({ vars, templates }),
      encoding: "utf8",
    });
    assert.equal(run.status, 0, run.stderr);
    const expected = JSON.parse(run.stdout) as string[];
    templates.forEach((t, i) => {
      assert.equal(safeSubstitute(t, vars), expected[i], `template ${JSON.stringify(t)}`);
    });
  });
});
