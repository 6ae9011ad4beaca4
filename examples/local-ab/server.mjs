// A tiny HTTP service for `iter8 local run`: it answers on $PORT (iter8 sets it) with its
// version. LATENCY_MS makes it slower, ERROR_RATE makes that fraction of requests fail with 500
// (spread evenly, so runs are repeatable). Replace the commands in lab.yaml with your own service.
import { createServer } from "node:http";

const port = Number(process.env.PORT);
if (!port) {
  console.error("PORT is not set: iter8 local run sets it for each version");
  process.exit(1);
}
const version = process.env.VERSION ?? "unknown";
const latencyMs = Number(process.env.LATENCY_MS ?? 0);
const errorRate = Number(process.env.ERROR_RATE ?? 0);
let served = 0;
let failed = 0;

createServer((req, res) => {
  served++;
  const fail = failed < errorRate * served;
  if (fail) failed++;
  setTimeout(() => {
    res.writeHead(fail ? 500 : 200, { "content-type": "text/plain" });
    res.end(`${version}\n`);
  }, latencyMs);
}).listen(port, "127.0.0.1");
