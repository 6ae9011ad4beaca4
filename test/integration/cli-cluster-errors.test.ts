// `iter8 get experiments` and `iter8 describe NAME` pointed at a cluster they cannot use: each case is
// one line on stderr naming what is wrong (the kubeconfig file, the context, the API server), exit 1,
// never a stack trace. The server is a loopback port with nothing listening.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "iter8-cluster-errors-"));

function iter8(args: string[]) {
  const env = { ...process.env };
  delete env["ITER8_STATE_DIR"];
  const r = spawnSync("./bin/iter8", args, { cwd: root, encoding: "utf8", env, timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("the CLI on a cluster it cannot use", () => {
  let unreachable = "";
  const badYaml = join(dir, "bad.yaml");
  const missing = join(dir, "missing.yaml");
  before(async () => {
    const port = await closedPort();
    unreachable = join(dir, "unreachable.yaml");
    writeFileSync(
      unreachable,
      [
        "apiVersion: v1",
        "kind: Config",
        `clusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}"}}]`,
        "users: [{name: u, user: {token: t}}]",
        "contexts: [{name: lab, context: {cluster: c, user: u}}]",
        "current-context: lab",
        "",
      ].join("\n"),
    );
    writeFileSync(badYaml, "clusters: [\n");
  });

  const cases: Array<[string, () => string[], RegExp]> = [
    [
      "get: an API server that refuses the connection",
      () => ["get", "experiments", `--kubeconfig=${unreachable}`],
      /^iter8: cannot reach the Kubernetes API server https:\/\/127\.0\.0\.1:\d+ \(context lab\): .*ECONNREFUSED.*\n$/,
    ],
    [
      "describe: an API server that refuses the connection",
      () => ["describe", "canary", `--kubeconfig=${unreachable}`],
      /^iter8: cannot reach the Kubernetes API server https:\/\/127\.0\.0\.1:\d+ \(context lab\): .*ECONNREFUSED.*\n$/,
    ],
    [
      "a kubeconfig that is not YAML",
      () => ["get", "experiments", `--kubeconfig=${badYaml}`],
      /^iter8: cannot load kubeconfig .*bad\.yaml: .+\n$/,
    ],
    [
      "a kubeconfig that does not exist",
      () => ["describe", "canary", `--kubeconfig=${missing}`],
      /^iter8: cannot load kubeconfig .*missing\.yaml: .*ENOENT.*\n$/,
    ],
    [
      "a context the kubeconfig lacks",
      () => ["get", "experiments", `--kubeconfig=${unreachable}`, "--context=nope"],
      /^iter8: cannot load kubeconfig .*unreachable\.yaml: kubeconfig has no context "nope"\n$/,
    ],
  ];
  for (const [name, args, stderr] of cases) {
    it(`${name}: one line naming it, exit 1`, () => {
      const r = iter8(args());
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, stderr);
    });
  }

  it("local and cluster flags together: a usage error, exit 2", () => {
    const r = iter8(["get", "experiments", "--local", `--kubeconfig=${unreachable}`]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^iter8: choose one source: --local\/--state-dir or --cluster/);
  });
});
