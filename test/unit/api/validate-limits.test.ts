// biome-ignore-all lint/suspicious/noExplicitAny: hand-built documents, mutated freely per case
// Validation gaps: task inputs, deep nesting, huge keys, timer overflow, objects the API server
// would refuse. Each was accepted (or crashed) before.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InputError, loadDocuments } from "../../../src/api/load.ts";
import { validateExperiment } from "../../../src/api/validate.ts";
import { checkTaskInputs } from "../../../src/tasks/registry.ts";
import { conformanceFixture } from "../../support/experiments.ts";

function experiment(extra: (e: Record<string, any>) => void = () => {}): Record<string, any> {
  const e: Record<string, any> = conformanceFixture({
    actions: { start: [{ task: "common/exec", with: { cmd: "true" } }] },
    versions: ["v1"],
  });
  extra(e);
  return e;
}

const messages = (r: { problems: { path: string; message: string }[] }) =>
  r.problems.map((p) => `${p.path}: ${p.message}`).join("\n");

describe("validation limits", () => {
  it("task inputs are checked: common/exec without cmd", () => {
    const exp = experiment((e) => {
      e.spec.strategy.actions.start[0].with = {};
    });
    const r = validateExperiment(exp, { taskInputs: checkTaskInputs });
    assert.match(messages(r), /spec\.strategy\.actions\.start\[0\]\.with: with\.cmd is required/);
    assert.deepEqual(validateExperiment(experiment(), { taskInputs: checkTaskInputs }).problems, []);
  });

  it("2,000 levels of nesting in with: are an input error naming the field, not a stack overflow", () => {
    let deep = "{}";
    for (let i = 0; i < 2000; i++) deep = `{"a":${deep}}`;
    const text = JSON.stringify(experiment()).replace('{"cmd":"true"}', `{"cmd":"true","deep":${deep}}`);
    assert.throws(
      () => loadDocuments(text),
      (e: unknown) =>
        e instanceof InputError &&
        /^document 1: spec\.strategy\.actions\.start\[0\]\.with\.deep\.a\.a.*: nested more than 64 levels deep$/.test(
          e.message,
        ),
    );
    // Called directly, the validator reports it as a problem too.
    const parsed = JSON.parse(text);
    assert.match(messages(validateExperiment(parsed)), /with\.deep\.a.*: is nested more than 64 levels deep/);
  });

  it("intervalSeconds that would overflow Node's timer is rejected", () => {
    const at = (n: number) =>
      validateExperiment(experiment((e) => (e.spec.duration = { intervalSeconds: n })));
    assert.match(messages(at(2_147_484)), /spec\.duration\.intervalSeconds: must be at most 2147483/);
    assert.deepEqual(at(2_147_483).problems, []);
  });

  it("an object larger than the API server accepts is rejected", () => {
    const big = experiment((e) => (e.metadata.annotations = { note: "x".repeat(1_600_000) }));
    assert.match(
      messages(validateExperiment(big)),
      /the object is \d+ bytes as JSON; the Kubernetes API server stores at most 1572864/,
    );
  });

  it("a huge unknown key gets no suggestion (the edit distance is bounded by length)", () => {
    const r = validateExperiment(experiment((e) => (e.spec["x".repeat(500_000)] = 1)));
    const m = messages(r);
    assert.match(m, /unknown|not allowed|additional/i);
    assert.doesNotMatch(m, /did you mean/);
  });
});
