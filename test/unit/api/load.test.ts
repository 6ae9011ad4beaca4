import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { InputError, loadDocuments, MAX_INPUT_BYTES, readInput } from "../../../src/api/load.ts";
import type { Experiment } from "../../../src/api/types.ts";

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), "utf8");

describe("loadDocuments", () => {
  it("reads a tutorial's whole stream: iter8 objects validated, the others skipped", () => {
    const text = ["000-services", "000-routing-rule", "000-curl", "000-experiment"]
      .map((f) => fixture(`seeds/${f}.yaml`))
      .join("---\n");
    const docs = loadDocuments(text);
    assert.deepEqual(
      docs.map((d) => [d.index, d.kind, d.name, d.skipped === true, d.problems.length]),
      [
        [1, "Service", "sample-app-v1", true, 0],
        [2, "Service", "sample-app-v2", true, 0],
        [3, "VirtualService", "routing-for-wakanda", true, 0],
        [4, "Job", "curl", true, 0],
        [5, "Experiment", "request-routing", false, 0],
      ],
    );
    assert.equal(docs[4]?.resource?.kind, "Experiment");
  });

  it("normalises seed 004's bare metric names with the lookup (experiment namespace, then iter8-system)", () => {
    const installed = new Set([
      "iter8-system/request-count",
      "iter8-system/mean-latency",
      "iter8-system/95th-percentile-tail-latency",
      "iter8-system/error-rate",
    ]);
    const [doc] = loadDocuments(fixture("seeds/004-experiment.yaml"), {
      metricExists: (ns, n) => installed.has(`${ns}/${n}`),
    });
    const exp = doc?.resource as Experiment;
    assert.equal(doc?.sourceVersion, "v2alpha1");
    assert.equal(exp.apiVersion, "iter8.tools/v2alpha2");
    assert.equal(exp.spec.criteria?.requestCount, "iter8-system/request-count");
    assert.deepEqual(
      exp.spec.criteria?.objectives?.map((o) => o.metric),
      ["iter8-system/mean-latency", "iter8-system/95th-percentile-tail-latency", "iter8-system/error-rate"],
    );
    assert.equal(exp.spec.strategy.actions?.["start"]?.[0]?.task, "knative/init-experiment");
  });

  it("without a lookup, bare names resolve in the experiment's namespace", () => {
    const [doc] = loadDocuments(fixture("seeds/004-experiment.yaml"));
    assert.equal(
      (doc!.resource as Experiment).spec.criteria?.objectives?.[0]?.metric,
      "default/mean-latency",
    );
  });

  it("reads JSON and Kubernetes Lists", () => {
    const exp = loadDocuments(fixture("seeds/000-experiment.yaml"))[0]!.resource!;
    const list = JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [exp, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } }],
    });
    const docs = loadDocuments(list);
    assert.deepEqual(
      docs.map((d) => [d.index, d.item, d.kind, d.problems.length, d.skipped ?? false]),
      [
        [1, 1, "Experiment", 0, false],
        [1, 2, "ConfigMap", 0, true],
      ],
    );
    assert.deepEqual(docs[0]?.resource, exp, "a normalised object reloads unchanged");
  });

  it("skips empty documents between separators", () => {
    const docs = loadDocuments(`---\n---\n${fixture("seeds/001-experiment.yaml")}---\n# trailing comment\n`);
    assert.equal(docs.length, 1);
    assert.equal(docs[0]?.index, 2);
  });

  const inputErrors: Array<[string, string, RegExp]> = [
    ["empty input", "", /^input is empty$/],
    ["only whitespace", "  \n\n", /^input is empty$/],
    ["only comments", "# nothing\n---\n# here\n", /every document is empty/],
    ["bad indentation", "a: [1\n", /^input is not valid YAML at line 2, column 1: /],
    [
      "duplicate keys",
      "apiVersion: x\nkind: y\nkind: z\n",
      /^input is not valid YAML at line 3, column 1: Map keys must be unique$/,
    ],
    ["tabs", "spec:\n\ttarget: x\n", /^input is not valid YAML at line 2/],
    ["unterminated quote", 'a: "open\n', /not valid YAML/],
    [
      "alias bomb",
      `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`,
      /not valid YAML: Excessive alias count/,
    ],
  ];
  for (const [name, text, message] of inputErrors) {
    it(`one-line error: ${name}`, () => {
      assert.throws(
        () => loadDocuments(text),
        (e: unknown) => e instanceof InputError && message.test(e.message) && !e.message.includes("\n"),
      );
    });
  }

  it("refuses input over 4 MiB", () => {
    const text = `a: "${"x".repeat(MAX_INPUT_BYTES)}"\n`;
    assert.throws(() => loadDocuments(text), /larger than 4 MiB/);
  });

  const docErrors: Array<[string, string, RegExp]> = [
    ["a list", "- a\n- b\n", /^document 1: expected a Kubernetes object .* got a list$/],
    ["a scalar", "just text\n", /got the text "just text"/],
    ["no apiVersion", "kind: Experiment\n", /missing apiVersion/],
    ["no kind", "apiVersion: iter8.tools/v2alpha2\n", /missing kind/],
    [
      "unknown iter8 kind",
      "apiVersion: iter8.tools/v2alpha2\nkind: Experimnt\n",
      /unknown kind Experimnt in iter8.tools\/v2alpha2/,
    ],
    [
      "unknown iter8 version",
      "apiVersion: iter8.tools/v1\nkind: Experiment\n",
      /unknown apiVersion iter8.tools\/v1/,
    ],
  ];
  for (const [name, text, message] of docErrors) {
    it(`per-document error: ${name}`, () => {
      const [doc] = loadDocuments(text);
      assert.match(doc?.error ?? "", message);
      assert.equal(doc?.resource, undefined);
    });
  }
});

describe("readInput", () => {
  const dir = mkdtempSync(join(tmpdir(), "iter8-load-"));
  it("reads a file", async () => {
    writeFileSync(join(dir, "a.yaml"), "\ufeffa: 1\n");
    assert.equal(await readInput(join(dir, "a.yaml")), "a: 1\n");
  });
  it("names a missing file", async () => {
    await assert.rejects(
      readInput(join(dir, "missing.yaml")),
      (e: unknown) => e instanceof InputError && /cannot read .*missing.yaml: no such file/.test(e.message),
    );
  });
  it("refuses a directory", async () => {
    await assert.rejects(readInput(dir), /is a directory/);
  });
  it("refuses a file over 4 MiB", async () => {
    writeFileSync(join(dir, "big.yaml"), Buffer.alloc(MAX_INPUT_BYTES + 1, 0x61));
    await assert.rejects(readInput(join(dir, "big.yaml")), /larger than 4 MiB/);
  });
  it("refuses bytes that are not UTF-8", async () => {
    writeFileSync(join(dir, "bin.yaml"), Buffer.from([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a]));
    await assert.rejects(readInput(join(dir, "bin.yaml")), /is not UTF-8 text/);
  });
});

describe("JSON input", () => {
  it("refuses duplicate keys like YAML does, with the position", () => {
    const text =
      '{\n  "apiVersion": "iter8.tools/v2alpha2",\n  "kind": "Metric",\n  "metadata": {"name": "a", "name": "b"}\n}';
    assert.throws(
      () => loadDocuments(text),
      /^InputError: input is not valid JSON at line 4, column 29: duplicate key "name"$/,
    );
  });

  it("keys that only look alike, escapes and nested objects are not duplicates", () => {
    const text =
      '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a\\"b": "}", "a": {"a": [{"a": 1}, {"a": 2}]}}}';
    assert.equal(loadDocuments(text)[0]?.skipped, true);
  });

  it("the native JSON path and the YAML path read the same objects (and the validator never throws)", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom("Experiment", "Metric"), (spec, kind) => {
        const json = JSON.stringify({
          apiVersion: "iter8.tools/v2alpha2",
          kind,
          metadata: { name: "x" },
          spec,
        });
        assert.deepEqual(loadDocuments(json), loadDocuments(`# force the YAML parser\n${json}`));
      }),
      { numRuns: 300 },
    );
  });
});
