import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assessVersions, feasibleVersions } from "../../../src/analytics/index.ts";
import type { Objective, Quantity, VersionAssessmentsData } from "../../../src/api/types.ts";
import { ERROR_RATE, experiment, LATENCY, metricsOf } from "./fixtures.ts";

const V1 = "sample-app-v1";
const V2 = "sample-app-v2";

describe("assessVersions: limits", () => {
  const cases: { name: string; objective: Omit<Objective, "metric">; value: Quantity; satisfied: boolean }[] =
    [
      {
        name: "value exactly at upper limit is satisfied",
        objective: { upperLimit: 50 },
        value: 50,
        satisfied: true,
      },
      {
        name: "value just above upper limit fails",
        objective: { upperLimit: 50 },
        value: 50.000001,
        satisfied: false,
      },
      { name: "value below upper limit", objective: { upperLimit: 50 }, value: 12, satisfied: true },
      {
        name: "value exactly at lower limit is satisfied",
        objective: { lowerLimit: 10 },
        value: 10,
        satisfied: true,
      },
      {
        name: "value just below lower limit fails",
        objective: { lowerLimit: 10 },
        value: 9.999,
        satisfied: false,
      },
      {
        name: "both limits, value at lower",
        objective: { lowerLimit: 1, upperLimit: 2 },
        value: 1,
        satisfied: true,
      },
      {
        name: "both limits, value at upper",
        objective: { lowerLimit: 1, upperLimit: 2 },
        value: 2,
        satisfied: true,
      },
      {
        name: "both limits, value above",
        objective: { lowerLimit: 1, upperLimit: 2 },
        value: 3,
        satisfied: false,
      },
      { name: "no limits: any value satisfies", objective: {}, value: -1e9, satisfied: true },
      {
        name: "string limit 0.01 vs milli value 10m",
        objective: { upperLimit: "0.01" },
        value: "10m",
        satisfied: true,
      },
      { name: "string limit 0.01 vs 11m", objective: { upperLimit: "0.01" }, value: "11m", satisfied: false },
      {
        name: "nano quantity 310319302313n (310.3) vs 50",
        objective: { upperLimit: 50 },
        value: "310319302313n",
        satisfied: false,
      },
      {
        name: "exponent quantity 1.5e2 at limit 150",
        objective: { upperLimit: "1.5e2" },
        value: 150,
        satisfied: true,
      },
      { name: "negative lower limit", objective: { lowerLimit: -5 }, value: "-5", satisfied: true },
    ];
  for (const c of cases) {
    test(c.name, () => {
      const exp = experiment({ objectives: [{ metric: LATENCY, ...c.objective }] });
      const { data, message } = assessVersions(
        exp,
        metricsOf({ [LATENCY]: { [V1]: c.value, [V2]: c.value } }),
      );
      assert.deepEqual(data, { [V1]: [c.satisfied], [V2]: [c.satisfied] });
      assert.equal(message, "Error: ; Warning: ; Info: ");
    });
  }
});

describe("assessVersions: one row per version, one verdict per objective in order", () => {
  test("the worked trace's objectives, candidate over the error-rate limit", () => {
    const exp = experiment({
      objectives: [
        { metric: LATENCY, upperLimit: 50 },
        { metric: ERROR_RATE, upperLimit: "0.01" },
      ],
    });
    const metrics = metricsOf({
      [LATENCY]: { [V1]: 20, [V2]: 30 },
      [ERROR_RATE]: { [V1]: 0, [V2]: "0.02" },
    });
    assert.deepEqual(assessVersions(exp, metrics).data, { [V1]: [true, true], [V2]: [true, false] });
  });

  test("no objectives: empty data", () => {
    const { data, message } = assessVersions(experiment(), metricsOf({ [LATENCY]: { [V1]: 1 } }));
    assert.deepEqual(data, {});
    assert.equal(message, "Error: ; Warning: ; Info: ");
  });
});

describe("assessVersions: missing values are not satisfied", () => {
  const exp = experiment({ objectives: [{ metric: LATENCY, upperLimit: 50 }] });
  const cases = [
    {
      name: "metric absent from aggregated metrics",
      metrics: metricsOf({ [ERROR_RATE]: { [V1]: 0, [V2]: 0 } }),
      data: { [V1]: [false], [V2]: [false] },
      message: `Error: ; Warning: Aggregated metric object for ${LATENCY} metric is unavailable.; Info: `,
    },
    {
      name: "version entry absent",
      metrics: metricsOf({ [LATENCY]: { [V1]: 10 } }),
      data: { [V1]: [true], [V2]: [false] },
      message: `Error: ; Warning: Value for ${LATENCY} metric and ${V2} version is unavailable.; Info: `,
    },
    {
      name: "version entry without a value (e.g. NaN from the backend)",
      metrics: metricsOf({ [LATENCY]: { [V1]: 10, [V2]: undefined } }),
      data: { [V1]: [true], [V2]: [false] },
      message: `Error: ; Warning: Value for ${LATENCY} metric and ${V2} version is None.; Info: `,
    },
    {
      name: "both versions without values: two warnings, comma separated",
      metrics: metricsOf({ [LATENCY]: { [V1]: undefined, [V2]: undefined } }),
      data: { [V1]: [false], [V2]: [false] },
      message:
        `Error: ; Warning: Value for ${LATENCY} metric and ${V1} version is None., ` +
        `Value for ${LATENCY} metric and ${V2} version is None.; Info: `,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = assessVersions(exp, c.metrics);
      assert.deepEqual(got.data, c.data);
      assert.equal(got.message, c.message);
    });
  }

  test("an unparsable value is not satisfied and says why", () => {
    const got = assessVersions(exp, metricsOf({ [LATENCY]: { [V1]: "fast", [V2]: 1 } }));
    assert.deepEqual(got.data, { [V1]: [false], [V2]: [true] });
    assert.match(
      got.message,
      /Warning: Value for iter8-knative\/mean-latency metric and sample-app-v1 version is invalid: "fast" is not a valid quantity/,
    );
  });

  test("an unparsable limit leaves every version unsatisfied with an error", () => {
    const bad = experiment({ objectives: [{ metric: LATENCY, upperLimit: "lots" }] });
    const got = assessVersions(bad, metricsOf({ [LATENCY]: { [V1]: 1, [V2]: 1 } }));
    assert.deepEqual(got.data, { [V1]: [false], [V2]: [false] });
    assert.match(
      got.message,
      /^Error: Objective for iter8-knative\/mean-latency metric has an invalid upperLimit: "lots"/,
    );
  });

  test("no versionInfo yet: nothing assessed, with an error", () => {
    const exp2 = experiment({ objectives: [{ metric: LATENCY, upperLimit: 50 }] });
    delete exp2.spec.versionInfo;
    const got = assessVersions(exp2, metricsOf({ [LATENCY]: { [V1]: 1 } }));
    assert.deepEqual(got.data, {});
    assert.match(got.message, /^Error: versionInfo is not set/);
  });
});

describe("assessVersions: metric keys are matched as namespace/name", () => {
  test("bare objective metric resolves in the experiment namespace", () => {
    const exp = experiment({
      namespace: "iter8-knative",
      objectives: [{ metric: "mean-latency", upperLimit: 50 }],
    });
    const got = assessVersions(exp, metricsOf({ [LATENCY]: { [V1]: 10, [V2]: 60 } }));
    assert.deepEqual(got.data, { [V1]: [true], [V2]: [false] });
  });

  test("bare aggregated key matches a namespaced objective in the experiment namespace", () => {
    const exp = experiment({ namespace: "iter8-knative", objectives: [{ metric: LATENCY, upperLimit: 50 }] });
    const got = assessVersions(exp, metricsOf({ "mean-latency": { [V1]: 10, [V2]: 60 } }));
    assert.deepEqual(got.data, { [V1]: [true], [V2]: [false] });
  });

  test("same name in another namespace does not match", () => {
    const exp = experiment({
      namespace: "default",
      objectives: [{ metric: "mean-latency", upperLimit: 50 }],
    });
    const got = assessVersions(exp, metricsOf({ [LATENCY]: { [V1]: 10, [V2]: 10 } }));
    assert.deepEqual(got.data, { [V1]: [false], [V2]: [false] });
    assert.match(got.message, /Aggregated metric object for mean-latency metric is unavailable\./);
  });
});

describe("feasibleVersions", () => {
  const exp = experiment({
    versions: ["a", "b", "c"],
    pattern: "A/B/N",
    objectives: [{ metric: LATENCY }, { metric: ERROR_RATE }],
  });
  const cases: { name: string; data: VersionAssessmentsData; feasible: string[] }[] = [
    { name: "no assessments: every version, spec order", data: {}, feasible: ["a", "b", "c"] },
    {
      name: "all true rows only",
      data: { c: [true, true], a: [true, true], b: [true, false] },
      feasible: ["a", "c"],
    },
    { name: "a version without a row is not feasible", data: { a: [true, true] }, feasible: ["a"] },
    { name: "a short row is not feasible", data: { a: [true], b: [true, true], c: [] }, feasible: ["b"] },
    { name: "none", data: { a: [false, false], b: [false, true], c: [true, false] }, feasible: [] },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(feasibleVersions(exp, c.data), c.feasible));
});
