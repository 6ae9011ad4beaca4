// `iter8 router` as a real process: router file, readiness line, SIGHUP reload, workers, bad input.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SEED000_ROUTING, SEED000_SERVICES } from "../../unit/router/fixtures.ts";
import { load, request, startUpstream, type Upstream, until } from "./helpers.ts";

const MAIN = new URL("../../../src/cli/main.ts", import.meta.url).pathname;

interface Running {
  proc: ChildProcess;
  url: string;
  adminUrl: string | undefined;
  stderr: () => string;
}

function startCli(args: string[]): Promise<Running> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [MAIN, "router", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    proc.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
    });
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const url = /listening on (\S+)\n/.exec(out)?.[1];
      const admin = /admin on (\S+)\n/.exec(out)?.[1];
      if (url && (admin || !args.includes("--admin")))
        resolve({ proc, url, adminUrl: admin, stderr: () => err });
    });
    proc.on("exit", (code) => reject(new Error(`router exited with ${code}: ${err}`)));
  });
}

function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [MAIN, "router", ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    proc.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    proc.on("exit", (code) => resolve({ code, stderr: err }));
  });
}

function stop(r: Running): Promise<void> {
  return new Promise((resolve) => {
    r.proc.once("exit", () => resolve());
    r.proc.kill("SIGTERM");
  });
}

describe("iter8 router (CLI)", () => {
  let dir: string;
  let v1: Upstream;
  let v2: Upstream;
  const routerFile = (w1: number, w2: number) =>
    `upstreams:\n  sample-app-v1-blue: ${v1.address}\n  sample-app-v2-green: ${v2.address}\nmanifests:\n  - services.yaml\n---\n` +
    SEED000_ROUTING.replace("weight: 100\n", "W1\n")
      .replace("weight: 0\n", "W2\n")
      .replace("W1", `weight: ${w1}`)
      .replace("W2", `weight: ${w2}`);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "iter8-router-cli-"));
    v1 = await startUpstream("blue");
    v2 = await startUpstream("green");
    writeFileSync(join(dir, "services.yaml"), SEED000_SERVICES);
  });
  after(async () => {
    await v1.close();
    await v2.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the seed's routes from a router file and reloads them on SIGHUP", async () => {
    const file = join(dir, "router.yaml");
    writeFileSync(file, routerFile(100, 0));
    const r = await startCli(["-f", file, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"]);
    try {
      const wakanda = { host: "example.com", country: "wakanda" };
      assert.equal((await request(r.url, { headers: wakanda })).body, "blue");
      writeFileSync(file, routerFile(0, 100));
      r.proc.kill("SIGHUP");
      await until(() => r.stderr().includes("routes reloaded"), "the reload");
      assert.equal((await request(r.url, { headers: wakanda })).body, "green");
      // A broken file is reported and the current routes stay.
      writeFileSync(file, routerFile(50, 60));
      r.proc.kill("SIGHUP");
      await until(() => r.stderr().includes("reload failed"), "the failed reload");
      assert.match(r.stderr(), /spec\.http\[0\]\.route: weights must sum to 100/);
      assert.equal((await request(r.url, { headers: wakanda })).body, "green");
      const metrics = await request(`${r.adminUrl}/metrics`);
      assert.match(
        metrics.body,
        /revision_app_request_latencies_count\{revision_name="sample-app-v1-blue",response_code_class="2xx"\} 1/,
      );
      assert.match(
        metrics.body,
        /revision_app_request_latencies_count\{revision_name="sample-app-v2-green",response_code_class="2xx"\} 2/,
      );
    } finally {
      await stop(r);
    }
  });

  it("--upstream with --workers 2: every request served, metrics summed over the workers", async () => {
    const r = await startCli([
      "--upstream",
      v1.address,
      "--workers",
      "2",
      "--listen",
      "127.0.0.1:0",
      "--admin",
      "127.0.0.1:0",
    ]);
    try {
      const results = await load(r.url, 400, 16, { host: "anything.test" });
      assert.ok(results.every((x) => x.status === 200 && x.body === "blue"));
      const stats = JSON.parse((await request(`${r.adminUrl}/stats`)).body) as {
        versions: Record<string, { count: number; errors: number }>;
      };
      assert.equal(stats.versions["upstream"]!.count, 400);
      assert.equal(stats.versions["upstream"]!.errors, 0);
    } finally {
      await stop(r);
    }
  });

  it("rejects an invalid router file naming the field, and bad flags", async () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, routerFile(100, 0).replace("weight: 100", "weight: 140"));
    const bad = await runCli(["-f", file, "--listen", "127.0.0.1:0"]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /VirtualService default\/routing-for-wakanda: spec\.http\[0\]\.route\[0\]\.weight: must be an integer 0\.\.100/,
    );
    const both = await runCli(["-f", file, "--upstream", "127.0.0.1:1"]);
    assert.equal(both.code, 2);
    const listen = await runCli(["--upstream", "127.0.0.1:1", "--listen", "nowhere"]);
    assert.equal(listen.code, 2);
    assert.match(listen.stderr, /--listen: expected HOST:PORT/);
  });
});
