// `iter8 load`: refused connections are failures, reported apart from answered requests, with
// percentiles from answered requests only and exit code 1; https:// with verification on,
// --cacert and --insecure, against a loopback TLS server with a certificate generated here.

import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { formatResult, runLoad } from "../../../src/loadgen/index.ts";
import { closedPort } from "./servers.ts";

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

describe("refused connections", () => {
  it("are failures, not completed requests; no percentiles from them; exit 1", async () => {
    const url = `http://127.0.0.1:${await closedPort()}/`;
    const r = await runLoad({ url, qps: 0, requests: 3, connections: 1 });
    assert.equal(r.answered, 0);
    assert.equal(r.errorCount, 3);
    assert.deepEqual(r.errors, { ECONNREFUSED: 3 });
    assert.equal(r.answeredLatencyMs.count, 0);
    const text = formatResult(r);
    assert.match(text, /^Requests: 0 answered of 3 sent .*, 3 failed without a response$/m);
    assert.match(text, /^Failed requests \(no response\): ECONNREFUSED: 3$/m);
    assert.match(
      text,
      /Latency \(ms, from send time\):\n {2}\(no request answered\)\n {2}\(answered requests only: the 3 failed/,
    );

    const out = await iter8(["load", url, "-n", "3", "-q", "0", "-c", "1"]);
    assert.equal(out.code, 1, out.stderr);
    assert.match(out.stderr, /^iter8: 3 of 3 requests failed without a response$/m);
  });
});

describe("https", () => {
  let dir: string;
  let server: Server;
  let url: string;
  let caFile: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "iter8-load-tls-"));
    caFile = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key,
        "-out",
        caFile,
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    server = createServer({ key: readFileSync(key), cert: readFileSync(caFile) }, (_req, res) =>
      res.end("ok"),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("verifies the certificate: an unknown CA fails", async () => {
    const r = await runLoad({ url, qps: 0, requests: 2, connections: 1 });
    assert.equal(r.answered, 0);
    assert.equal(r.errorCount, 2);
    assert.match(Object.keys(r.errors).join(), /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
  });

  it("trusts --cacert, and --insecure skips verification", async () => {
    const ca = readFileSync(caFile, "utf8");
    const trusted = await runLoad({ url, qps: 0, requests: 20, connections: 2, ca });
    assert.deepEqual(trusted.statusCodes, { "200": 20 });
    assert.equal(trusted.errorCount, 0);
    const insecure = await runLoad({ url, qps: 0, requests: 5, connections: 1, insecure: true });
    assert.deepEqual(insecure.statusCodes, { "200": 5 });

    const out = await iter8(["load", url, "-n", "5", "-q", "0", "--cacert", caFile, "-o", "json"]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(JSON.parse(out.stdout).answered, 5);
    const refused = await iter8(["load", url, "-n", "2", "-q", "0", "-c", "1"]);
    assert.equal(refused.code, 1);
  });

  it("--insecure and --cacert are refused for http:// (exit 2)", async () => {
    const out = await iter8(["load", "http://127.0.0.1:1/", "--insecure", "-n", "1"]);
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, /insecure, ca: only for https:\/\/ URLs/);
  });
});
