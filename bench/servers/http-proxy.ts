// Peer: the `http-proxy` npm package, given a keep-alive agent (its strongest usual set-up).
// Usage: http-proxy.ts UPSTREAM_URL. Prints `listening on http://127.0.0.1:PORT`.

import http from "node:http";
import type { AddressInfo } from "node:net";
import httpProxy from "http-proxy";

const target = process.argv[2] ?? "";
const proxy = httpProxy.createProxyServer({
  target,
  agent: new http.Agent({ keepAlive: true, maxSockets: 256 }),
});
proxy.on("error", (_err, _req, res) => {
  if ("writeHead" in res && !res.headersSent) res.writeHead(502);
  res.end();
});
const server = http.createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
