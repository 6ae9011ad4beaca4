// examples/canary-progressive-strength end to end: the seed 001 canary with criteria.strength set
// completes through the built CLI, promotes the healthy candidate once every objective is satisfied
// at 95 %, and `iter8 describe` prints the evidence (while `iter8ctl describe` does not).

import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { buildOnce, examples, orphansAfter, readJson, runCli, tempDir } from "./helpers.ts";

type Exp = {
  status: {
    stage: string;
    completedIterations: number;
    versionRecommendedForPromotion?: string;
    analysis: {
      evidence: { data: Record<string, Array<{ metric: string; outcome: string; confidence?: number }>> };
    };
  };
};

before(() => buildOnce());

describe("iter8 local run examples/canary-progressive-strength", () => {
  it("promotes the healthy candidate on evidence at 95 %, and describe shows it", async () => {
    const state = tempDir("strength");
    const r = await runCli([
      "local",
      "run",
      join(examples, "canary-progressive-strength"),
      "--interval",
      "1",
      "--state-dir",
      state,
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(await orphansAfter(r.marker), []);
    const exp = readJson<Exp>(join(state, "experiments/default.canary-progressive.json"));
    assert.equal(exp.status.stage, "Completed");
    assert.equal(exp.status.versionRecommendedForPromotion, "candidate");
    const candidate = exp.status.analysis.evidence.data["candidate"] ?? [];
    assert.deepEqual(
      candidate.map((e) => [e.metric, e.outcome, e.confidence]),
      [
        ["iter8-knative/mean-latency", "satisfied", 0.95],
        ["iter8-knative/95th-percentile-tail-latency", "satisfied", 0.95],
        ["iter8-knative/error-rate", "satisfied", 0.95],
      ],
    );

    const d = await runCli(["describe", "canary-progressive", "--state-dir", state]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /\nEvidence \(criteria\.strength decides\):\n {2}current:\n/);
    assert.match(d.stdout, /\n {4}error-rate [\d.]+ %, 95 % bound [\d.]+ % <= 1 %, n = [\d,]+: satisfied\n/);
    assert.match(d.stdout, /Info: candidate satisfies every objective at 95 %/);
  });
});
