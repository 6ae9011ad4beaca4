// Minimal fast upstream for the benchmarks: a fixed 13-byte response with keep-alive.
// Prints `listening on http://127.0.0.1:PORT` when ready.

import http from "node:http";
import type { AddressInfo } from "node:net";

const BODY = Buffer.from("hello, world\n");
const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { "content-type": "text/plain", "content-length": BODY.length });
  res.end(BODY);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
