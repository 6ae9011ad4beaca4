// The dashboard server over real HTTP on loopback, fed from a real state directory: pages and
// content types, 4xx for everything it does not serve (no path traversal, read-only), the token, and
// server-sent events when an experiment file changes.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Experiment } from "../../../src/api/types.ts";
import { LocalFeed } from "../../../src/dashboard/feed.ts";
import { DashboardServer } from "../../../src/dashboard/server.ts";
import { experimentFixture, versionWeights } from "../../support/experiments.ts";
import { buildOnce, root } from "../local/helpers.ts";

function experiment(name: string, rv: number, completedIterations: number): Experiment {
  return experimentFixture({
    name,
    metadata: { resourceVersion: String(rv) },
    versions: ["v1", "v2"],
    duration: { iterationsPerLoop: 5 },
    status: {
      stage: "Running",
      completedIterations,
      currentWeightDistribution: versionWeights({ v1: 80, v2: 20 }),
    },
  });
}

function writeExperiment(stateDir: string, exp: Experiment): void {
  writeFileSync(join(stateDir, "experiments", `default.${exp.metadata.name}.json`), JSON.stringify(exp));
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, path: string, opts: { method?: string; headers?: Record<string, string> } = {}) {
  return new Promise<Answer>((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port,
      path,
      method: opts.method ?? "GET",
      headers: opts.headers ?? {},
    });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Opens an event stream and resolves with the events received until `until` says enough. */
function events(port: number, path: string, until: (events: string[]) => boolean, onOpen?: () => void) {
  return new Promise<string[]>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path });
    const got: string[] = [];
    req.on("response", (res) => {
      assert.equal(res.headers["content-type"], "text/event-stream; charset=utf-8");
      let buf = "";
      res.setEncoding("utf8").on("data", (c: string) => {
        buf += c;
        let i = buf.indexOf("\n\n");
        while (i >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (block.startsWith("event: ")) got.push(block);
          if (got.length === 1 && onOpen) onOpen();
          i = buf.indexOf("\n\n");
        }
        if (until(got)) {
          req.destroy();
          resolve(got);
        }
      });
    });
    req.on("error", (e) => (req.destroyed ? undefined : reject(e)));
    req.end();
  });
}

describe("dashboard server", () => {
  let stateDir: string;
  let feed: LocalFeed;
  let server: DashboardServer;
  let port: number;

  before(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "iter8-dashboard-"));
    mkdirSync(join(stateDir, "experiments"));
    writeExperiment(stateDir, experiment("checkout", 1, 1));
    feed = new LocalFeed(stateDir, 200);
    server = new DashboardServer({ feed });
    port = (await server.listen("127.0.0.1", 0)).port;
  });

  after(async () => {
    feed.close();
    await server.close();
  });

  it("serves the list, an experiment page and their JSON with the right content types", async () => {
    const list = await get(port, "/");
    assert.equal(list.status, 200);
    assert.equal(list.headers["content-type"], "text/html; charset=utf-8");
    assert.match(list.body, /href="\/experiments\/default\/checkout"/);
    assert.match(list.body, /v1=80 v2=20/);
    const page = await get(port, "/experiments/default/checkout");
    assert.equal(page.status, 200);
    assert.match(page.body, /data-events="\/events\/experiments\/default\/checkout"/);
    const json = await get(port, "/api/experiments/default/checkout");
    assert.equal(json.headers["content-type"], "application/json; charset=utf-8");
    assert.deepEqual(JSON.parse(json.body).iterations, [1]);
    const rows = JSON.parse((await get(port, "/api/experiments")).body);
    assert.equal(rows[0].name, "checkout");
    assert.equal((await get(port, "/", { method: "HEAD" })).body, "");
  });

  it("answers what it does not serve with a 4xx and keeps serving", async () => {
    const cases: Array<[string, number, string?]> = [
      ["/nope", 404],
      ["/experiments/default/missing", 404],
      ["/experiments/default/../../etc/passwd", 404],
      ["/experiments/..%2F..%2Fetc/passwd", 400],
      ["/experiments/default/%2e%2e", 404],
      ["/experiments/default/%E0%A4%A", 400],
      ["/experiments/UPPER/case", 400],
      ["/experiments/default/checkout/extra", 404],
      ["/events/experiments/default/missing", 404],
      ["/", 405, "POST"],
      ["/api/experiments", 405, "DELETE"],
    ];
    for (const [path, status, method] of cases) {
      const r = await get(port, path, method ? { method } : {});
      assert.equal(r.status, status, `${method ?? "GET"} ${path}`);
      assert.equal(r.headers["content-type"], "text/plain; charset=utf-8");
      assert.equal(r.headers["x-content-type-options"], "nosniff");
    }
    assert.equal((await get(port, "/")).status, 200);
  });

  it("pushes a new model to the page's event stream when the experiment changes", async () => {
    const got = await events(
      port,
      "/events/experiments/default/checkout",
      (e) => e.length >= 2,
      () => writeExperiment(stateDir, experiment("checkout", 2, 2)),
    );
    const models = got.map((e) => JSON.parse(e.slice(e.indexOf("data: ") + 6)));
    assert.deepEqual(models[0].iterations, [1]);
    assert.deepEqual(models[1].iterations, [2]);
  });

  it("pushes the list when a new experiment appears", async () => {
    const got = await events(
      port,
      "/events",
      (e) => e.some((x) => x.includes('"name":"payments"')),
      () => writeExperiment(stateDir, experiment("payments", 1, 0)),
    );
    assert.ok(got[0]?.startsWith("event: list"));
  });
});

describe("dashboard token", () => {
  it("requires the token on every request, by header, query or the cookie it sets", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "iter8-dashboard-token-"));
    const feed = new LocalFeed(stateDir, 1000);
    const server = new DashboardServer({ feed, token: "s3cret" });
    const { port } = await server.listen("127.0.0.1", 0);
    try {
      assert.equal((await get(port, "/")).status, 401);
      assert.equal((await get(port, "/?token=wrong")).status, 401);
      assert.equal((await get(port, "/", { headers: { authorization: "Bearer s3cret" } })).status, 200);
      const viaQuery = await get(port, "/?token=s3cret");
      assert.equal(viaQuery.status, 200);
      const cookie = String(viaQuery.headers["set-cookie"]).split(";")[0] ?? "";
      assert.match(cookie, /^iter8_dashboard_token=/);
      assert.equal((await get(port, "/api/experiments", { headers: { cookie } })).status, 200);
    } finally {
      feed.close();
      await server.close();
    }
  });

  it("the command refuses a non-loopback address without a token, and a bad --listen", () => {
    buildOnce();
    const run = (args: string[]) =>
      spawnSync(join(root, "bin/iter8"), ["dashboard", "--local", ...args], {
        encoding: "utf8",
        timeout: 20_000,
      });
    const open = run(["--listen", "0.0.0.0:0"]);
    assert.equal(open.status, 2);
    assert.match(open.stderr, /--listen 0\.0\.0\.0:0 is not a loopback address: set --token/);
    const bad = run(["--listen", "localhost"]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--listen "localhost": expected HOST:PORT/);
  });
});
