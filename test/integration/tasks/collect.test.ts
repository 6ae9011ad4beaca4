// metrics/collect against a real local server: load per version, Fortio-shaped histograms and
// return codes accumulated in status.analysis.aggregatedBuiltinHists across runs.

import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Experiment } from "../../../src/api/types.ts";
import type { FortioResult } from "../../../src/loadgen/index.ts";
import { InProcessTaskRunner } from "../../../src/tasks/runner.ts";
import { experimentFixture } from "../../support/experiments.ts";

let server: Server;
let base: string;
const hits: Record<string, number> = {};
const headers: Record<string, string | undefined> = {};
const bodies: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      hits[req.url!] = (hits[req.url!] ?? 0) + 1;
      headers[req.url!] = req.headers["x-version"] as string | undefined;
      if (body) bodies.push(body);
      res.writeHead(req.url === "/v2" ? 503 : 200);
      res.end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function experiment(): Experiment {
  return experimentFixture({
    name: "collect",
    actions: {
      loop: [
        {
          task: "metrics/collect",
          with: {
            numQueries: 20,
            qps: 0,
            connections: 2,
            payloadStr: '{"q": 1}',
            versions: [
              { name: "v1", url: `${base}/v1`, headers: { "x-version": "one" } },
              { name: "v2", url: `${base}/v2` },
            ],
          },
        },
      ],
    },
    versions: ["v1", "v2"],
  });
}

const runner = new InProcessTaskRunner({
  platform: { getObject: async () => undefined, getSecret: async () => undefined },
});

describe("metrics/collect", () => {
  it("loads each version and accumulates histograms and return codes across runs", async () => {
    const first = await runner.run("loop", experiment());
    assert.equal(first.ok, true, JSON.stringify(first.tasks));
    const hists = first.experiment.status!.analysis!.aggregatedBuiltinHists!;
    assert.equal(hists.provenance, "Builtin metrics collector");
    const data = hists.data as Record<string, FortioResult>;
    assert.equal(data["v1"]!.DurationHistogram.Count, 20);
    assert.deepEqual(data["v1"]!.RetCodes, { "200": 20 });
    assert.deepEqual(data["v2"]!.RetCodes, { "503": 20 });
    assert.ok(data["v1"]!.DurationHistogram.Sum > 0);
    assert.equal(
      data["v1"]!.DurationHistogram.Data.reduce((n, b) => n + b.Count, 0),
      20,
    );
    assert.equal(hits["/v1"], 20);
    assert.equal(headers["/v1"], "one");
    assert.equal(bodies[0], '{"q": 1}');
    assert.match(first.tasks[0]!.output, /metrics collection completed for all versions/);

    // A second run (next loop) adds to what the first collected.
    const second = await runner.run("loop", first.experiment);
    const data2 = second.experiment.status!.analysis!.aggregatedBuiltinHists!.data as Record<
      string,
      FortioResult
    >;
    assert.equal(data2["v1"]!.DurationHistogram.Count, 40);
    assert.deepEqual(data2["v2"]!.RetCodes, { "503": 40 });
    // Buckets are concatenated, so together they hold every response of both runs.
    assert.equal(
      data2["v1"]!.DurationHistogram.Data.reduce((n, b) => n + b.Count, 0),
      40,
    );
  });

  it("loadOnly sends load without recording", async () => {
    const exp = experiment();
    exp.spec.strategy.actions!["loop"]![0]!.with!["loadOnly"] = true;
    const before = hits["/v1"] ?? 0;
    const result = await runner.run("loop", exp);
    assert.equal(result.ok, true);
    assert.equal(hits["/v1"], before + 20);
    assert.equal(result.experiment.status?.analysis?.aggregatedBuiltinHists, undefined);
  });
});
