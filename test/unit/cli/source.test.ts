import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CliError } from "../../../src/cli/errors.ts";
import { chooseSource, type SourceFlags } from "../../../src/cli/source.ts";

// A state directory holding one experiment, an empty one, and a kubeconfig file.
const root = mkdtempSync(join(tmpdir(), "iter8-source-"));
const withExperiment = join(root, "state-with");
mkdirSync(join(withExperiment, "experiments"), { recursive: true });
writeFileSync(
  join(withExperiment, "experiments", "default.exp.json"),
  JSON.stringify({ apiVersion: "iter8.tools/v2alpha2", kind: "Experiment", metadata: { name: "exp" } }),
);
const empty = join(root, "state-empty");
const kubeconfig = join(root, "kubeconfig");
writeFileSync(kubeconfig, "apiVersion: v1\nkind: Config\n");
const noKube = join(root, "absent-kubeconfig");

describe("chooseSource", () => {
  const cases: Array<{ name: string; flags: SourceFlags; env: NodeJS.ProcessEnv; want: string }> = [
    {
      name: "--state-dir",
      flags: { stateDir: empty },
      env: { KUBECONFIG: kubeconfig },
      want: `local:${empty}`,
    },
    {
      name: "--local",
      flags: { local: true },
      env: { XDG_STATE_HOME: root, KUBECONFIG: kubeconfig },
      want: `local:${join(root, "iter8")}`,
    },
    {
      name: "--kubeconfig",
      flags: { kubeconfig },
      env: { ITER8_STATE_DIR: withExperiment },
      want: "cluster",
    },
    { name: "--context", flags: { context: "kind" }, env: {}, want: "cluster" },
    {
      name: "$ITER8_STATE_DIR beats a kubeconfig",
      flags: {},
      env: { ITER8_STATE_DIR: empty, KUBECONFIG: kubeconfig },
      want: `local:${empty}`,
    },
    {
      name: "a state dir with experiments beats a kubeconfig",
      flags: {},
      env: { XDG_STATE_HOME: join(root, "x"), KUBECONFIG: kubeconfig },
      want: `local:${join(root, "x", "iter8")}`,
    },
    {
      name: "no local experiments, a kubeconfig: cluster",
      flags: {},
      env: { XDG_STATE_HOME: empty, KUBECONFIG: kubeconfig },
      want: "cluster",
    },
    {
      name: "no local experiments, no kubeconfig: local",
      flags: {},
      env: { XDG_STATE_HOME: empty, KUBECONFIG: noKube },
      want: `local:${join(empty, "iter8")}`,
    },
  ];
  // "a state dir with experiments" case: XDG_STATE_HOME/iter8 must hold one.
  mkdirSync(join(root, "x", "iter8", "experiments"), { recursive: true });
  writeFileSync(
    join(root, "x", "iter8", "experiments", "default.exp.json"),
    JSON.stringify({ metadata: { name: "e" } }),
  );
  for (const c of cases) {
    it(c.name, () => {
      const s = chooseSource(c.flags, c.env);
      assert.equal(s.kind === "local" ? `local:${s.stateDir}` : s.kind, c.want);
    });
  }
  it("both kinds of flag: a usage error naming both", () => {
    assert.throws(
      () => chooseSource({ local: true, kubeconfig }, {}),
      (e: unknown) =>
        e instanceof CliError && e.exitCode === 2 && /--local\/--state-dir or --cluster/.test(e.message),
    );
  });
});
