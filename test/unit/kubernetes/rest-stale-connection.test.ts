// A kept-alive connection that the server closes just as the next request goes out on it (Go's
// HTTP server does this to idle connections): the client sends that request once more on a fresh
// connection instead of failing it, and does not retry anything else.
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import type { KubeClient } from "../../../src/platforms/kubernetes/rest.ts";
import { loopbackClient } from "../../support/kube-client.ts";

/** Answers the first request of every connection (keep-alive), then closes it on the next one. */
function oneRequestPerConnection(): { server: Server; requests: string[] } {
  const requests: string[] = [];
  const server = createServer((socket: Socket) => {
    let answered = false;
    socket.on("data", (chunk) => {
      const head = chunk.toString("latin1").split("\r\n")[0] ?? "";
      if (answered) {
        requests.push(`closed: ${head}`);
        socket.destroy();
        return;
      }
      answered = true;
      requests.push(`answered: ${head}`);
      const body = JSON.stringify({ ok: head });
      socket.write(
        `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n${body}`,
      );
    });
  });
  return { server, requests };
}

function clientFor(port: number, onStale: () => void): KubeClient {
  return loopbackClient(port, { maxSockets: 1, onStaleConnection: onStale });
}

describe("a kept-alive connection closed under a request", () => {
  const { server, requests } = oneRequestPerConnection();
  let port = 0;
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("is sent again once on a new connection", async () => {
    requests.length = 0;
    let stale = 0;
    const client = clientFor(port, () => stale++);
    try {
      assert.deepEqual(await client.get("/api/v1/first"), { ok: "GET /api/v1/first HTTP/1.1" });
      const patched = await client.request("PATCH", "/api/v1/second", { body: [{ op: "add" }] });
      assert.deepEqual(patched, { ok: "PATCH /api/v1/second HTTP/1.1" });
      assert.equal(stale, 1);
      assert.deepEqual(requests, [
        "answered: GET /api/v1/first HTTP/1.1",
        "closed: PATCH /api/v1/second HTTP/1.1",
        "answered: PATCH /api/v1/second HTTP/1.1",
      ]);
    } finally {
      client.close();
    }
  });

  it("a fresh connection that fails is not retried", async () => {
    const closed = createServer((socket) => socket.on("data", () => socket.destroy()));
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    let stale = 0;
    const client = clientFor((closed.address() as { port: number }).port, () => stale++);
    try {
      await assert.rejects(client.get("/api/v1/x"), /socket hang up/);
      assert.equal(stale, 0);
    } finally {
      client.close();
      await new Promise<void>((resolve) => closed.close(() => resolve()));
    }
  });
});
