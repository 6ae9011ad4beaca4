import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Experiment, Metric, Stage } from "../../../src/api/types.ts";
import {
  ColumnWriter,
  ExperimentWatchPrinter,
  renderExperimentTable,
  renderMetricTable,
} from "../../../src/report/table.ts";
import { experimentFixture, metricFixture } from "../../support/experiments.ts";

function experiment(
  name: string,
  pattern: Experiment["spec"]["strategy"]["testingPattern"],
  target: string,
  status?: { stage?: Stage; completedIterations?: number; message?: string },
  namespace = "default",
): Experiment {
  return experimentFixture({ name, namespace, target, testingPattern: pattern, versions: [], status });
}

const running = (n: number) => ({
  stage: "Running" as const,
  completedIterations: n,
  message: `IterationUpdate: Completed Iteration ${n}`,
});

describe("kubectl get experiment table", () => {
  it("matches the quick-start sample output", () => {
    const out = renderExperimentTable([
      experiment("quickstart-exp", "Canary", "default/sample-app", running(1)),
    ]);
    assert.equal(
      out,
      "NAME             TYPE     TARGET               STAGE     COMPLETED ITERATIONS   MESSAGE\n" +
        "quickstart-exp   Canary   default/sample-app   Running   1                      IterationUpdate: Completed Iteration 1\n",
    );
  });

  it("watch mode reproduces the seed 004 `--watch` block row by row", () => {
    const printer = new ExperimentWatchPrinter();
    let out = printer.update(experiment("mirroring", "Conformance", "default/sample-app", running(1)));
    for (let n = 2; n <= 5; n++)
      out += printer.update(experiment("mirroring", "Conformance", "default/sample-app", running(n)));
    assert.equal(
      out,
      [
        "NAME        TYPE          TARGET               STAGE     COMPLETED ITERATIONS   MESSAGE",
        "mirroring   Conformance   default/sample-app   Running   1                      IterationUpdate: Completed Iteration 1",
        "mirroring   Conformance   default/sample-app   Running   2                      IterationUpdate: Completed Iteration 2",
        "mirroring   Conformance   default/sample-app   Running   3                      IterationUpdate: Completed Iteration 3",
        "mirroring   Conformance   default/sample-app   Running   4                      IterationUpdate: Completed Iteration 4",
        "mirroring   Conformance   default/sample-app   Running   5                      IterationUpdate: Completed Iteration 5",
        "",
      ].join("\n"),
    );
  });

  it("watch rows keep remembered widths; a wider later cell widens only that row onwards", () => {
    const printer = new ExperimentWatchPrinter();
    const first = printer.update(experiment("e", "A/B", "t", running(1)));
    const later = printer.update(
      experiment("e", "A/B", "t", { stage: "Completed", completedIterations: 10, message: "ok" }),
    );
    const after = printer.update(experiment("e", "A/B", "t", running(2)));
    assert.equal(first.split("\n")[0], "NAME   TYPE   TARGET   STAGE     COMPLETED ITERATIONS   MESSAGE");
    assert.equal(later, "e      A/B    t        Completed   10                     ok\n");
    assert.equal(
      after,
      "e      A/B    t        Running     2                      IterationUpdate: Completed Iteration 2\n",
    );
  });

  it("-A adds a NAMESPACE column, --no-headers drops the header, missing status prints empty cells", () => {
    const exps = [
      experiment("a", "Canary", "ns1/app", undefined, "ns1"),
      experiment("long-name", "A/B/N", "ns2/app", { stage: "Waiting", completedIterations: 0 }, "team-b"),
    ];
    assert.equal(
      renderExperimentTable(exps, { allNamespaces: true }),
      "NAMESPACE   NAME        TYPE     TARGET    STAGE     COMPLETED ITERATIONS   MESSAGE\n" +
        "ns1         a           Canary   ns1/app                                    \n" +
        "team-b      long-name   A/B/N    ns2/app   Waiting   0                      \n",
    );
    assert.equal(
      renderExperimentTable(exps, { noHeaders: true }),
      // Empty cells are padded like any other; only the last column is unpadded.
      `a           Canary   ns1/app   ${" ".repeat(10)}${" ".repeat(6)}\n` +
        "long-name   A/B/N    ns2/app   Waiting   0     \n",
    );
  });

  it("an empty list with --no-headers prints nothing", () => {
    assert.equal(renderExperimentTable([], { noHeaders: true }), "");
  });

  it("multi-line messages are cut at the first line break", () => {
    const out = renderExperimentTable([experiment("x", "Canary", "t", { message: "Failed: boom\nstack" })], {
      noHeaders: true,
    });
    assert.equal(out, `x     Canary   t     ${" ".repeat(6)}${" ".repeat(6)}Failed: boom...\n`);
  });
});

describe("kubectl get metric table", () => {
  it("NAME TYPE DESCRIPTION", () => {
    const metric = (name: string, type: "Counter" | "Gauge" | undefined, description?: string): Metric =>
      metricFixture(`iter8-knative/${name}`, {
        ...(type ? { type } : {}),
        ...(description ? { description } : {}),
      });
    assert.equal(
      renderMetricTable([
        metric("request-count", "Counter", "Number of requests"),
        metric("mean-latency", "Gauge", "Mean latency"),
        metric("bare", undefined),
      ]),
      "NAME            TYPE      DESCRIPTION\n" +
        "request-count   Counter   Number of requests\n" +
        "mean-latency    Gauge     Mean latency\n" +
        "bare                      \n",
    );
  });
});

describe("ColumnWriter", () => {
  it("pads to at least 6 and counts code points, not bytes", () => {
    const w = new ColumnWriter();
    assert.equal(
      w.format([
        ["é", "x"],
        ["ab", "y"],
      ]),
      "é     x\nab    y\n",
    );
  });
});
