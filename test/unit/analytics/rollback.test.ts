import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { effectiveRollbackOnFailure, rollbackNeeded } from "../../../src/analytics/index.ts";
import type { DeploymentPattern, Objective, VersionAssessmentsData } from "../../../src/api/types.ts";
import { ERROR_RATE, experiment, LATENCY } from "./fixtures.ts";

const B = "sample-app-v1";
const C = "sample-app-v2";

describe("rollbackNeeded", () => {
  const cases: {
    name: string;
    deployment?: DeploymentPattern;
    objectives: Objective[];
    data: VersionAssessmentsData;
    want: ReturnType<typeof rollbackNeeded>;
  }[] = [
    {
      name: "worked trace, iteration 3 failure with rollback_on_failure: rollback",
      objectives: [
        { metric: LATENCY, upperLimit: 50 },
        { metric: ERROR_RATE, upperLimit: "0.01", rollback_on_failure: true },
      ],
      data: { [B]: [true, true], [C]: [true, false] },
      want: { rollback: true, objective: ERROR_RATE, version: C },
    },
    {
      name: "same failure without the flag (Progressive): no rollback, weights shift instead",
      objectives: [
        { metric: LATENCY, upperLimit: 50 },
        { metric: ERROR_RATE, upperLimit: "0.01" },
      ],
      data: { [B]: [true, true], [C]: [true, false] },
      want: { rollback: false },
    },
    {
      name: "BlueGreen: rollback_on_failure defaults to true",
      deployment: "BlueGreen",
      objectives: [{ metric: ERROR_RATE, upperLimit: "0.01" }],
      data: { [B]: [true], [C]: [false] },
      want: { rollback: true, objective: ERROR_RATE, version: C },
    },
    {
      name: "BlueGreen with an explicit false: no rollback",
      deployment: "BlueGreen",
      objectives: [{ metric: ERROR_RATE, upperLimit: "0.01", rollback_on_failure: false }],
      data: { [B]: [true], [C]: [false] },
      want: { rollback: false },
    },
    {
      name: "a failing baseline counts too and is named first",
      objectives: [{ metric: LATENCY, rollback_on_failure: true }],
      data: { [C]: [false], [B]: [false] },
      want: { rollback: true, objective: LATENCY, version: B },
    },
    {
      name: "flagged objective satisfied by all, other objective failing: no rollback",
      objectives: [{ metric: LATENCY, rollback_on_failure: true }, { metric: ERROR_RATE }],
      data: { [B]: [true, false], [C]: [true, false] },
      want: { rollback: false },
    },
    {
      name: "no assessments (no objectives): no rollback",
      objectives: [],
      data: {},
      want: { rollback: false },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const exp = experiment({ deployment: c.deployment, objectives: c.objectives });
      assert.deepEqual(rollbackNeeded(exp, c.data), c.want);
    });
  }
});

describe("rollbackNeeded with metric values: only observed violations count", () => {
  const objectives: Objective[] = [{ metric: ERROR_RATE, upperLimit: "0.01", rollback_on_failure: true }];
  const cases: {
    name: string;
    values: Record<string, string | undefined>;
    want: ReturnType<typeof rollbackNeeded>;
  }[] = [
    {
      name: "candidate without traffic yet (no value): inconclusive, no rollback",
      values: { [B]: "0", [C]: undefined },
      want: { rollback: false },
    },
    {
      name: "candidate measured above the limit: rollback",
      values: { [B]: "0", [C]: "0.2" },
      want: { rollback: true, objective: ERROR_RATE, version: C },
    },
    {
      name: "baseline measured above the limit, candidate unmeasured: rollback names the baseline",
      values: { [B]: "0.5", [C]: undefined },
      want: { rollback: true, objective: ERROR_RATE, version: B },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const exp = experiment({ objectives });
      const data: Record<string, { value?: string }> = {};
      for (const [v, value] of Object.entries(c.values)) data[v] = value === undefined ? {} : { value };
      const metrics = { [ERROR_RATE]: { data } };
      const assessments = { [B]: [c.values[B] === "0"], [C]: [false] };
      assert.deepEqual(rollbackNeeded(exp, assessments, metrics), c.want);
    });
  }
});

describe("effectiveRollbackOnFailure", () => {
  const cases: { deployment?: DeploymentPattern; flag?: boolean; want: boolean }[] = [
    { want: false },
    { deployment: "Progressive", want: false },
    { deployment: "FixedSplit", want: false },
    { deployment: "BlueGreen", want: true },
    { deployment: "Progressive", flag: true, want: true },
    { deployment: "BlueGreen", flag: false, want: false },
  ];
  for (const c of cases) {
    test(`${c.deployment ?? "(default)"} / ${c.flag ?? "(unset)"} → ${c.want}`, () => {
      const objective: Objective = {
        metric: LATENCY,
        ...(c.flag === undefined ? {} : { rollback_on_failure: c.flag }),
      };
      assert.equal(effectiveRollbackOnFailure(experiment({ deployment: c.deployment }), objective), c.want);
    });
  }
});
