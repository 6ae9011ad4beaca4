// The local Prometheus launcher with the real `prometheus` binary.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { PrometheusStartError, startPrometheus } from "../../../src/platforms/local/prometheus.ts";

function ourDirs(): Set<string> {
  return new Set(readdirSync(tmpdir()).filter((d) => d.startsWith("iter8-prometheus-")));
}

async function refuses(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(1000) });
    return false;
  } catch {
    return true;
  }
}

async function waitUntil(what: string, cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("startPrometheus", () => {
  // Prometheus 2.x hands new targets to the scrape loop about 5 s after start (its discovery
  // manager's fixed update period), so one server serves both checks.
  it("scrapes a real target, names one that is down, answers queries, and stop() removes everything", async () => {
    const exporter = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end("# TYPE iter8_test_total counter\niter8_test_total 42\n");
    });
    await new Promise<void>((r) => exporter.listen(0, "127.0.0.1", r));
    const target = `http://127.0.0.1:${(exporter.address() as AddressInfo).port}/metrics`;
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const before = ourDirs();
    const prom = await startPrometheus({ targets: [target, `127.0.0.1:${closedPort}`] });
    try {
      assert.match(prom.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const dirs = [...ourDirs()].filter((d) => !before.has(d));
      assert.equal(dirs.length, 1, "one data directory");
      await assert.rejects(prom.waitForTargetsUp(8000), (e: Error) => {
        assert.match(
          e.message,
          new RegExp(
            `targets not up after 8000 ms: http://127\\.0\\.0\\.1:${closedPort}/metrics: down \\(.*connection refused\\)$`,
          ),
        );
        assert.ok(!e.message.includes(target), "the healthy target is not blamed");
        return true;
      });
      const answer = (await prom.query("iter8_test_total")) as {
        data: { result: { value: [number, string] }[] };
      };
      assert.equal(answer.data.result[0]?.value[1], "42");
      await prom.stop();
      assert.ok(await refuses(`${prom.url}/-/ready`), "no longer listening");
      assert.ok(!existsSync(join(tmpdir(), dirs[0] as string)), "data directory removed");
      await prom.stop(); // idempotent
    } finally {
      await prom.stop();
      exporter.closeAllConnections();
      await new Promise((r) => exporter.close(r));
    }
  });

  it("reports a missing binary clearly and leaves nothing behind", async () => {
    const before = ourDirs();
    await assert.rejects(
      startPrometheus({ targets: [], bin: "/nonexistent/prometheus" }),
      (e: Error) =>
        e instanceof PrometheusStartError &&
        /exited with status 127 \(is \/nonexistent\/prometheus installed\? set ITER8_PROMETHEUS_BIN\)/.test(
          e.message,
        ),
    );
    assert.deepEqual(
      [...ourDirs()].filter((d) => !before.has(d)),
      [],
    );
  });

  it("does not outlive a parent killed with SIGKILL", async () => {
    const script = `
      import { startPrometheus } from ${JSON.stringify(new URL("../../../src/platforms/local/prometheus.ts", import.meta.url).href)};
      const p = await startPrometheus({ targets: [] });
      process.stdout.write(p.url + "\\n");
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (c: string) => {
        out += c;
        if (out.includes("\n")) resolve(out.trim());
      });
      child.once("exit", (code) => reject(new Error(`parent exited early (${code})`)));
    });
    assert.ok(!(await refuses(`${url}/-/ready`)), "Prometheus is up while the parent lives");
    const dirsWhileUp = ourDirs();
    child.kill("SIGKILL");
    await waitUntil("Prometheus stops listening", () => refuses(`${url}/-/ready`));
    await waitUntil("its data directory is removed", async () => ourDirs().size < dirsWhileUp.size);
  });
});
