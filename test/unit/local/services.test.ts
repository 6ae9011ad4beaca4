import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Experiment, ExperimentStatus, TaskSpec } from "../../../src/api/types.ts";
import { LabError, parseLab } from "../../../src/platforms/local/lab.ts";
import {
  dryRunStandIn,
  dryRunTasks,
  printedCommand,
  taskPermission,
} from "../../../src/platforms/local/safe-tasks.ts";
import {
  initialWeights,
  servicesForm,
  servicesProblems,
} from "../../../src/platforms/local/services-form.ts";
import { MetricsStore, restoreMetrics, serialiseMetrics } from "../../../src/router/metrics.ts";
import { InProcessTaskRunner } from "../../../src/tasks/index.ts";
import { experimentFixture } from "../../support/experiments.ts";

const dir = mkdtempSync(join(tmpdir(), "iter8-services-"));
const parse = (text: string) => parseLab(text, "lab.yaml", dir);
function problems(text: string): string[] {
  try {
    parse(text);
  } catch (e) {
    if (e instanceof LabError) return e.problems;
    throw e;
  }
  return assert.fail("expected a LabError");
}

const experiment = (versions: string[], actions?: Record<string, TaskSpec[]>): Experiment =>
  experimentFixture({ target: "default/e", actions, versions });

describe("lab versions form", () => {
  it("reads versions, resolving relative programs against the lab's directory", () => {
    const lab = parse(`
versions:
  v1: { command: [./server.sh, --fast], env: { A: 1 } }
  v2: { command: [python3, server.py], weight: 30 }
  v3: { url: "http://127.0.0.1:8081" }
load: { qps: 20, duration: 120s, connections: 4, path: /x, headers: { x-user: test } }
readyTimeout: 5s
runTasks: [kubectl]
`);
    assert.deepEqual(lab.versions, [
      { name: "v1", command: [join(dir, "server.sh"), "--fast"], env: { A: "1" } },
      { name: "v2", command: ["python3", "server.py"], env: {}, weight: 30 },
      { name: "v3", env: {}, address: "127.0.0.1:8081" },
    ]);
    assert.deepEqual(lab.load, {
      qps: 20,
      connections: 4,
      durationMs: 120_000,
      path: "/x",
      headers: { "x-user": "test" },
    });
    assert.equal(lab.readyTimeoutMs, 5000);
    assert.deepEqual(lab.runTasks, ["kubectl"]);
  });

  it("reports every problem at once, each with its field", () => {
    const p = problems(`
versions:
  v1: { command: [] }
  v2: { url: ftp://x }
  v3: { command: [a], url: "http://127.0.0.1:1" }
  v4: { command: [a], weight: 120 }
load: { qps: -1, path: x, duration: soon }
images: {}
`);
    for (const re of [
      /^lab\.yaml: versions\.v1\.command: must name a program/,
      /^lab\.yaml: versions\.v2\.url: must be an http:\/\/ URL/,
      /^lab\.yaml: versions\.v4\.weight: must be an integer percentage/,
      /^lab\.yaml: load\.qps: must be a positive number/,
      /^lab\.yaml: load\.path: must be a path starting with \//,
    ])
      assert.ok(
        p.some((x) => re.test(x)),
        `${re}\n${p.join("\n")}`,
      );
    assert.ok(
      p.some((x) => /^lab\.yaml: images: belongs to the Kubernetes-manifests form/.test(x)),
      p.join("\n"),
    );
  });

  it("needs exactly one of command and url; weights add up to at most 100", () => {
    assert.ok(
      problems("versions: { v1: { command: [a], url: 'http://h:1' } }\n").some((x) =>
        /versions\.v1: needs exactly one of command/.test(x),
      ),
    );
    assert.ok(
      problems("versions: { v1: { command: [a], weight: 70 }, v2: { command: [a], weight: 40 } }\n").some(
        (x) => /more than 100/.test(x),
      ),
    );
  });

  it("splits the rest of the traffic evenly", () => {
    const lab = parse(
      "versions: { a: { command: [x] }, b: { command: [x], weight: 50 }, c: { command: [x] } }\n",
    );
    assert.deepEqual(initialWeights(lab, ["a", "b", "c"]), { a: 25, b: 50, c: 25 });
    const even = parse("versions: { a: { command: [x] }, b: { command: [x] }, c: { command: [x] } }\n");
    assert.deepEqual(initialWeights(even, ["a", "b", "c"]), { a: 34, b: 33, c: 33 });
  });

  it("points the versions at the router object and checks the names against the lab", () => {
    const lab = parse("versions: { v1: { command: [x] }, v2: { command: [x] } }\n");
    const form = servicesForm(experiment(["v1", "v2"]), lab);
    assert.equal(
      form.experiment.spec.versionInfo?.candidates?.[0]?.weightObjRef?.fieldPath,
      ".spec.http[0].route[1].weight",
    );
    assert.deepEqual(
      form.workloads.map((w) => w.name),
      ["v1", "v2"],
    );
    assert.deepEqual(servicesProblems(experiment(["v1", "v9"]), "experiment.yaml", lab), [
      "experiment.yaml: Experiment e: spec.versionInfo.candidates[0].name: version v9 is not in lab.yaml versions (v1, v2)",
      "lab.yaml: versions.v2: not a version of the experiment's versionInfo",
    ]);
  });
});

describe("safe tasks", () => {
  const kubectl: TaskSpec = {
    task: "common/exec",
    with: { cmd: "kubectl", args: ["apply", "-f", "{{ .name }}.yaml"] },
  };
  const won = (exp: Experiment) => {
    exp.status = { versionRecommendedForPromotion: "v2" } as ExperimentStatus;
    return exp;
  };

  it("prints the interpolated argv of an unmapped command", () => {
    const exp = won(experiment(["v1", "v2"], { finish: [kubectl] }));
    assert.equal(printedCommand(kubectl, exp), "kubectl apply -f v2.yaml");
    const lab = parse("versions: { v1: { command: [x] }, v2: { command: [x] } }\n");
    assert.deepEqual(dryRunTasks(exp, taskPermission(lab, false)), ["finish[0] common/exec (kubectl)"]);
    assert.deepEqual(dryRunTasks(exp, taskPermission(lab, true)), []);
    const listed = parse("versions: { v1: { command: [x] }, v2: { command: [x] } }\nrunTasks: [kubectl]\n");
    assert.deepEqual(dryRunTasks(exp, taskPermission(listed, false)), []);
  });

  it("runs the allowed tasks around the printed ones, in order", async () => {
    const echo: TaskSpec = { task: "common/exec", with: { cmd: "echo", args: ["hi"] } };
    const printed: string[] = [];
    const platform = { getObject: async () => undefined, getSecret: async () => undefined };
    const runner = new InProcessTaskRunner({
      platform,
      standIn: dryRunStandIn(new Set(["echo"]), (l) => printed.push(l)),
    });
    const exp = won(experiment(["v1", "v2"], { finish: [echo, kubectl, echo] }));
    const r = await runner.run("finish", exp);
    assert.equal(r.ok, true, r.error);
    assert.deepEqual(
      r.tasks.map((t) => [t.skipped, t.output]),
      [
        [false, "$ echo hi\nhi\n"],
        [true, "dry run (not run locally): kubectl apply -f v2.yaml\n"],
        [false, "$ echo hi\nhi\n"],
      ],
    );
    assert.match(
      printed[0]!,
      /^dry run: finish\[1\] common\/exec not run on this machine: kubectl apply -f v2\.yaml\n/,
    );
  });
});

describe("router statistics persistence", () => {
  it("restores counts, errors and percentiles into a fresh store and adds what follows", () => {
    const a = new MetricsStore();
    for (let i = 0; i < 100; i++) a.record("v1", i % 10 === 0 ? 500 : 200, i);
    const saved = JSON.parse(JSON.stringify(serialiseMetrics(a)));
    const b = new MetricsStore();
    restoreMetrics(b, saved);
    const [x, y] = [a.snapshot("v1")!, b.snapshot("v1")!];
    assert.deepEqual(
      [y.count, y.errors, y.meanMs, y.byClass, y.percentilesMs],
      [x.count, x.errors, x.meanMs, x.byClass, x.percentilesMs],
    );
    // HDR keeps 3 significant digits: a merged histogram's maximum is its bucket's highest value.
    assert.ok(Math.abs(y.maxMs - x.maxMs) <= x.maxMs * 1e-3, `${y.maxMs} vs ${x.maxMs}`);
    b.record("v1", 200, 5);
    assert.equal(b.snapshot("v1")?.count, 101);
    assert.equal(b.snapshot("v1")?.errors, 10);
  });

  it("refuses data of another shape, naming the field", () => {
    assert.throws(() => restoreMetrics(new MetricsStore(), { format: 2 }), /format: must be 1/);
    assert.throws(
      () =>
        restoreMetrics(new MetricsStore(), {
          format: 1,
          state: { versions: [{ version: "v1", count: "x" }] },
        }),
      /state\.versions\[0\]: not a version's statistics/,
    );
  });
});

describe("Knative revision workloads", () => {
  it("appends the container's args and warns that its command is replaced", async () => {
    const { knativeWorkload } = await import("../../../src/platforms/local/workloads.ts");
    const lab = parse(
      "images: { 'img:1': { command: [iter8, sample-app], args: [--seed, '1'] } }\nrevisions: { r1: { args: [--latency, 5ms] } }\n",
    );
    const warnings: string[] = [];
    const w = knativeWorkload(
      {
        name: "r1",
        namespace: "default",
        service: "s",
        container: {
          image: "img:1",
          command: ["/app"],
          args: ["--port-env", "PORT"],
          env: [{ name: "A", value: "1" }],
        },
      },
      lab,
      (m) => warnings.push(m),
    );
    assert.notEqual(typeof w, "string");
    if (typeof w === "string") return;
    assert.deepEqual(w.argv, [
      "iter8",
      "sample-app",
      "--seed",
      "1",
      "--port-env",
      "PORT",
      "--latency",
      "5ms",
    ]);
    assert.deepEqual(w.env, { A: "1" });
    assert.match(
      warnings[0]!,
      /revision r1: the container's command \["\/app"\] is not run: lab\.yaml images\["img:1"\]\.command replaces/,
    );
    assert.match(
      String(
        knativeWorkload(
          { name: "r2", namespace: "default", service: "s", container: { image: "other" } },
          lab,
        ),
      ),
      /image other is not mapped/,
    );
  });
});
