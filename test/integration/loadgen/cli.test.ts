// `iter8 load` as a process: JSON output, text output, user errors, no progress line off a TTY.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { startServer, type TestServer } from "./servers.ts";

const run = promisify(execFile);
const MAIN = new URL("../../../src/cli/main.ts", import.meta.url).pathname;

async function iter8(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], { timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let server: TestServer;
let lastCountry: string | undefined;
before(async () => {
  server = await startServer((req, res) => {
    lastCountry = req.headers["country"] as string | undefined;
    res.statusCode = req.method === "POST" ? 201 : 200;
    res.end("ok");
  });
});
after(() => server.close());

test("-o json prints one LoadResult object", async () => {
  const out = await iter8([
    "load",
    server.url,
    "-n",
    "25",
    "-q",
    "0",
    "-c",
    "2",
    "-H",
    "country: wakanda",
    "-o",
    "json",
  ]);
  assert.equal(out.code, 0, out.stderr);
  const r = JSON.parse(out.stdout);
  assert.equal(r.completed, 25);
  assert.deepEqual(r.statusCodes, { "200": 25 });
  assert.equal(r.latencyMs.count, 25);
  assert.equal(lastCountry, "wakanda");
  assert.equal(out.stderr, ""); // stdout is not a TTY: no progress line
});

test("text output at a fixed rate, with a body", async () => {
  const out = await iter8(["load", server.url, "-d", "300ms", "-q", "20", "--body", "x"]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /^POST http:\/\/127\.0\.0\.1:\d+\/: 4 connections, 20 qps target, 300ms$/m);
  assert.match(out.stdout, /Status codes: 201: 6/);
  assert.match(out.stdout, /Latency \(ms, from intended send time\):/);
  assert.match(out.stdout, /Pacing: sent at/);
});

test("user errors are one line with exit code 2", async () => {
  for (const args of [
    // One flag error and one option error (each process start costs seconds on a busy machine).
    ["load", server.url, "-H", "no-colon"],
    ["load", server.url, "-d", "forever"],
  ]) {
    const out = await iter8(args);
    assert.equal(out.code, 2, `${args.join(" ")}: ${out.stderr}`);
    assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
    assert.match(out.stderr, /^iter8: /);
  }
});
