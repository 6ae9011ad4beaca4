// A 429 is the API server's priority and fairness turning a request away before handling it: the
// client waits the Retry-After it names and sends the request again (a bounded number of times),
// and never retries another error.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import {
  KubeApiError,
  type KubeClient,
  MAX_TOO_MANY_RETRIES,
  retryAfterMs,
} from "../../../src/platforms/kubernetes/rest.ts";
import { loopbackClient } from "../../support/kube-client.ts";

/** Answers each path with the statuses queued for it, then 200; records every request. */
function scriptedServer(script: Map<string, number[]>): { server: Server; seen: string[] } {
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? "";
    seen.push(`${req.method} ${path}`);
    const status = script.get(path)?.shift() ?? 200;
    const body =
      status === 200
        ? JSON.stringify({ path })
        : JSON.stringify({ kind: "Status", reason: status === 429 ? "TooManyRequests" : "Conflict" });
    res.writeHead(status, {
      "content-type": "application/json",
      ...(status === 429 ? { "retry-after": "0" } : {}),
    });
    res.end(body);
  });
  return { server, seen };
}

function clientFor(port: number, onTooMany: () => void): KubeClient {
  return loopbackClient(port, { onTooManyRequests: onTooMany });
}

describe("429 Too Many Requests", () => {
  const script = new Map<string, number[]>();
  const { server, seen } = scriptedServer(script);
  let client: KubeClient;
  let retried = 0;
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    client = clientFor((server.address() as { port: number }).port, () => retried++);
  });
  after(async () => {
    client.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("sends the request again until it is answered", async () => {
    script.set("/a", [429, 429]);
    seen.length = 0;
    retried = 0;
    const body = await client.request("PUT", "/a", { body: { x: 1 } });
    assert.deepEqual(body, { path: "/a" });
    assert.deepEqual(seen, ["PUT /a", "PUT /a", "PUT /a"]);
    assert.equal(retried, 2);
  });

  it(`gives up after ${MAX_TOO_MANY_RETRIES} retries with the 429 itself`, async () => {
    script.set(
      "/b",
      Array.from({ length: MAX_TOO_MANY_RETRIES + 5 }, () => 429),
    );
    seen.length = 0;
    await assert.rejects(
      client.request("GET", "/b"),
      (err: unknown) => err instanceof KubeApiError && err.status === 429 && err.reason === "TooManyRequests",
    );
    assert.equal(seen.length, MAX_TOO_MANY_RETRIES + 1);
  });

  it("does not retry other errors", async () => {
    script.set("/c", [409]);
    seen.length = 0;
    await assert.rejects(client.request("PUT", "/c"), (err: unknown) => (err as KubeApiError).status === 409);
    assert.deepEqual(seen, ["PUT /c"]);
  });
});

describe("retryAfterMs", () => {
  const cases: Array<[string | undefined, number]> = [
    [undefined, 1000],
    ["0", 0],
    ["2", 2000],
    ["0.5", 500],
    ["600", 10_000],
    ["soon", 1000],
    ["-3", 1000],
  ];
  for (const [header, want] of cases) {
    it(`Retry-After ${JSON.stringify(header)} -> ${want} ms`, () => {
      assert.equal(retryAfterMs(header === undefined ? {} : { "retry-after": header }), want);
    });
  }
});
