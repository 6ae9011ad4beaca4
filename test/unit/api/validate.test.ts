import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parse } from "yaml";
import type { Experiment, Problem } from "../../../src/api/types.ts";

// biome-ignore lint/suspicious/noExplicitAny: the tests mutate parsed YAML freely
type Doc = any;

import {
  checkStartedExperiment,
  checkVersionCounts,
  validateExperiment,
  validateMetric,
} from "../../../src/api/validate.ts";
import { conformanceFixture, version } from "../../support/experiments.ts";

const fixture = (name: string) => new URL(`../../fixtures/${name}`, import.meta.url);
const seed = (n: string): Doc => parse(readFileSync(fixture(`seeds/${n}-experiment.yaml`), "utf8"));

describe("seed experiments validate unchanged", () => {
  for (const n of ["000", "001", "004"]) {
    it(`seed ${n}`, () => {
      const r = validateExperiment(seed(n));
      assert.deepEqual(r.problems, []);
      assert.deepEqual(r.warnings, []);
      assert.ok(r.resource);
      assert.equal(r.resource.apiVersion, "iter8.tools/v2alpha2");
      assert.equal(r.sourceVersion, n === "004" ? "v2alpha1" : "v2alpha2");
    });
  }
});

type Mutation = (e: Doc) => void;
interface Case {
  name: string;
  base?: string;
  mutate: Mutation;
  /** Expected problem: its exact path and a fragment of its message. */
  path: string;
  message: RegExp;
}

const cases: Case[] = [
  {
    name: "wrong testingPattern enum",
    mutate: (e) => (e.spec.strategy.testingPattern = "Canari"),
    path: "spec.strategy.testingPattern",
    message: /must be one of Canary, A\/B, A\/B\/N, Conformance \(got "Canari"\)/,
  },
  {
    name: "lower-case A/B/n",
    mutate: (e) => (e.spec.strategy.testingPattern = "A/B/n"),
    path: "spec.strategy.testingPattern",
    message: /must be one of/,
  },
  {
    name: "wrong deploymentPattern enum",
    mutate: (e) => (e.spec.strategy.deploymentPattern = "Rolling"),
    path: "spec.strategy.deploymentPattern",
    message: /must be one of Progressive, FixedSplit, BlueGreen/,
  },
  {
    name: "wrong preferredDirection",
    mutate: (e) => {
      e.spec.strategy.testingPattern = "A/B";
      e.spec.criteria.rewards = [{ metric: "ns/m", preferredDirection: "Up" }];
    },
    path: "spec.criteria.rewards[0].preferredDirection",
    message: /must be one of High, Low/,
  },
  {
    name: "intervalSeconds 0",
    mutate: (e) => (e.spec.duration.intervalSeconds = 0),
    path: "spec.duration.intervalSeconds",
    message: /^must be >= 1$/,
  },
  {
    name: "iterationsPerLoop negative",
    mutate: (e) => (e.spec.duration.iterationsPerLoop = -3),
    path: "spec.duration.iterationsPerLoop",
    message: /^must be >= 1$/,
  },
  {
    name: "maxLoops 0",
    mutate: (e) => (e.spec.duration.maxLoops = 0),
    path: "spec.duration.maxLoops",
    message: /^must be >= 1$/,
  },
  {
    name: "intervalSeconds not an integer",
    mutate: (e) => (e.spec.duration.intervalSeconds = 2.5),
    path: "spec.duration.intervalSeconds",
    message: /must be an integer/,
  },
  {
    name: "intervalSeconds as a string",
    mutate: (e) => (e.spec.duration.intervalSeconds = "10s"),
    path: "spec.duration.intervalSeconds",
    message: /must be an integer \(got "10s"\)/,
  },
  {
    name: "intervalSeconds beyond int32",
    mutate: (e) => (e.spec.duration.intervalSeconds = 2 ** 31),
    path: "spec.duration.intervalSeconds",
    message: /between/,
  },
  {
    name: "maxCandidateWeight 101",
    base: "001",
    mutate: (e) => (e.spec.strategy.weights.maxCandidateWeight = 101),
    path: "spec.strategy.weights.maxCandidateWeight",
    message: /^must be <= 100$/,
  },
  {
    name: "maxCandidateWeightIncrement -1",
    base: "001",
    mutate: (e) => (e.spec.strategy.weights.maxCandidateWeightIncrement = -1),
    path: "spec.strategy.weights.maxCandidateWeightIncrement",
    message: /^must be >= 0$/,
  },
  {
    name: "duplicate version names",
    mutate: (e) => (e.spec.versionInfo.candidates[0].name = "current"),
    path: "spec.versionInfo.candidates[0].name",
    message: /duplicate version name "current"/,
  },
  {
    name: "A/B without a reward",
    mutate: (e) => (e.spec.strategy.testingPattern = "A/B"),
    path: "spec.criteria.rewards",
    message: /A\/B experiments need exactly one reward \(found 0\)/,
  },
  {
    name: "A/B/N with two rewards",
    mutate: (e) => {
      e.spec.strategy.testingPattern = "A/B/N";
      e.spec.criteria.rewards = [
        { metric: "a", preferredDirection: "High" },
        { metric: "b", preferredDirection: "Low" },
      ];
    },
    path: "spec.criteria.rewards",
    message: /exactly one reward \(found 2\)/,
  },
  {
    name: "Canary with a reward",
    mutate: (e) => (e.spec.criteria.rewards = [{ metric: "a", preferredDirection: "High" }]),
    path: "spec.criteria.rewards",
    message: /Canary experiments take no rewards \(found 1\)/,
  },
  {
    name: "fieldPath without the leading dot",
    mutate: (e) => (e.spec.versionInfo.candidates[0].weightObjRef.fieldPath = "spec.http[0].route[1].weight"),
    path: "spec.versionInfo.candidates[0].weightObjRef.fieldPath",
    message: /must start with '\.'/,
  },
  {
    name: "fieldPath as a JSON pointer in v2alpha2",
    mutate: (e) => (e.spec.versionInfo.baseline.weightObjRef.fieldPath = "/spec/http/0/route/0/weight"),
    path: "spec.versionInfo.baseline.weightObjRef.fieldPath",
    message: /must start with '\.'/,
  },
  {
    name: "fieldPath with bad syntax",
    mutate: (e) => (e.spec.versionInfo.baseline.weightObjRef.fieldPath = ".spec..http"),
    path: "spec.versionInfo.baseline.weightObjRef.fieldPath",
    message: /is not a field path/,
  },
  {
    name: "bad quantity string",
    mutate: (e) => (e.spec.criteria.objectives[2].upperLimit = "1%"),
    path: "spec.criteria.objectives[2].upperLimit",
    message: /"1%" is not a valid quantity/,
  },
  {
    name: "unknown quantity suffix",
    mutate: (e) => (e.spec.criteria.objectives[0].lowerLimit = "5q"),
    path: "spec.criteria.objectives[0].lowerLimit",
    message: /not a valid quantity/,
  },
  {
    name: "unquoted decimal limit",
    mutate: (e) => (e.spec.criteria.objectives[2].upperLimit = 0.01),
    path: "spec.criteria.objectives[2].upperLimit",
    message: /integer or a quantity string.*quote decimals/,
  },
  {
    name: "limit as a mapping",
    mutate: (e) => (e.spec.criteria.objectives[0].upperLimit = { v: 1 }),
    path: "spec.criteria.objectives[0].upperLimit",
    message: /integer or a quantity string/,
  },
  {
    name: "exponent that is not an integer",
    mutate: (e) => (e.spec.criteria.objectives[0].upperLimit = "1e1.5"),
    path: "spec.criteria.objectives[0].upperLimit",
    message: /unknown suffix/,
  },
  {
    name: "lowerLimit above upperLimit",
    mutate: (e) => (e.spec.criteria.objectives[0].lowerLimit = "60"),
    path: "spec.criteria.objectives[0].lowerLimit",
    message: /must be <= upperLimit \(60 > 50\)/,
  },
  {
    name: "missing strategy",
    mutate: (e) => delete e.spec.strategy,
    path: "spec.strategy",
    message: /^is required$/,
  },
  {
    name: "missing target",
    mutate: (e) => delete e.spec.target,
    path: "spec.target",
    message: /^is required$/,
  },
  {
    name: "empty target",
    mutate: (e) => (e.spec.target = ""),
    path: "spec.target",
    message: /must not be empty/,
  },
  {
    name: "missing testingPattern",
    mutate: (e) => delete e.spec.strategy.testingPattern,
    path: "spec.strategy.testingPattern",
    message: /^is required$/,
  },
  { name: "missing spec", mutate: (e) => delete e.spec, path: "spec", message: /^is required$/ },
  {
    name: "missing baseline name",
    mutate: (e) => delete e.spec.versionInfo.baseline.name,
    path: "spec.versionInfo.baseline.name",
    message: /is required/,
  },
  {
    name: "misspelt field",
    mutate: (e) => {
      e.spec.duration.intervalSecond = 5;
    },
    path: "spec.duration.intervalSecond",
    message: /unknown field \(did you mean intervalSeconds\?\)/,
  },
  {
    name: "unknown top-level field",
    mutate: (e) => {
      e.specs = {};
    },
    path: "specs",
    message: /unknown field/,
  },
  {
    name: "metric reference with two slashes",
    mutate: (e) => (e.spec.criteria.objectives[0].metric = "a/b/c"),
    path: "spec.criteria.objectives[0].metric",
    message: /use "name" or "namespace\/name"/,
  },
  {
    name: "metric reference with upper case",
    mutate: (e) => (e.spec.criteria.indicators = ["Mean-Latency"]),
    path: "spec.criteria.indicators[0]",
    message: /not a valid object name/,
  },
  {
    name: "task and run together",
    base: "001",
    mutate: (e) => (e.spec.strategy.actions.finish[0].run = "echo hi"),
    path: "spec.strategy.actions.finish[0]",
    message: /both task and run/,
  },
  {
    name: "neither task nor run",
    base: "001",
    mutate: (e) => (e.spec.strategy.actions.finish[0] = { with: {} }),
    path: "spec.strategy.actions.finish[0]",
    message: /exactly one of task and run/,
  },
  {
    name: "unknown task",
    base: "001",
    mutate: (e) => (e.spec.strategy.actions.finish[0].task = "common/exex"),
    path: "spec.strategy.actions.finish[0].task",
    message: /unknown task "common\/exex" \(known: common\/exec/,
  },
  {
    name: "bad if condition",
    base: "001",
    mutate: (e) => (e.spec.strategy.actions.finish[0].if = "CandidateWon( and"),
    path: "spec.strategy.actions.finish[0].if",
    message: /invalid condition/,
  },
  {
    name: "unknown function in if",
    base: "001",
    mutate: (e) => (e.spec.strategy.actions.finish[0].if = "Winner()"),
    path: "spec.strategy.actions.finish[0].if",
    message: /unknown name "Winner"/,
  },
  {
    name: "init-experiment with a bare target",
    base: "001",
    mutate: (e) => (e.spec.target = "sample-app"),
    path: "spec.target",
    message: /namespace\/name of the Knative Service/,
  },
  {
    name: "Canary with two candidates and no start action",
    mutate: (e) => e.spec.versionInfo.candidates.push({ name: "c2" }),
    path: "spec.versionInfo.candidates",
    message: /Canary experiments need exactly 1 candidate \(found 2\)/,
  },
  {
    name: "no versionInfo and no start action",
    mutate: (e) => delete e.spec.versionInfo,
    path: "spec.versionInfo",
    message: /no start action/,
  },
  {
    name: "missing metadata.name",
    mutate: (e) => delete e.metadata.name,
    path: "metadata.name",
    message: /is required/,
  },
  {
    name: "metadata.name with capitals",
    mutate: (e) => (e.metadata.name = "Request_Routing"),
    path: "metadata.name",
    message: /not a valid name/,
  },
  { name: "wrong kind", mutate: (e) => (e.kind = "Metric"), path: "kind", message: /must be Experiment/ },
  {
    name: "status stage enum",
    mutate: (e) => (e.status = { stage: "Done" }),
    path: "status.stage",
    message: /must be one of Waiting, Initializing, Running, Finishing, Completed/,
  },
  {
    name: "status timestamp",
    mutate: (e) => (e.status = { initTime: "yesterday" }),
    path: "status.initTime",
    message: /must be a timestamp/,
  },
  {
    name: "status metric value",
    mutate: (e) =>
      (e.status = {
        analysis: {
          aggregatedMetrics: {
            provenance: "p",
            timestamp: "2021-01-01T00:00:00Z",
            data: { "iter8-knative/mean-latency": { data: { current: { value: "fast" } } } },
          },
        },
      }),
    path: 'status.analysis.aggregatedMetrics.data["iter8-knative/mean-latency"].data.current.value',
    message: /not a number or quantity/,
  },
  {
    name: "v2alpha1 fieldPath neither pointer nor dotted",
    base: "004",
    mutate: (e) => (e.spec.versionInfo.baseline.weightObjRef = { fieldPath: "spec/traffic" }),
    path: "spec.versionInfo.baseline.weightObjRef.fieldPath",
    message: /must start with '\.'/,
  },
  {
    name: "v2alpha1 Conformance with a reward",
    base: "004",
    mutate: (e) => (e.spec.criteria.reward = { metric: "m", preferredDirection: "High" }),
    path: "spec.criteria.reward",
    message: /Conformance experiments take no rewards/,
  },
  {
    name: "v2alpha1 task without library",
    base: "004",
    mutate: (e) => (e.spec.strategy.actions.start[0] = { task: "init-experiment" }),
    path: "spec.strategy.actions.start[0].library",
    message: /is required/,
  },
  {
    name: "v2alpha1 unknown library task",
    base: "004",
    mutate: (e) => (e.spec.strategy.actions.start[0].library = "istio"),
    path: "spec.strategy.actions.start[0].task",
    message: /unknown task "istio\/init-experiment"/,
  },
  {
    name: "v2alpha1 v2alpha2-only field",
    base: "004",
    mutate: (e) => (e.spec.criteria.rewards = []),
    path: "spec.criteria.rewards",
    message: /unknown field \(did you mean reward\?\)/,
  },
];

describe("invalid experiments are rejected with the field named", () => {
  for (const c of cases) {
    it(c.name, () => {
      const exp = seed(c.base ?? "000");
      c.mutate(exp);
      const r = validateExperiment(exp);
      assert.equal(r.resource, undefined, "an invalid object has no resource");
      const hit = r.problems.find((p) => p.path === c.path);
      assert.ok(hit, `no problem at ${c.path}; got ${JSON.stringify(r.problems)}`);
      assert.match(hit.message, c.message);
    });
  }

  it("reports every problem at once", () => {
    const exp = seed("000");
    exp.spec.duration.intervalSeconds = 0;
    exp.spec.strategy.testingPattern = "Canari";
    exp.spec.versionInfo.candidates[0].name = "current";
    const paths = validateExperiment(exp).problems.map((p) => p.path);
    assert.deepEqual(paths.sort(), [
      "spec.duration.intervalSeconds",
      "spec.strategy.testingPattern",
      "spec.versionInfo.candidates[0].name",
    ]);
  });

  it("a non-mapping is one problem", () => {
    assert.deepEqual(validateExperiment([1, 2]).problems, [
      { path: "", message: "an Experiment must be a mapping" },
    ]);
  });
});

describe("valid variations", () => {
  const ok: Array<[string, Mutation, string?]> = [
    [
      "A/B with one reward",
      (e) => {
        e.spec.strategy.testingPattern = "A/B";
        e.spec.criteria.rewards = [{ metric: "iter8-knative/user-engagement", preferredDirection: "High" }];
      },
    ],
    [
      "run with a condition",
      (e) =>
        (e.spec.strategy.actions = {
          finish: [{ if: "CandidateWon() and not (false || !WinnerFound())", run: "echo ok" }],
        }),
    ],
    [
      "quantities in every form",
      (e) => {
        e.spec.criteria.objectives[0].upperLimit = "1.5e2";
        e.spec.criteria.objectives[0].lowerLimit = "10m";
        e.spec.criteria.objectives[1].upperLimit = "2Ki";
      },
    ],
    [
      "status written by iter8",
      (e) =>
        (e.status = {
          stage: "Running",
          completedIterations: 3,
          initTime: "2021-05-01T10:00:00Z",
          analysis: {
            aggregatedMetrics: {
              provenance: "x",
              timestamp: "2021-05-01T10:00:00Z",
              data: {
                "iter8-knative/mean-latency": {
                  data: { current: { value: 0.879 }, candidate: { value: "310319302313n" } },
                },
              },
            },
          },
          somethingNew: true,
        }),
    ],
    ["FixedSplit BlueGreen etc.", (e) => (e.spec.strategy.deploymentPattern = "BlueGreen")],
    [
      "A/B/N with three candidates",
      (e) => {
        e.spec.strategy.testingPattern = "A/B/N";
        e.spec.criteria.rewards = [{ metric: "r", preferredDirection: "Low" }];
        e.spec.versionInfo.candidates.push({ name: "c2" }, { name: "c3" });
      },
    ],
    [
      "unknown action name is only a warning",
      (e) => (e.spec.strategy.actions = { rollback: [{ task: "common/bash", with: { script: "true" } }] }),
      "spec.strategy.actions.rollback: is never run",
    ],
    [
      "objective without limits is only a warning",
      (e) => e.spec.criteria.objectives.push({ metric: "m" }),
      "spec.criteria.objectives[3]: has neither upperLimit nor lowerLimit",
    ],
  ];
  for (const [name, mutate, warning] of ok) {
    it(name, () => {
      const exp = seed("000");
      mutate(exp);
      const r = validateExperiment(exp);
      assert.deepEqual(r.problems, []);
      assert.ok(r.resource);
      if (warning)
        assert.ok(
          r.warnings.some((w) => w.startsWith(warning)),
          JSON.stringify(r.warnings),
        );
      else assert.deepEqual(r.warnings, []);
    });
  }

  it("the task list can be replaced by the task registry's", () => {
    const exp = seed("001");
    exp.spec.strategy.actions.finish[0].task = "custom/promote";
    assert.equal(validateExperiment(exp).problems.length, 1);
    assert.deepEqual(
      validateExperiment(exp, { knownTasks: ["knative/init-experiment", "custom/promote"] }).problems,
      [],
    );
  });
});

describe("metrics", () => {
  const metric = (spec: Record<string, unknown>, apiVersion = "iter8.tools/v2alpha2") => ({
    apiVersion,
    kind: "Metric",
    metadata: { name: "mean-latency", namespace: "iter8-knative" },
    spec,
  });
  const base = {
    type: "Gauge",
    units: "milliseconds",
    sampleSize: "request-count",
    provider: "prometheus",
    jqExpression: ".data.result[0].value[1] | tonumber",
    urlTemplate: "http://prometheus:9090/api/v1/query",
    params: [{ name: "query", value: "sum(x{revision_name='$name'}[$elapsedTime])" }],
  };

  it("a sample metric is valid and its sampleSize normalised", () => {
    const r = validateMetric(metric(base));
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.warnings, []);
    assert.equal(r.resource?.spec.sampleSize, "iter8-knative/request-count");
  });

  const bad: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ["type enum", { ...base, type: "gauge" }, "spec.type", /must be one of Counter, Gauge/],
    ["method enum", { ...base, method: "PUT" }, "spec.method", /GET, POST/],
    ["authType enum", { ...base, authType: "OAuth" }, "spec.authType", /Basic, Bearer, APIKey/],
    [
      "Basic without secret",
      { ...base, authType: "Basic" },
      "spec.secret",
      /required when authType is Basic/,
    ],
    [
      "bad mock level",
      { ...base, mock: [{ name: "v1", level: "lots" }] },
      "spec.mock[0].level",
      /not a valid quantity/,
    ],
    [
      "duplicate mock version",
      {
        ...base,
        mock: [
          { name: "v1", level: 1 },
          { name: "v1", level: 2 },
        ],
      },
      "spec.mock[1].name",
      /duplicate/,
    ],
    [
      "sampleSize as a v2alpha1 object",
      { ...base, sampleSize: { name: "request-count" } },
      "spec.sampleSize",
      /must be a string/,
    ],
    ["params not a list", { ...base, params: { query: "x" } }, "spec.params", /must be a list/],
    ["headers field name", { ...base, headers: [] }, "spec.headers", /unknown field/],
  ];
  for (const [name, spec, path, message] of bad) {
    it(`rejects ${name}`, () => {
      const r = validateMetric(metric(spec));
      const hit = r.problems.find((p) => p.path === path);
      assert.ok(hit, JSON.stringify(r.problems));
      assert.match(hit.message, message);
    });
  }

  it("warns about a metric that can never be read", () => {
    const { urlTemplate: _u, jqExpression: _j, ...rest } = base;
    const r = validateMetric(metric(rest));
    assert.deepEqual(r.problems, []);
    assert.equal(r.warnings.length, 2);
  });

  it("reads v2alpha1 metrics", () => {
    const r = validateMetric(
      metric(
        {
          type: "counter",
          provider: "prometheus",
          sampleSize: { name: "request-count" },
          params: [{ name: "query", value: "sum(increase(x{revision_name='$revision'}[$interval]))" }],
        },
        "iter8.tools/v2alpha1",
      ),
    );
    assert.deepEqual(r.problems, []);
    assert.equal(r.sourceVersion, "v2alpha1");
    assert.equal(r.resource?.spec.type, "Counter");
    assert.equal(r.resource?.spec.sampleSize, "iter8-knative/request-count");
  });

  it("v2alpha1 metrics need a provider and lower-case types", () => {
    const r = validateMetric(metric({ type: "Counter" }, "iter8.tools/v2alpha1"));
    assert.deepEqual(r.problems.map((p: Problem) => p.path).sort(), ["spec.provider", "spec.type"]);
  });
});

describe("rules checked after the start action", () => {
  const exp = (mutate: (e: Doc) => void = () => {}): Experiment => {
    const r = validateExperiment(seed("000"));
    const e = structuredClone(r.resource!) as unknown as Doc;
    mutate(e);
    return e as unknown as Experiment;
  };
  const cases: Array<[string, Mutation, string[]]> = [
    ["a valid canary", () => {}, []],
    ["no versionInfo", (e) => delete e.spec.versionInfo, ["No versionInfo in experiment"]],
    [
      "Conformance with a candidate",
      (e) => (e.spec.strategy.testingPattern = "Conformance"),
      ["Invalid number of candidates for Conformance experiment"],
    ],
    [
      "Canary without candidates",
      (e) => delete e.spec.versionInfo.candidates,
      ["Invalid number of candidates for Canary experiment"],
    ],
    [
      "A/B with two candidates",
      (e) => {
        e.spec.strategy.testingPattern = "A/B";
        e.spec.criteria.rewards = [{ metric: "a/b", preferredDirection: "High" }];
        e.spec.versionInfo.candidates.push({ name: "x" });
      },
      ["Invalid number of candidates for A/B experiment"],
    ],
    [
      "A/B/N with none",
      (e) => {
        e.spec.strategy.testingPattern = "A/B/N";
        e.spec.criteria.rewards = [{ metric: "a/b", preferredDirection: "High" }];
        e.spec.versionInfo.candidates = [];
      },
      ["Invalid number of candidates for A/B/N experiment"],
    ],
  ];
  for (const [name, mutate, messages] of cases) {
    it(`checkVersionCounts: ${name}`, () =>
      assert.deepEqual(
        checkVersionCounts(exp(mutate)).map((p) => p.message),
        messages,
      ));
  }
  it("checkStartedExperiment adds names, rewards and fieldPaths, in the original order", () => {
    const e = exp((x) => {
      x.spec.versionInfo.candidates[0].name = "current";
      x.spec.criteria.rewards = [{ metric: "a/b", preferredDirection: "High" }];
      x.spec.versionInfo.candidates[0].weightObjRef.fieldPath = "/spec/traffic/1/percent";
    });
    assert.deepEqual(
      checkStartedExperiment(e).map((p) => p.message),
      [
        "Version names are not unique",
        "Invalid number of rewards for Canary experiment",
        "Fieldpaths must start with '.'",
      ],
    );
    assert.deepEqual(checkStartedExperiment(exp()), []);
  });
});

describe("robustness", () => {
  it("any field of a seed replaced by any JSON value gives problems or a resource, never an exception", () => {
    const paths: string[][] = [];
    const walk = (node: unknown, path: string[]) => {
      paths.push(path);
      if (node !== null && typeof node === "object") {
        for (const [k, v] of Object.entries(node)) walk(v, [...path, k]);
      }
    };
    for (const n of ["000", "001", "004"]) walk(seed(n), [n]);
    fc.assert(
      fc.property(
        fc.constantFrom(...paths.filter((p) => p.length > 1)),
        fc.jsonValue({ maxDepth: 3 }),
        (path, value) => {
          const doc = seed(path[0]!);
          let node = doc;
          for (const k of path.slice(1, -1)) node = node[k];
          node[path[path.length - 1]!] = value;
          const r = validateExperiment(doc);
          assert.equal(r.resource === undefined, r.problems.length > 0);
          for (const p of r.problems) assert.equal(typeof p.path, "string");
        },
      ),
      { numRuns: 1500 },
    );
  });
});

describe("names and variables that reach scripts and URLs", () => {
  it("warns on a version name that is not a DNS label and a variable that is not URL-safe", async () => {
    const { validateExperiment } = await import("../../../src/api/validate.ts");
    const exp = conformanceFixture({
      versions: [version("v1; rm -rf /", { rev: "$(id)", ok: "app-v1" })],
    });
    const r = validateExperiment(exp);
    assert.deepEqual(r.problems, []);
    const w = r.warnings.join("\n");
    assert.match(w, /spec\.versionInfo\.baseline\.name: "v1; rm -rf \/" is not a DNS label/);
    assert.match(
      w,
      /spec\.versionInfo\.baseline\.variables\[0\]\.value: "\$\(id\)" has characters that are not URL-safe/,
    );
    assert.doesNotMatch(w, /variables\[1\]/);
  });
});
