// `iter8 controller` refusing to start for reasons the user can fix: each case is one line on stderr
// naming what is wrong, exit 1, never a stack trace; nothing is left listening. And the case that is
// not an error: an empty certificate directory (an optional Secret volume whose Secret does not
// exist) runs the controller without the webhook. Real processes, loopback ports.

import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "iter8-controller-errors-"));

/** The environment of a process outside any cluster with no kubeconfig anywhere. */
function bareEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: join(dir, "home") };
  for (const k of ["KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "ITER8_STATE_DIR"])
    delete env[k];
  return env;
}

function controller(args: string[], env = bareEnv()) {
  const r = spawnSync("./bin/iter8", ["controller", ...args], {
    cwd: root,
    encoding: "utf8",
    env,
    timeout: 20_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function oneLine(stderr: string, pattern: RegExp): void {
  assert.equal(stderr.split("\n").length, 2, `expected one line on stderr, got ${JSON.stringify(stderr)}`);
  assert.match(stderr, pattern);
  assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
}

describe("iter8 controller startup errors", () => {
  let kubeconfig = "";
  let taken: Server;
  let takenPort = 0;
  const certs = join(dir, "certs");
  before(async () => {
    mkdirSync(join(dir, "home"), { recursive: true });
    // A cluster nobody answers for: the errors below come before the controller would reach it.
    kubeconfig = join(dir, "kubeconfig.yaml");
    writeFileSync(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        `clusters: [{name: c, cluster: {server: "https://127.0.0.1:${await closedPort()}"}}]`,
        "users: [{name: u, user: {token: t}}]",
        "contexts: [{name: lab, context: {cluster: c, user: u}}]",
        "current-context: lab",
        "",
      ].join("\n"),
    );
    taken = createServer();
    takenPort = await listen(taken);
    mkdirSync(certs);
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
        ...[
          "-keyout",
          join(certs, "tls.key"),
          "-out",
          join(certs, "tls.crt"),
          "-days",
          "1",
          "-subj",
          "/CN=localhost",
        ],
      ],
      { stdio: "ignore" },
    );
  });
  after(() => taken.close());

  it("no kubeconfig and not in a cluster: names $KUBECONFIG, ~/.kube/config and the service account", () => {
    const r = controller(["--health-port=0"]);
    assert.equal(r.code, 1);
    oneLine(
      r.stderr,
      /^iter8: no Kubernetes cluster configured: \$KUBECONFIG is not set, .*home\/\.kube\/config does not exist, .*\/var\/run\/secrets\/kubernetes\.io\/serviceaccount/,
    );
    assert.doesNotMatch(r.stderr, /localhost:8080|loaded-context/);
  });

  it("a taken health port", () => {
    const r = controller([
      `--kubeconfig=${kubeconfig}`,
      "--health-address=127.0.0.1",
      `--health-port=${takenPort}`,
    ]);
    assert.equal(r.code, 1);
    oneLine(
      r.stderr,
      new RegExp(
        `^iter8: cannot listen on 127\\.0\\.0\\.1:${takenPort} for the health endpoints: address already in use\\n$`,
      ),
    );
  });

  it("a taken webhook port", () => {
    const r = controller([
      `--kubeconfig=${kubeconfig}`,
      "--health-port=0",
      "--webhook-address=127.0.0.1",
      `--webhook-port=${takenPort}`,
      `--webhook-cert-dir=${certs}`,
    ]);
    assert.equal(r.code, 1);
    oneLine(
      r.stderr,
      new RegExp(
        `^iter8: cannot listen on 127\\.0\\.0\\.1:${takenPort} for the conversion webhook: address already in use\\n$`,
      ),
    );
  });

  it("a certificate that is not PEM", () => {
    const bad = join(dir, "bad-certs");
    mkdirSync(bad);
    writeFileSync(join(bad, "tls.crt"), "not a certificate\n");
    writeFileSync(join(bad, "tls.key"), "not a key\n");
    const r = controller([`--kubeconfig=${kubeconfig}`, "--health-port=0", `--webhook-cert-dir=${bad}`]);
    assert.equal(r.code, 1);
    oneLine(r.stderr, /^iter8: cannot read the webhook certificate in .*bad-certs: .+\n$/);
  });

  it("a certificate directory that does not exist, or holds half a key pair", () => {
    const half = join(dir, "half");
    mkdirSync(half);
    writeFileSync(join(half, "tls.crt"), "x");
    for (const [arg, pattern] of [
      [join(dir, "no-such-dir"), /^iter8: --webhook-cert-dir .*no-such-dir does not exist\n$/],
      [half, /^iter8: --webhook-cert-dir .*half has tls\.crt but no tls\.key\n$/],
    ] as const) {
      const r = controller([`--kubeconfig=${kubeconfig}`, "--health-port=0", `--webhook-cert-dir=${arg}`]);
      assert.equal(r.code, 1);
      oneLine(r.stderr, pattern);
    }
  });

  it("an empty certificate directory runs without the webhook, serves /healthz, stops on SIGTERM", async () => {
    const empty = join(dir, "empty");
    mkdirSync(empty);
    const healthPort = await closedPort();
    const child = spawn(
      "./bin/iter8",
      [
        "controller",
        `--kubeconfig=${kubeconfig}`,
        "--health-address=127.0.0.1",
        `--health-port=${healthPort}`,
        `--webhook-cert-dir=${empty}`,
      ],
      { cwd: root, env: bareEnv(), stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    try {
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = await fetch(`http://127.0.0.1:${healthPort}/healthz`).then(
          (r) => r.status,
          () => 0,
        );
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 200, out);
      assert.match(out, /conversion webhook off: no tls\.crt and tls\.key/);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0, out);
  });
});
