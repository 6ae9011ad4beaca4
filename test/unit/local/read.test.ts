// The local read side of `iter8 get experiments [--watch]`: the scope filter, and the watch driven
// by a fake clock (each advance of the poll interval is one poll; no real time passes).

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Experiment } from "../../../src/api/types.ts";
import {
  listLocalExperiments,
  localLiveness,
  watchLocalExperiments,
} from "../../../src/platforms/local/read.ts";
import { FileExperimentStore, type RunnerBeat, runnerFilePath } from "../../../src/platforms/local/store.ts";
import { FakeClock, settle } from "../engine/fakes.ts";

const exp = (name: string, namespace = "default"): Experiment =>
  ({
    apiVersion: "iter8.tools/v2alpha2",
    kind: "Experiment",
    metadata: { name, namespace },
    spec: { target: "default/x", strategy: { testingPattern: "Conformance" } },
    status: { stage: "Running" },
  }) as Experiment;

function stateDir(): { dir: string; store: FileExperimentStore } {
  const dir = mkdtempSync(join(tmpdir(), "iter8-read-"));
  return { dir, store: new FileExperimentStore({ stateDir: dir }) };
}

/** What `iter8 local run` beats for `e` while it runs, as of `clock`'s time. */
function beat(dir: string, e: Experiment, clock: FakeClock): void {
  mkdirSync(join(dir, "runs"), { recursive: true });
  const record: RunnerBeat = {
    pid: process.pid,
    host: hostname(),
    beatAt: clock.now().toISOString(),
    intervalMs: 2000,
    dir: "examples/x",
  };
  const key = { namespace: e.metadata.namespace!, name: e.metadata.name };
  writeFileSync(runnerFilePath(dir, key), JSON.stringify(record));
}

/** Starts a watch of `dir`; `poll()` moves the clock one interval on and lets the poll run. */
function startWatch(dir: string, initial: Experiment[], scope = {}) {
  const clock = new FakeClock();
  const changes: string[] = [];
  const ac = new AbortController();
  const done = watchLocalExperiments(
    dir,
    scope,
    initial,
    (e) => changes.push(`${e.metadata.namespace}/${e.metadata.name}@${e.metadata.resourceVersion}`),
    ac.signal,
    { clock, intervalMs: 100 },
  );
  const poll = async () => {
    clock.advance(100);
    await settle();
  };
  return { clock, changes, poll, done, stop: () => ac.abort() };
}

describe("listLocalExperiments", () => {
  it("keeps the default namespace, one namespace, all of them, or one name", async () => {
    const { dir, store } = stateDir();
    await store.put(exp("a"));
    await store.put(exp("b", "team"));
    await store.put(exp("a", "team"));
    const names = (scope: Parameters<typeof listLocalExperiments>[1]) =>
      listLocalExperiments(dir, scope).map((e) => `${e.metadata.namespace}/${e.metadata.name}`);
    assert.deepEqual(names({}), ["default/a"]);
    assert.deepEqual(names({ namespace: "team" }), ["team/a", "team/b"]);
    assert.deepEqual(names({ allNamespaces: true }), ["default/a", "team/a", "team/b"]);
    assert.deepEqual(names({ allNamespaces: true, name: "a" }), ["default/a", "team/a"]);
    assert.deepEqual(listLocalExperiments(join(dir, "nothing-here")), []);
  });
});

describe("watchLocalExperiments", () => {
  it("reports experiments stored later and new resourceVersions, once each", async () => {
    const { dir, store } = stateDir();
    const first = await store.put(exp("a"));
    const w = startWatch(dir, [first]);
    await w.poll();
    assert.deepEqual(w.changes, [], "nothing changed since the initial listing");
    await store.put(exp("b"));
    await w.poll();
    assert.deepEqual(w.changes, ["default/b@1"]);
    await store.updateStatus({ ...first, status: { stage: "Completed" } } as Experiment);
    await w.poll();
    await w.poll();
    assert.deepEqual(w.changes, ["default/b@1", "default/a@2"]);
    w.stop();
    await w.done;
  });

  it("polls only once per interval", async () => {
    const { dir, store } = stateDir();
    const w = startWatch(dir, []);
    await store.put(exp("a"));
    w.clock.advance(99);
    await settle();
    assert.deepEqual(w.changes, []);
    w.clock.advance(1);
    await settle();
    assert.deepEqual(w.changes, ["default/a@1"]);
    w.stop();
    await w.done;
  });

  it("reports an experiment again when its run stops beating, with no new resourceVersion", async () => {
    const { dir, store } = stateDir();
    const a = await store.put(exp("a"));
    const w = startWatch(dir, []);
    beat(dir, a, w.clock);
    assert.equal(localLiveness(dir, w.clock)(a).alive, true);
    await w.poll();
    assert.deepEqual(w.changes, ["default/a@1"]);
    // No beat for longer than three intervals plus the slack: the run is judged dead.
    w.clock.advance(3 * 2000 + 5000);
    await settle();
    assert.equal(localLiveness(dir, w.clock)(a).alive, false);
    assert.deepEqual(w.changes, ["default/a@1", "default/a@1"]);
    await w.poll();
    assert.equal(w.changes.length, 2, "a dead run is reported once");
    w.stop();
    await w.done;
  });

  it("ignores experiments outside the scope", async () => {
    const { dir, store } = stateDir();
    const w = startWatch(dir, [], { namespace: "team", name: "a" });
    await store.put(exp("a"));
    await store.put(exp("b", "team"));
    await store.put(exp("a", "team"));
    await w.poll();
    assert.deepEqual(w.changes, ["team/a@1"]);
    w.stop();
    await w.done;
  });

  it("ends when the signal aborts, also before the first poll", async () => {
    const { dir } = stateDir();
    const w = startWatch(dir, []);
    w.stop();
    await w.done;
    assert.equal(w.clock.nextTimerIn(), undefined, "no poll left pending");
    const ac = new AbortController();
    ac.abort();
    await watchLocalExperiments(dir, {}, [], () => assert.fail("no poll"), ac.signal, {
      clock: new FakeClock(),
    });
  });
});
