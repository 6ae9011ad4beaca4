import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  deletePath,
  formatFieldPath,
  getPath,
  parseFieldPath,
  setPath,
} from "../../../src/kinds/fieldpath.ts";
import { LabError, parseLab } from "../../../src/platforms/local/lab.ts";

describe("field paths", () => {
  it("parses the seeds' weight paths", () => {
    assert.deepEqual(parseFieldPath(".spec.http[0].route[1].weight"), [
      "spec",
      "http",
      0,
      "route",
      1,
      "weight",
    ]);
    assert.deepEqual(parseFieldPath(".spec.traffic[1].percent"), ["spec", "traffic", 1, "percent"]);
  });
  for (const bad of ["spec.x", ".spec..x", ".spec[x]", ".spec[0", ""]) {
    it(`rejects ${JSON.stringify(bad)}`, () => assert.throws(() => parseFieldPath(bad)));
  }
  it("round-trips through formatFieldPath", () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.oneof(fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,6}$/), fc.nat(20)), {
            minLength: 1,
            maxLength: 6,
          })
          .filter((p) => typeof p[0] === "string"),
        (path) => assert.deepEqual(parseFieldPath(formatFieldPath(path)), path),
      ),
    );
  });
  it("sets, reads and deletes values; missing containers are errors naming the step", () => {
    const o = { spec: { http: [{ route: [{ weight: 100 }, { weight: 0 }] }] } };
    setPath(o, parseFieldPath(".spec.http[0].route[1].weight"), 40);
    assert.equal(getPath(o, parseFieldPath(".spec.http[0].route[1].weight")), 40);
    assert.equal(getPath(o, parseFieldPath(".spec.http[3].route")), undefined);
    assert.throws(
      () => setPath(o, parseFieldPath(".spec.tcp[0].weight"), 1),
      /\.spec\.tcp\[0\] is not a mapping/,
    );
    deletePath(o, parseFieldPath(".spec.http[0].route[1].weight"));
    assert.deepEqual(o.spec.http[0]!.route[1], {});
  });
});

describe("lab file", () => {
  const dir = mkdtempSync(join(tmpdir(), "iter8-lab-"));
  writeFileSync(join(dir, "v.yaml"), "name: x\n");
  const parse = (text: string) => parseLab(text, "lab.yaml", dir);
  const problems = (text: string): string[] => {
    try {
      parse(text);
    } catch (e) {
      if (e instanceof LabError) return e.problems;
      throw e;
    }
    assert.fail("expected a LabError");
  };

  it("reads a complete lab file", () => {
    const lab = parse(`
images:
  img:a: { command: [iter8, sample-app], args: [--seed, 1] }
revisions:
  rev-a: { args: [--latency, 10ms], env: { A: 1 } }
traffic:
  - { job: curl, container: c, url: "http://example.com/", headers: { country: x }, qps: 2.5, connections: 2, duration: 30s, delay: 1 }
helm:
  release: r
  service: default/svc
  values: { "https://x/v.yaml": v.yaml }
  render: { name: .spec.template.metadata.name }
metrics: prometheus
`);
    assert.deepEqual(lab.images["img:a"], { command: ["iter8", "sample-app"], args: ["--seed", "1"] });
    assert.deepEqual(lab.revisions["rev-a"], { args: ["--latency", "10ms"], env: { A: "1" } });
    assert.deepEqual(lab.traffic[0], {
      job: "curl",
      container: "c",
      url: "http://example.com/",
      headers: { country: "x" },
      qps: 2.5,
      connections: 2,
      durationMs: 30_000,
      delayMs: 1000,
    });
    assert.equal(lab.helm?.command, "helm");
    assert.deepEqual(lab.helm?.service, { namespace: "default", name: "svc" });
    assert.equal(lab.helm?.values["https://x/v.yaml"], join(dir, "v.yaml"));
    assert.equal(lab.metrics, "prometheus");
  });

  const table: Array<[string, string, RegExp]> = [
    ["missing images", "traffic: []\n", /^lab\.yaml: images: is required/],
    [
      "empty command",
      "images: { i: { command: [] } }\n",
      /^lab\.yaml: images\["i"\]\.command: must name a program/,
    ],
    ["unknown top field", "images: {}\nimage: {}\n", /^lab\.yaml: image: unknown field/],
    [
      "unknown image field",
      "images: { i: { command: [x], cmd: y } }\n",
      /^lab\.yaml: images\["i"\]\.cmd: unknown field/,
    ],
    [
      "traffic without job",
      "images: {}\ntraffic: [ { qps: 1 } ]\n",
      /^lab\.yaml: traffic\[0\]\.job: is required/,
    ],
    [
      "bad qps",
      "images: {}\ntraffic: [ { job: j, qps: -1 } ]\n",
      /^lab\.yaml: traffic\[0\]\.qps: must be a positive number/,
    ],
    [
      "bad url",
      "images: {}\ntraffic: [ { job: j, url: ftp://x } ]\n",
      /^lab\.yaml: traffic\[0\]\.url: must be an http:\/\/ URL/,
    ],
    [
      "bad duration",
      "images: {}\ntraffic: [ { job: j, duration: soon } ]\n",
      /^lab\.yaml: traffic\[0\]\.duration: invalid duration/,
    ],
    [
      "missing values file",
      "images: {}\nhelm: { release: r, service: default/s, values: { u: nope.yaml }, render: { name: .spec.x } }\n",
      /^lab\.yaml: helm\.values\["u"\]: file nope\.yaml does not exist/,
    ],
    [
      "bad render path",
      "images: {}\nhelm: { release: r, service: default/s, values: { u: v.yaml }, render: { name: spec.x } }\n",
      /^lab\.yaml: helm\.render\.name: field path must start with "\."/,
    ],
    [
      "bad service",
      "images: {}\nhelm: { release: r, service: s, values: { u: v.yaml }, render: { n: .a } }\n",
      /^lab\.yaml: helm\.service: must be NAMESPACE\/NAME/,
    ],
    ["bad metrics", "images: {}\nmetrics: graphite\n", /^lab\.yaml: metrics: must be builtin or prometheus/],
    ["not a mapping", "- a\n", /^lab\.yaml: must be a mapping/],
    ["bad YAML", "images: [\n", /^lab\.yaml: not valid YAML/],
  ];
  for (const [name, text, re] of table) {
    it(`rejects ${name}, naming the field`, () => {
      const p = problems(text);
      assert.ok(
        p.some((x) => re.test(x)),
        p.join("\n"),
      );
    });
  }
  it("reports every problem at once", () => {
    assert.equal(problems("images: { a: { command: [] }, b: { command: 3 } }\nmetrics: x\n").length, 3);
  });
});
