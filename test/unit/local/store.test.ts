import assert from "node:assert/strict";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Experiment } from "../../../src/api/types.ts";
import { ConflictError } from "../../../src/engine/ports.ts";
import { resolveLocalExperiment } from "../../../src/platforms/local/resolve.ts";
import {
  defaultStateDir,
  FileExperimentStore,
  listStoredExperiments,
} from "../../../src/platforms/local/store.ts";
import { conformanceFixture } from "../../support/experiments.ts";

const exp = (name: string): Experiment => conformanceFixture({ name, target: "default/x", versions: [] });

describe("FileExperimentStore", () => {
  it("bumps resourceVersion on every write and refuses stale writes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "iter8-state-"));
    const writes: Experiment[] = [];
    const store = new FileExperimentStore({ stateDir: dir, onWrite: (e) => writes.push(e) });
    const v1 = await store.put(exp("a"));
    assert.equal(v1.metadata.resourceVersion, "1");
    const v2 = await store.updateStatus({ ...v1, status: { stage: "Waiting" } } as Experiment);
    assert.equal(v2.metadata.resourceVersion, "2");
    await assert.rejects(
      store.updateStatus({ ...v1, status: { stage: "Running" } } as Experiment),
      ConflictError,
    );
    assert.equal((await store.get({ namespace: "default", name: "a" }))?.status?.stage, "Waiting");
    const v3 = await store.updateSpec({ ...v2, spec: { ...v2.spec, target: "default/y" } });
    assert.equal(v3.metadata.resourceVersion, "3");
    assert.equal(v3.status?.stage, "Waiting", "a spec write keeps the status");
    assert.equal(writes.length, 2);
    assert.deepEqual(readdirSync(join(dir, "experiments")), ["default.a.json"], "no temporary files left");
    assert.equal(listStoredExperiments(dir).length, 1);
    assert.equal(resolveLocalExperiment("a", undefined, dir).experiment.spec.target, "default/y");
    assert.throws(
      () => resolveLocalExperiment("b", undefined, dir),
      /experiment b not found in state directory .* \(found: default\/a\)/,
    );
  });
  it("defaults the state directory from the environment", () => {
    assert.equal(defaultStateDir({ ITER8_STATE_DIR: "/s" }), "/s");
    assert.equal(defaultStateDir({ XDG_STATE_HOME: "/x" }), "/x/iter8");
    assert.match(defaultStateDir({}), /\.local\/state\/iter8$/);
  });
});
