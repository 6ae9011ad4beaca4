// What the VirtualService and HTTPRoute compilers share: the object's head (its name for issues, a
// required metadata.name and spec), lists of mappings, header edits and removals, and integer ranges.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { addHeaderEdit, type HeaderChanges, RouteCompiler } from "../../../src/kinds/route-compiler.ts";
import { CompileContext } from "../../../src/router/compile.ts";
import type { RuleDraft } from "../../../src/router/table.ts";

/** Records what the shared steps hand on, so each can be checked on its own. */
class Probe extends RouteCompiler {
  readonly seen: string[] = [];
  rules(): RuleDraft[] {
    this.compileAll((obj, index) => {
      const head = this.head(obj, index, "Probe");
      if (!head) return [];
      this.seen.push(`${head.label} ${head.namespace}`);
      const items = head.spec["items"];
      if (Array.isArray(items))
        this.eachMapping(items, "spec.items", (item, at, i) => this.seen.push(`${at} ${i} ${item["v"]}`));
      return [];
    });
    return [];
  }
}

const issues = (ctx: CompileContext) => ctx.issues.map((i) => `${i.object ?? ""}|${i.path}|${i.message}`);

describe("RouteCompiler", () => {
  it("compiles objects in the order added, each named for its issues", () => {
    const ctx = new CompileContext({});
    const probe = new Probe(ctx);
    probe.add({ metadata: { name: "a", namespace: "ns" }, spec: { items: [{ v: 1 }, "x", { v: 3 }] } }, 0);
    probe.add({ metadata: {}, spec: {} }, 1);
    probe.add({ metadata: { name: "c" } }, 2);
    probe.rules();
    assert.deepEqual(probe.seen, ["ns/a ns", "spec.items[0] 0 1", "spec.items[2] 2 3", "default/#1 default"]);
    assert.deepEqual(issues(ctx), [
      "Probe ns/a|spec.items[1]|must be a mapping",
      "Probe default/#1|metadata.name|required",
      "Probe default/c|spec|required",
    ]);
  });
});

describe("addHeaderEdit", () => {
  it("adds an operation, or rewrites the authority when Host is set", () => {
    const ctx = new CompileContext({});
    const out: HeaderChanges = { ops: [], authority: null };
    addHeaderEdit(out, ctx.headerEdit("set", "X-A", "1", "p"));
    addHeaderEdit(out, ctx.headerEdit("set", "Host", "example.com", "p"));
    addHeaderEdit(out, ctx.headerEdit("add", "bad name", "1", "p"));
    assert.deepEqual(out, { ops: [{ kind: "set", name: "x-a", value: "1" }], authority: "example.com" });
    assert.deepEqual(issues(ctx), ["|p|invalid header name"]);
  });
});

describe("CompileContext.headerRemovals", () => {
  it("validates each name of a list; absent is none, anything else is reported", () => {
    const ctx = new CompileContext({});
    assert.deepEqual(ctx.headerRemovals(undefined, "r"), []);
    assert.deepEqual(ctx.headerRemovals("x-a", "r"), []);
    assert.deepEqual(ctx.headerRemovals(["X-A", 3, "x-b"], "r"), [
      { kind: "remove", name: "x-a" },
      { kind: "remove", name: "x-b" },
    ]);
    assert.deepEqual(issues(ctx), ["|r|must be a list of header names", "|r[1]|invalid header name"]);
  });
});

describe("CompileContext.integer", () => {
  it("accepts an integer in the range, reports anything else with the range", () => {
    const ctx = new CompileContext({});
    assert.equal(ctx.integer(0, "w", 0, 100), 0);
    assert.equal(ctx.integer(100, "w", 0, 100), 100);
    assert.equal(ctx.integer(101, "w", 0, 100), undefined);
    assert.equal(ctx.integer(1.5, "w", 0, 100), undefined);
    assert.equal(ctx.integer("5", "p", 1, 65535), undefined);
    assert.deepEqual(issues(ctx), [
      "|w|must be an integer 0..100",
      "|w|must be an integer 0..100",
      "|p|must be an integer 1..65535",
    ]);
  });
});
