// notification/http and notification/slack against real local HTTP servers.

import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import type { Experiment, TaskSpec } from "../../../src/api/types.ts";
import { InProcessTaskRunner } from "../../../src/tasks/runner.ts";
import type { TaskPlatform } from "../../../src/tasks/types.ts";
import {
  analysisPiece,
  experimentFixture,
  versionWeights,
  winnerAssessment,
} from "../../support/experiments.ts";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

let server: Server;
let base: string;
let seen: Seen[] = [];
/** How the server answers the next request. */
let reply: { status: number; body: string } | "hang" = { status: 200, body: "{}" };

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      if (reply === "hang") return; // never answers
      res.writeHead(reply.status, { "content-type": "application/json" });
      res.end(reply.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  seen = [];
  reply = { status: 200, body: "{}" };
});

const platform: TaskPlatform = {
  getObject: async () => undefined,
  getSecret: async (key) =>
    key.name === "creds" ? { token: "xoxb-123", username: "alice", password: "s3cret" } : undefined,
};

function experiment(finish: TaskSpec[]): Experiment {
  const meta = { provenance: "t", timestamp: "t" };
  return experimentFixture({
    name: "canary-progressive",
    target: "default/sample-app",
    actions: { finish },
    status: {
      stage: "Finishing",
      versionRecommendedForPromotion: "candidate",
      conditions: [{ type: "Failed", status: "False" }],
      analysis: {
        winnerAssessment: winnerAssessment("candidate", meta),
        weights: analysisPiece(versionWeights({ current: 25, candidate: 75 }), meta),
      },
    },
  });
}

const runner = (env: NodeJS.ProcessEnv = {}) => new InProcessTaskRunner({ platform, env });

describe("notification/http", () => {
  it("POSTs the default summary body as JSON", async () => {
    const result = await runner().run(
      "finish",
      experiment([{ task: "notification/http", with: { url: `${base}/hook` } }]),
    );
    assert.equal(result.ok, true, JSON.stringify(result.tasks));
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.method, "POST");
    assert.equal(seen[0]!.url, "/hook");
    assert.equal(seen[0]!.headers["content-type"], "application/json");
    const body = JSON.parse(seen[0]!.body);
    assert.deepEqual(body.summary, {
      winnerFound: true,
      winner: "candidate",
      versionRecommendedForPromotion: "candidate",
      lastRecommendedWeights: [
        { name: "current", value: 25 },
        { name: "candidate", value: 75 },
      ],
    });
    assert.equal(body.experiment.metadata.name, "canary-progressive");
    assert.match(result.tasks[0]!.output, /POST .*\/hook: HTTP 200/);
  });

  it("interpolates body and header values with @< >@ (not the URL), with Bearer auth from the secret", async () => {
    const result = await runner().run(
      "finish",
      experiment([
        {
          task: "notification/http",
          with: {
            URL: `${base}/x?name=@< .name >@`,
            authType: "Bearer",
            secret: "default/creds",
            headers: [
              { name: "content-type", value: "text/plain" },
              { name: "X-Experiment", value: "@< .this.metadata.name >@" },
            ],
            body: "winner=@< .name >@ & <target>=@< .this.spec.target >@ key=@< .secret.username >@",
          },
        },
      ]),
    );
    assert.equal(result.ok, true, JSON.stringify(result.tasks));
    assert.equal(seen[0]!.url, "/x?name=@%3C%20.name%20%3E@");
    assert.equal(seen[0]!.headers["authorization"], "Bearer xoxb-123");
    assert.equal(seen[0]!.headers["content-type"], "text/plain");
    assert.equal(seen[0]!.headers["x-experiment"], "canary-progressive");
    assert.equal(seen[0]!.body, "winner=candidate & <target>=default/sample-app key=alice");
  });

  it("Basic auth and GET", async () => {
    await runner().run(
      "finish",
      experiment([
        {
          task: "notification/http",
          with: { url: `${base}/g`, method: "GET", authType: "Basic", secret: "creds" },
        },
      ]),
    );
    assert.equal(seen[0]!.method, "GET");
    assert.equal(
      seen[0]!.headers["authorization"],
      `Basic ${Buffer.from("alice:s3cret").toString("base64")}`,
    );
    assert.equal(seen[0]!.body, "");
  });

  it("an error status is ignored by default and fails the task with ignoreFailure: false", async () => {
    reply = { status: 500, body: "boom" };
    const ignored = await runner().run(
      "finish",
      experiment([{ task: "notification/http", with: { url: base } }]),
    );
    assert.equal(ignored.ok, true);
    assert.match(ignored.tasks[0]!.output, /notification failed \(ignored\): POST .*: HTTP 500: boom/);
    const failed = await runner().run(
      "finish",
      experiment([{ task: "notification/http", with: { url: base, ignoreFailure: false } }]),
    );
    assert.equal(failed.ok, false);
    assert.match(failed.tasks[0]!.error!, /HTTP 500: boom/);
  });

  it("gives up after 5 s without a response", async () => {
    reply = "hang";
    const started = Date.now();
    const result = await runner().run(
      "finish",
      experiment([{ task: "notification/http", with: { url: base, ignoreFailure: false } }]),
    );
    const took = Date.now() - started;
    assert.equal(result.ok, false);
    assert.match(result.tasks[0]!.error!, /no response within 5s/);
    assert.ok(took >= 4900 && took < 8000, `took ${took} ms`);
  });
});

describe("notification/slack", () => {
  const slack = (extra: Record<string, unknown> = {}): TaskSpec => ({
    task: "notification/slack",
    with: { channel: "C0138103183", secret: "default/creds", ...extra },
  });

  it("posts chat.postMessage with the token and the experiment summary", async () => {
    reply = { status: 200, body: '{"ok":true}' };
    const result = await runner({ ITER8_SLACK_API_URL: `${base}/api/` }).run("finish", experiment([slack()]));
    assert.equal(result.ok, true, JSON.stringify(result.tasks));
    assert.equal(seen[0]!.url, "/api/chat.postMessage");
    assert.equal(seen[0]!.headers["authorization"], "Bearer xoxb-123");
    const msg = JSON.parse(seen[0]!.body);
    assert.equal(msg.channel, "C0138103183");
    assert.equal(msg.blocks[0].text.text, "*Canary experiment on default/sample-app*");
    assert.equal(
      msg.attachments[0].blocks[0].text.text,
      "*Name:* _default/canary-progressive_\n*Versions:* _current, candidate_\n*Stage:* _Finishing_\n*Winner:* _candidate_",
    );
    assert.equal(msg.icon_url, "https://avatars.githubusercontent.com/u/53243580?s=200&v=4");
  });

  it("Slack's ok:false fails the task only when failures are not ignored", async () => {
    reply = { status: 200, body: '{"ok":false,"error":"channel_not_found"}' };
    const env = { ITER8_SLACK_API_URL: base };
    const ignored = await runner(env).run("finish", experiment([slack()]));
    assert.equal(ignored.ok, true);
    assert.match(ignored.tasks[0]!.output, /ignored\): Slack refused the message: channel_not_found/);
    const failed = await runner(env).run("finish", experiment([slack({ ignoreFailure: false })]));
    assert.equal(failed.ok, false);
    assert.equal(failed.tasks[0]!.error, "Slack refused the message: channel_not_found");
  });

  it("a missing secret fails (when not ignored) without calling Slack", async () => {
    const result = await runner({ ITER8_SLACK_API_URL: base }).run(
      "finish",
      experiment([slack({ secret: "default/none", ignoreFailure: false })]),
    );
    assert.equal(result.ok, false);
    assert.equal(result.tasks[0]!.error, "secret default/none not found");
    assert.equal(seen.length, 0);
  });
});
