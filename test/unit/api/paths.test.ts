import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { childPath, formatPath, joinPath, pointerToPath, prefixProblems } from "../../../src/api/paths.ts";
import { pointerSegments } from "../../../src/kinds/fieldpath.ts";

describe("field paths", () => {
  it("formats identifiers, indexes and other keys", () => {
    assert.equal(
      formatPath(["spec", "versionInfo", "candidates", 0, "name"]),
      "spec.versionInfo.candidates[0].name",
    );
    assert.equal(
      formatPath(["status", "analysis", "data", "iter8-knative/mean-latency"]),
      'status.analysis.data["iter8-knative/mean-latency"]',
    );
    assert.equal(formatPath([]), "");
  });

  it("converts ajv instance paths, with digits as indexes only inside lists", () => {
    const doc = {
      spec: { versionInfo: { candidates: [{ name: "a" }] } },
      status: { data: { "2": { x: 1 } } },
    };
    assert.equal(
      pointerToPath("/spec/versionInfo/candidates/0/name", doc),
      "spec.versionInfo.candidates[0].name",
    );
    assert.equal(pointerToPath("/status/data/2/x", doc), 'status.data["2"].x');
    assert.equal(pointerToPath("/a~1b/c~0d", {}), '["a/b"]["c~d"]');
    assert.equal(pointerToPath("", doc), "");
  });

  it("builds child paths and prefixes embedded problems", () => {
    assert.equal(childPath("spec.strategy.actions", "start"), "spec.strategy.actions.start");
    assert.equal(childPath("spec", "my-key"), 'spec["my-key"]');
    assert.equal(childPath("", "spec"), "spec");
    assert.deepEqual(
      prefixProblems("status.metrics[0].metricObj", [
        { path: "spec.type", message: "m" },
        { path: "", message: "n" },
      ]),
      [
        { path: "status.metrics[0].metricObj.spec.type", message: "m" },
        { path: "status.metrics[0].metricObj", message: "n" },
      ],
    );
  });
});

describe("joinPath and pointerSegments", () => {
  it("joins formatted paths with a dot, an index or a quoted key directly, and skips an empty side", () => {
    assert.equal(joinPath("spec", "strategy"), "spec.strategy");
    assert.equal(joinPath("spec.versions", "[0]"), "spec.versions[0]");
    assert.equal(joinPath("images", '["a:b"].command'), 'images["a:b"].command');
    assert.equal(joinPath("", "spec"), "spec");
    assert.equal(joinPath("spec", ""), "spec");
    assert.equal(joinPath("", ""), "");
  });
  it("splits a JSON pointer into unescaped tokens", () => {
    assert.deepEqual(pointerSegments(""), []);
    assert.deepEqual(pointerSegments("/spec/traffic/0"), ["spec", "traffic", "0"]);
    assert.deepEqual(pointerSegments("/a~1b/c~0d/~01"), ["a/b", "c~d", "~1"]);
  });
});
