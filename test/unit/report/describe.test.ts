import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { loadDocuments } from "../../../src/api/index.ts";
import type { AggregatedMetricsData, Experiment, MetricInfo } from "../../../src/api/types.ts";
import { bareName, describeExperiment } from "../../../src/report/describe.ts";
import { writtenMetricReferences } from "../../../src/report/references.ts";
import {
  abFixture,
  abnFixture,
  conformanceFixture,
  experimentFixture,
  metricFixture,
  metricInfo,
  version,
} from "../../support/experiments.ts";

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/report/${name}`, import.meta.url), "utf8");
const piece = <T>(data: T) => ({ provenance: "test", timestamp: "2021-06-01T00:00:00Z", data });

/** A status.metrics entry for the Metric `namespace/name`, with its units if any. */
const metric = (key: string, units?: string): MetricInfo =>
  metricInfo(metricFixture(key, units ? { units } : {}));

function aggregated(
  values: Record<string, Record<string, string | number | undefined>>,
): AggregatedMetricsData {
  const out: AggregatedMetricsData = {};
  for (const [metric, perVersion] of Object.entries(values)) {
    out[metric] = { data: {} };
    for (const [version, value] of Object.entries(perVersion)) {
      out[metric]!.data[version] = value === undefined ? {} : { value };
    }
  }
  return out;
}

/** The seed 004 experiment (v2alpha1 `mirroring`, upgraded) with the values its tutorial shows. */
function seed004(): Experiment {
  const ns = "iter8-system";
  return conformanceFixture({
    name: "mirroring",
    target: "default/sample-app",
    actions: { start: [{ task: "knative/init-experiment" }] },
    criteria: {
      requestCount: `${ns}/request-count`,
      objectives: [
        { metric: `${ns}/mean-latency`, upperLimit: 50 },
        { metric: `${ns}/95th-percentile-tail-latency`, upperLimit: 100 },
        { metric: `${ns}/error-rate`, upperLimit: "0.01" },
      ],
    },
    duration: { intervalSeconds: 10, iterationsPerLoop: 10 },
    versions: [version("current", { revision: "sample-app-v2" })],
    status: {
      stage: "Completed",
      completedIterations: 10,
      versionRecommendedForPromotion: "current",
      metrics: [
        metric(`${ns}/request-count`),
        metric(`${ns}/mean-latency`, "milliseconds"),
        metric(`${ns}/95th-percentile-tail-latency`, "milliseconds"),
        metric(`${ns}/error-rate`),
      ],
      analysis: {
        winnerAssessment: piece({ winnerFound: false }),
        versionAssessments: piece({ current: [true, true, true] }),
        aggregatedMetrics: piece(
          aggregated({
            [`${ns}/request-count`]: { current: "136083333333n" },
            [`${ns}/mean-latency`]: { current: "878571428n" },
            [`${ns}/95th-percentile-tail-latency`]: { current: 4.8342 },
            [`${ns}/error-rate`]: { current: "0" },
          }),
        ),
      },
    },
  });
}

/** sriumcp/iter8ctl testdata experiment8 (Canary, completed 10 iterations). */
function experiment8(): Experiment {
  const ns = "kfserving-test";
  return experimentFixture({
    name: "sklearn-iris-experiment-1",
    namespace: ns,
    target: "kfserving-test/sklearn-iris",
    criteria: {
      objectives: [
        { metric: `${ns}/mean-latency`, upperLimit: 1000 },
        { metric: `${ns}/error-rate`, upperLimit: "10m" },
      ],
    },
    versions: ["default", "canary"],
    status: {
      completedIterations: 10,
      versionRecommendedForPromotion: "canary",
      metrics: [
        metric(`${ns}/95th-percentile-tail-latency`, "milliseconds"),
        metric(`${ns}/mean-latency`, "milliseconds"),
        metric(`${ns}/error-rate`),
        metric(`${ns}/request-count`),
      ],
      analysis: {
        winnerAssessment: piece({ winnerFound: true, winner: "canary" }),
        versionAssessments: piece({ default: [true, true], canary: [true, true] }),
        aggregatedMetrics: piece(
          aggregated({
            [`${ns}/95th-percentile-tail-latency`]: { default: "330681818181n", canary: "310319302313n" },
            [`${ns}/mean-latency`]: { default: "228419999999n", canary: 229.0016 },
            [`${ns}/error-rate`]: { default: 0, canary: "0" },
            [`${ns}/request-count`]: { default: "117444444444n", canary: "57714400001n" },
          }),
        ),
      },
    },
  });
}

describe("describeExperiment golden outputs", () => {
  it("seed 004 (v2alpha1 layout) prints exactly the tutorial's iter8ctl output", () => {
    assert.equal(describeExperiment(seed004(), { layout: "v2alpha1" }), fixture("seed004-describe.txt"));
  });

  it("seed 004 loaded from the v2alpha1 YAML the tutorial pipes in gives the same text", () => {
    const text = fixture("seed004-experiment.yaml");
    const [doc] = loadDocuments(text);
    assert.deepEqual(doc?.problems, []);
    assert.equal(doc?.sourceVersion, "v2alpha1");
    const exp = doc!.resource as Experiment;
    const written = writtenMetricReferences(parse(text), exp);
    assert.equal(written.get("default/mean-latency"), "mean-latency");
    assert.equal(
      describeExperiment(exp, { layout: "v2alpha1", writtenReferences: written }),
      fixture("seed004-describe.txt"),
    );
    // The layout's own rule gives the same labels without the written references.
    assert.equal(describeExperiment(exp, { layout: "v2alpha1" }), fixture("seed004-describe.txt"));
  });

  it("experiment8.out (v2alpha2 layout, references written bare)", () => {
    const ns = "kfserving-test";
    const written = new Map(
      ["mean-latency", "error-rate", "95th-percentile-tail-latency", "request-count"].map((m) => [
        `${ns}/${m}`,
        m,
      ]),
    );
    const expected = [
      "",
      "****** Overview ******",
      "Experiment name: sklearn-iris-experiment-1",
      "Experiment namespace: kfserving-test",
      "Target: kfserving-test/sklearn-iris",
      "Testing pattern: Canary",
      "Deployment pattern: Progressive",
      "",
      "****** Progress Summary ******",
      "Number of completed iterations: 10",
      "",
      "****** Winner Assessment ******",
      "> If the candidate version satisfies the experiment objectives, then it is the winner.",
      "> Otherwise, if the baseline version satisfies the experiment objectives, it is the winner.",
      "> Otherwise, there is no winner.",
      "App versions in this experiment: [default canary]",
      "Winning version: canary",
      "Version recommended for promotion: canary",
      "",
      "****** Objective Assessment ******",
      "> Identifies whether or not the experiment objectives are satisfied by the most recently observed metrics values for each version.",
      "+--------------------------+---------+--------+",
      "|        OBJECTIVE         | DEFAULT | CANARY |",
      "+--------------------------+---------+--------+",
      "| mean-latency <= 1000.000 | true    | true   |",
      "+--------------------------+---------+--------+",
      "| error-rate <= 0.010      | true    | true   |",
      "+--------------------------+---------+--------+",
      "",
      "****** Metrics Assessment ******",
      "> Most recently read values of experiment metrics for each version.",
      "+--------------------------------+---------+---------+",
      "|             METRIC             | DEFAULT | CANARY  |",
      "+--------------------------------+---------+---------+",
      "| 95th-percentile-tail-latency   | 330.682 | 310.320 |",
      "| (milliseconds)                 |         |         |",
      "+--------------------------------+---------+---------+",
      "| mean-latency (milliseconds)    | 228.420 | 229.002 |",
      "+--------------------------------+---------+---------+",
      "| error-rate                     |   0.000 |   0.000 |",
      "+--------------------------------+---------+---------+",
      "| request-count                  | 117.445 |  57.715 |",
      "+--------------------------------+---------+---------+",
      "",
      "",
    ].join("\n");
    assert.equal(
      describeExperiment(experiment8(), { layout: "v2alpha2", writtenReferences: written }),
      expected,
    );
  });

  it("experiment12.out reward table (A/B: no explanation lines in Winner Assessment)", () => {
    const exp = abFixture("default/books-purchased", {
      name: "ab",
      target: "default/books",
      versions: ["A", "B"],
      status: {
        stage: "Running",
        completedIterations: 3,
        versionRecommendedForPromotion: "B",
        metrics: [metric("default/books-purchased")],
        analysis: {
          winnerAssessment: piece({ winnerFound: true, winner: "B" }),
          versionAssessments: piece({ A: [], B: [] }),
          aggregatedMetrics: piece(aggregated({ "default/books-purchased": { A: "5.03", B: 24.4531 } })),
        },
      },
    });
    const written = new Map([["default/books-purchased", "books-purchased"]]);
    const out = describeExperiment(exp, { layout: "v2alpha2", writtenReferences: written });
    const excerpt = [
      "****** Winner Assessment ******",
      "App versions in this experiment: [A B]",
      "Winning version: B",
      "Version recommended for promotion: B",
      "",
      "****** Reward Assessment ******",
      "> Identifies values of reward metrics for each version. The best version is marked with a '*'.",
      "+--------------------------------+-------+----------+",
      "|             REWARD             |   A   |    B     |",
      "+--------------------------------+-------+----------+",
      "| books-purchased (higher        | 5.030 | 24.454 * |",
      "| better)                        |       |          |",
      "+--------------------------------+-------+----------+",
      "",
    ].join("\n");
    assert.ok(out.includes(`\n${excerpt}`), out);
    // Sections in order: no Objective Assessment without objectives; Metrics Assessment last.
    assert.deepEqual(out.match(/\*{6} .* \*{6}/g), [
      "****** Overview ******",
      "****** Progress Summary ******",
      "****** Winner Assessment ******",
      "****** Reward Assessment ******",
      "****** Metrics Assessment ******",
    ]);
  });

  it("experiment1.out: not started prints only Overview and Progress Summary", () => {
    const exp = experiment8();
    exp.status = {};
    assert.equal(
      describeExperiment(exp, { layout: "v2alpha2" }),
      [
        "",
        "****** Overview ******",
        "Experiment name: sklearn-iris-experiment-1",
        "Experiment namespace: kfserving-test",
        "Target: kfserving-test/sklearn-iris",
        "Testing pattern: Canary",
        "Deployment pattern: Progressive",
        "",
        "****** Progress Summary ******",
        "Number of completed iterations: 0",
        "",
        "",
      ].join("\n"),
    );
  });
});

describe("describeExperiment details", () => {
  it("a stage without iterations is shown, analysis is not", () => {
    const exp = experiment8();
    exp.status = { ...exp.status, stage: "Running", completedIterations: 0 };
    const out = describeExperiment(exp, { layout: "v2alpha2" });
    assert.ok(out.endsWith("Experiment stage: Running\nNumber of completed iterations: 0\n\n"), out);
    assert.ok(!out.includes("Winner Assessment"));
  });

  it("v2alpha2 Conformance: explanation lines, no versions line, no recommendation line", () => {
    const exp = seed004();
    exp.status!.analysis!.winnerAssessment = piece({ winnerFound: true, winner: "current" });
    const out = describeExperiment(exp, { layout: "v2alpha2" });
    // Without the written references, the v2alpha2 layout labels by the normalised key; the long
    // single word widens the column and the other labels still wrap at 30 columns, as tablewriter did.
    const expected = [
      "****** Winner Assessment ******",
      "> If the version being validated; i.e., the baseline version, satisfies the experiment objectives, it is the winner.",
      "> Otherwise, there is no winner.",
      "Winning version: current",
      "",
      "****** Objective Assessment ******",
      "> Identifies whether or not the experiment objectives are satisfied by the most recently observed metrics values for each version.",
      "+-------------------------------------------+---------+",
      "|                 OBJECTIVE                 | CURRENT |",
      "+-------------------------------------------+---------+",
      "| iter8-system/mean-latency <=              | true    |",
      "|                                    50.000 |         |",
      "+-------------------------------------------+---------+",
      "| iter8-system/95th-percentile-tail-latency | true    |",
      "| <= 100.000                                |         |",
      "+-------------------------------------------+---------+",
      "| iter8-system/error-rate <=                | true    |",
      "|                                     0.010 |         |",
      "+-------------------------------------------+---------+",
      "",
      "****** Metrics Assessment ******",
      "> Most recently read values of experiment metrics for each version.",
      "+-------------------------------------------+---------+",
      "|                  METRIC                   | CURRENT |",
      "+-------------------------------------------+---------+",
      "| iter8-system/request-count                | 136.084 |",
      "+-------------------------------------------+---------+",
      "| iter8-system/mean-latency                 |   0.879 |",
      "| (milliseconds)                            |         |",
      "+-------------------------------------------+---------+",
      "| iter8-system/95th-percentile-tail-latency |   4.835 |",
      "| (milliseconds)                            |         |",
      "+-------------------------------------------+---------+",
      "| iter8-system/error-rate                   |   0.000 |",
      "+-------------------------------------------+---------+",
      "",
      "",
    ].join("\n");
    assert.ok(out.endsWith(`\n${expected}`), out);
  });

  it("v2alpha1 layout keeps a reference that was written with its namespace", () => {
    const written = new Map([["iter8-system/mean-latency", "iter8-system/mean-latency"]]);
    const out = describeExperiment(seed004(), { layout: "v2alpha1", writtenReferences: written });
    const expected = [
      "****** Objective Assessment ******",
      "+--------------------------------+---------+",
      "|           OBJECTIVE            | CURRENT |",
      "+--------------------------------+---------+",
      "| iter8-system/mean-latency <=   | true    |",
      "|                         50.000 |         |",
      "+--------------------------------+---------+",
      "| 95th-percentile-tail-latency   | true    |",
      "| <= 100.000                     |         |",
      "+--------------------------------+---------+",
      "| error-rate <= 0.010            | true    |",
      "+--------------------------------+---------+",
      "",
      "****** Metrics Assessment ******",
      "+--------------------------------+---------+",
      "|             METRIC             | CURRENT |",
      "+--------------------------------+---------+",
      "| request-count                  | 136.084 |",
      "+--------------------------------+---------+",
      "| iter8-system/mean-latency      |   0.879 |",
      "| (milliseconds)                 |         |",
      "+--------------------------------+---------+",
    ].join("\n");
    assert.ok(out.includes(`\n${expected}\n`), out);
  });

  it("missing values and assessments print `unavailable`; lower limits print before the metric", () => {
    const exp = experiment8();
    exp.spec.criteria!.objectives = [
      { metric: "kfserving-test/mean-latency", lowerLimit: "10m", upperLimit: 1000 },
      { metric: "kfserving-test/error-rate", upperLimit: "0.01" },
      { metric: "kfserving-test/request-count", lowerLimit: 5 },
    ];
    exp.status!.analysis!.versionAssessments = piece({ default: [false, true] });
    exp.status!.analysis!.aggregatedMetrics = piece(
      aggregated({ "kfserving-test/mean-latency": { default: 1, canary: undefined } }),
    );
    const out = describeExperiment(exp, { layout: "v2alpha1" });
    const expected = [
      "****** Winner Assessment ******",
      "App versions in this experiment: [default canary]",
      "Winning version: canary",
      "Recommended baseline: canary",
      "",
      "****** Objective Assessment ******",
      "+--------------------------------+-------------+-------------+",
      "|           OBJECTIVE            |   DEFAULT   |   CANARY    |",
      "+--------------------------------+-------------+-------------+",
      "| 0.010 <= mean-latency <=       | false       | unavailable |",
      "|                       1000.000 |             |             |",
      "+--------------------------------+-------------+-------------+",
      "| error-rate <= 0.010            | true        | unavailable |",
      "+--------------------------------+-------------+-------------+",
      "| 5.000 <= request-count         | unavailable | unavailable |",
      "+--------------------------------+-------------+-------------+",
      "",
      "****** Metrics Assessment ******",
      "+--------------------------------+-------------+-------------+",
      "|             METRIC             |   DEFAULT   |   CANARY    |",
      "+--------------------------------+-------------+-------------+",
      "| 95th-percentile-tail-latency   | unavailable | unavailable |",
      "| (milliseconds)                 |             |             |",
      "+--------------------------------+-------------+-------------+",
      "| mean-latency (milliseconds)    |       1.000 | unavailable |",
      "+--------------------------------+-------------+-------------+",
      "| error-rate                     | unavailable | unavailable |",
      "+--------------------------------+-------------+-------------+",
      "| request-count                  | unavailable | unavailable |",
      "+--------------------------------+-------------+-------------+",
      "",
      "",
    ].join("\n");
    assert.ok(out.endsWith(`\n${expected}`), out);
  });

  it("reward: lower is better, ties go to the first version, unavailable versions are skipped", () => {
    const exp = abnFixture(
      { metric: "ns/cost", preferredDirection: "Low" },
      {
        name: "abn",
        namespace: "ns",
        versions: ["a", "b", "c", "d"],
        status: {
          completedIterations: 1,
          analysis: {
            versionAssessments: piece({}),
            aggregatedMetrics: piece(
              aggregated({ "ns/cost": { a: undefined, b: 2.0001, c: "2.0002", d: 3 } }),
            ),
          },
        },
      },
    );
    const out = describeExperiment(exp, { layout: "v2alpha2" });
    // 2.0001 and 2.0002 both round up to 2.001: the tie goes to b. No winner assessment in the
    // analysis: no Winner Assessment section. No status.metrics: a Metrics table with only its header.
    const expected = [
      "****** Progress Summary ******",
      "Number of completed iterations: 1",
      "",
      "****** Reward Assessment ******",
      "> Identifies values of reward metrics for each version. The best version is marked with a '*'.",
      "+------------------------+-------------+---------+-------+-------+",
      "|         REWARD         |      A      |    B    |   C   |   D   |",
      "+------------------------+-------------+---------+-------+-------+",
      "| ns/cost (lower better) | unavailable | 2.001 * | 2.001 | 3.000 |",
      "+------------------------+-------------+---------+-------+-------+",
      "",
      "****** Metrics Assessment ******",
      "> Most recently read values of experiment metrics for each version.",
      "+--------+---+---+---+---+",
      "| METRIC | A | B | C | D |",
      "+--------+---+---+---+---+",
      "",
      "",
    ].join("\n");
    assert.ok(out.endsWith(`\n${expected}`), out);
  });

  it("reward: higher is better picks the largest", () => {
    const exp = experiment8();
    exp.spec.strategy.testingPattern = "A/B";
    exp.spec.criteria = { rewards: [{ metric: "kfserving-test/request-count", preferredDirection: "High" }] };
    const out = describeExperiment(exp, { layout: "v2alpha2" });
    assert.ok(
      out.includes("| kfserving-test/request-count   | 117.445 * | 57.715 |\n| (higher better)"),
      out,
    );
  });

  it("without versionInfo the tables have only their label column", () => {
    const exp = seed004();
    delete exp.spec.versionInfo;
    const out = describeExperiment(exp, { layout: "v2alpha1" });
    assert.ok(out.includes("+--------------------------------+\n|           OBJECTIVE            |\n"), out);
  });

  it("a value that is not a quantity is reported with its field path", () => {
    const exp = seed004();
    exp.status!.analysis!.aggregatedMetrics!.data["iter8-system/error-rate"]!.data["current"] = {
      value: "fast",
    };
    assert.throws(
      () => describeExperiment(exp, { layout: "v2alpha1" }),
      /status\.analysis\.aggregatedMetrics\.data\["iter8-system\/error-rate"\]\.data\["current"\]\.value: "fast" is not a valid quantity/,
    );
  });

  it("rejects an unknown layout", () => {
    assert.throws(() => describeExperiment(seed004(), { layout: "v1" as never }), /layout must be/);
  });

  it("bareName strips the namespace", () => {
    assert.equal(bareName("iter8-knative/mean-latency"), "mean-latency");
    assert.equal(bareName("mean-latency"), "mean-latency");
  });
});
