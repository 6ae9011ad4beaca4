// `iter8 controller` and `iter8 kube get|describe` as real processes against the real API server:
// the controller process (as the chart's ServiceAccount, with --leader-elect) serves /healthz and
// /readyz and the conversion webhook the CRDs point at, runs seed 004 applied in v2alpha1, and stops
// cleanly on SIGTERM, releasing its Lease; the CLI prints the kubectl columns and the iter8ctl
// description read from the cluster.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { stringify } from "yaml";
import { experimentCrd, metricCrd } from "../../src/platforms/kubernetes/crds.ts";
import { LEASE_NAME } from "../../src/platforms/kubernetes/resources.ts";
import { waitFor } from "./harness/http.ts";
import {
  apply,
  completed,
  fastSeed,
  INSTALL_NS,
  markKsvcReady,
  type Obj,
  ROOT,
  readYaml,
  SA,
  SEEDS,
  startEnv,
  type TestEnv,
  waitForExperiment,
} from "./support.ts";

const MAIN = join(ROOT, "src", "cli", "main.ts");

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    p.on("error", reject);
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function status(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    httpGet({ host: "127.0.0.1", port, path }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on("error", reject);
  });
}

describe("iter8 controller and iter8 kube as processes", { timeout: 180_000 }, () => {
  let env: TestEnv;
  let controller: ChildProcess | undefined;
  let logs = "";
  let adminKubeconfig: string;

  before(async () => {
    env = await startEnv();
    adminKubeconfig = env.cp.kubeconfigPath;
  });
  after(async () => {
    if (controller && controller.exitCode === null) controller.kill("SIGKILL");
    await env?.stop();
  });

  test("controller process: probes, webhook, seed 004 end to end, kube get/describe, clean SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "iter8-cli-"));
    const cert = await env.cp.servingCert("iter8-controller-webhook");
    writeFileSync(join(dir, "tls.crt"), cert.certPem);
    writeFileSync(join(dir, "tls.key"), cert.keyPem);
    // The CRDs convert through the controller process's webhook, on a port chosen now. They are
    // switched before the controller starts: changing a CRD silences existing watches on it until
    // the API server retires the old storage (about a minute), which only the relist would cover.
    const webhookPort = await freePort();
    const crdDir = mkdtempSync(join(tmpdir(), "iter8-crds-"));
    const client = { url: `https://127.0.0.1:${webhookPort}/convert`, caBundlePem: env.cp.caPem };
    writeFileSync(
      join(crdDir, "crds.yaml"),
      `${stringify(experimentCrd(client))}---\n${stringify(metricCrd(client))}`,
    );
    await env.cp.installCRDs([crdDir]);
    const sa = env.cp.serviceAccountKubeConfig(SA.namespace, SA.name);
    controller = spawn(
      process.execPath,
      [
        MAIN,
        "controller",
        `--kubeconfig=${sa.kubeconfigPath}`,
        `--install-namespace=${INSTALL_NS}`,
        "--leader-elect",
        "--lease-duration=3",
        "--health-port=0",
        "--health-address=127.0.0.1",
        `--webhook-port=${webhookPort}`,
        "--webhook-address=127.0.0.1",
        `--webhook-cert-dir=${dir}`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    controller.stderr!.on("data", (d) => {
      logs += d;
    });
    const portOf = (msg: string) =>
      waitFor(
        `controller to log "${msg}"`,
        async () => {
          for (const line of logs.split("\n")) {
            if (!line.startsWith("{")) continue;
            const rec = JSON.parse(line) as { msg: string; port?: number };
            if (rec.msg === msg) return rec.port;
          }
          return undefined;
        },
        { timeoutMs: 20_000, abortIf: () => (controller!.exitCode !== null ? `exited: ${logs}` : undefined) },
      );
    const healthPort = await portOf("health endpoints");
    if (process.env["ITER8_TEST_LOG"]) process.stderr.write(`HEALTH ${new Date().toISOString()}\n`);
    assert.equal(await portOf("conversion webhook"), webhookPort);
    assert.equal(await status(healthPort!, "/healthz"), 200);
    await waitFor("readyz", async () => ((await status(healthPort!, "/readyz")) === 200 ? true : undefined), {
      timeoutMs: 20_000,
    });

    const ns = await env.cp.createNamespace("cli");
    for (const doc of readYaml(join(SEEDS, "004-service.yaml"))) await apply(env.admin, env.discovery, doc);
    await markKsvcReady(env.admin, "default", "sample-app", [
      { revisionName: "sample-app-v1", latestRevision: false, percent: 100 },
      { revisionName: "sample-app-v2", latestRevision: true, percent: 0 },
    ]);
    // `iter8 kube get experiments --watch`, started before the experiment exists.
    const watcher = spawn(
      process.execPath,
      [MAIN, "kube", "get", "experiments", "-n", ns, "--watch", `--kubeconfig=${adminKubeconfig}`],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let watched = "";
    watcher.stdout!.on("data", (d) => {
      watched += d;
    });
    let watchErr = "";
    watcher.stderr!.on("data", (d) => {
      watchErr += d;
    });
    await waitFor(
      "the watch to list",
      async () => (watchErr.includes("No resources found") ? true : undefined),
      {
        timeoutMs: 20_000,
      },
    );
    const seed: Obj = fastSeed("004-experiment.yaml");
    await apply(env.admin, env.discovery, seed, ns);
    if (process.env["ITER8_TEST_LOG"]) process.stderr.write(`APPLIED ${new Date().toISOString()}\n`);
    await waitForExperiment(env.admin, ns, "mirroring", "Completed", completed, 90_000);
    await waitFor(
      "the watch to print the final row",
      async () => (/Experiment completed successfully/.test(watched) ? true : undefined),
      {
        timeoutMs: 20_000,
      },
    );
    const watchExit = new Promise<number | null>((r) => watcher.on("exit", (code) => r(code)));
    watcher.kill("SIGTERM");
    assert.equal(await watchExit, 0);
    const rows = watched.trimEnd().split("\n");
    assert.match(rows[0]!, /^NAME\s+TYPE\s+TARGET\s+STAGE\s+COMPLETED ITERATIONS\s+MESSAGE$/);
    // The tutorial's watch rows, one per status change.
    for (let i = 1; i <= 9; i++) {
      assert.ok(
        rows.some((r) =>
          new RegExp(
            `^mirroring\\s+Conformance\\s+default/sample-app\\s+Running\\s+${i}\\s+IterationUpdate: Completed Iteration ${i}$`,
          ).test(r),
        ),
        `no watch row for iteration ${i}:\n${watched}`,
      );
    }

    if (process.env["ITER8_TEST_LOG"]) process.stderr.write(logs);
    const get = await run(["kube", "get", "experiments", "-n", ns, `--kubeconfig=${adminKubeconfig}`]);
    assert.equal(get.code, 0, get.stderr);
    const lines = get.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^NAME\s+TYPE\s+TARGET\s+STAGE\s+COMPLETED ITERATIONS\s+MESSAGE$/);
    assert.match(
      lines[1]!,
      /^mirroring\s+Conformance\s+default\/sample-app\s+Completed\s+10\s+ExperimentCompleted: Experiment completed successfully$/,
    );
    const all = await run(["kube", "get", "experiments", "-A", `--kubeconfig=${adminKubeconfig}`]);
    assert.match(all.stdout, new RegExp(`^${ns}\\s+mirroring\\s+Conformance`, "m"));

    const described = await run([
      "kube",
      "describe",
      "mirroring",
      "-n",
      ns,
      `--kubeconfig=${adminKubeconfig}`,
    ]);
    assert.equal(described.code, 0, described.stderr);
    for (const line of [
      "Experiment name: mirroring",
      `Experiment namespace: ${ns}`,
      "Target: default/sample-app",
      "Testing pattern: Conformance",
      "Experiment stage: Completed",
      "Number of completed iterations: 10",
      "Recommended baseline: current",
    ]) {
      assert.ok(described.stdout.includes(line), `missing "${line}" in:\n${described.stdout}`);
    }
    // The top-level commands read the same cluster when given a kubeconfig.
    const topGet = await run(["get", "experiments", "-n", ns, `--kubeconfig=${adminKubeconfig}`]);
    assert.equal(topGet.code, 0, topGet.stderr);
    assert.equal(topGet.stdout, get.stdout);
    const topDescribe = await run(["describe", "mirroring", "-n", ns, `--kubeconfig=${adminKubeconfig}`]);
    assert.equal(topDescribe.code, 0, topDescribe.stderr);
    assert.equal(topDescribe.stdout, described.stdout);
    // The cluster keeps status.history (the CRD schema has it): one record per iteration.
    const json = await run([
      "describe",
      "mirroring",
      "-n",
      ns,
      "-o",
      "json",
      `--kubeconfig=${adminKubeconfig}`,
    ]);
    const describedJson = JSON.parse(json.stdout) as {
      status: { history: { recent: unknown[] } };
      history: Array<{ iteration: number; values: Record<string, unknown> }>;
    };
    // Each entry is stored as one JSON text, which the CRD keeps as it is.
    const stored = describedJson.status.history.recent.map((h) => {
      assert.equal(typeof h, "string", JSON.stringify(h));
      return JSON.parse(h as string) as Record<string, unknown>;
    });
    assert.deepEqual(
      stored.map((h) => h["i"]),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    for (const h of stored) assert.ok(Array.isArray(h["v"]) && typeof h["t"] === "string", JSON.stringify(h));
    const fields = new Set(stored.flatMap((h) => Object.keys(h)));
    for (const f of ["i", "t", "v", "o"]) assert.ok(fields.has(f), `${f} missing from ${[...fields]}`);
    // `describe -o json` also gives them as readable records.
    assert.deepEqual(
      describedJson.history.map((h) => h.iteration),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    assert.ok(Object.keys(describedJson.history[9]!.values).length > 0);
    // iter8 assert reads the cluster like describe: exit 0 when all hold, 1 when one does not.
    const holds = await run([
      "assert",
      "mirroring",
      "-n",
      ns,
      "-c",
      "completed",
      "-c",
      "nofailure",
      `--kubeconfig=${adminKubeconfig}`,
    ]);
    assert.equal(holds.code, 0, holds.stdout + holds.stderr);
    const fails = await run([
      "assert",
      "mirroring",
      "-n",
      ns,
      "-c",
      "winner=nobody",
      `--kubeconfig=${adminKubeconfig}`,
    ]);
    assert.equal(fails.code, 1, fails.stdout + fails.stderr);
    assert.match(fails.stdout, /^FAIL winner=nobody: /);
    const missing = await run(["kube", "describe", "nope", "-n", ns, `--kubeconfig=${adminKubeconfig}`]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /"nope" not found/);

    // A rotated webhook certificate is served without a restart (polled every 10 s).
    const fingerprint = () =>
      new Promise<string>((resolve, reject) => {
        const sock = tlsConnect(
          { host: "127.0.0.1", port: webhookPort, ca: env.cp.caPem, servername: "localhost" },
          () => {
            resolve(sock.getPeerX509Certificate()?.fingerprint256 ?? "");
            sock.end();
          },
        );
        sock.on("error", reject);
      });
    const before = await fingerprint();
    const rotated = await env.cp.servingCert("iter8-controller-webhook-rotated");
    writeFileSync(join(dir, "tls.key"), rotated.keyPem);
    writeFileSync(join(dir, "tls.crt"), rotated.certPem);
    const wanted = new X509Certificate(rotated.certPem).fingerprint256;
    assert.notEqual(before, wanted);
    await waitFor(
      "the rotated certificate to be served",
      async () => ((await fingerprint()) === wanted ? true : undefined),
      {
        timeoutMs: 30_000,
        intervalMs: 500,
      },
    );

    // SIGTERM: exits 0 promptly and gives the Lease up.
    const exited = new Promise<number | null>((r) => controller!.on("exit", (code) => r(code)));
    const sentAt = Date.now();
    controller.kill("SIGTERM");
    assert.equal(await exited, 0, logs);
    // Well within the Deployment's 10 s termination grace period.
    assert.ok(Date.now() - sentAt < 8000, `took ${Date.now() - sentAt} ms to exit after SIGTERM`);
    const lease = await env.admin.get<{ spec: { holderIdentity?: string } }>(
      `/apis/coordination.k8s.io/v1/namespaces/${INSTALL_NS}/leases/${LEASE_NAME}`,
    );
    assert.equal(lease.spec.holderIdentity ?? "", "");
    assert.match(logs, /controller stopped/);
  });
});
