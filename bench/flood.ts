// `node bench/flood.ts [--engine fast|node] [--requests N] [--json]`: the router's RSS growth under a
// pipelining flood from a client that never reads (see bench/lib/flood.ts). Target: < 50 MB for 20,000.

import { FLOOD_DEFAULTS, measureFlood } from "./lib/flood.ts";
import { installSignalHandlers, stopAll } from "./lib/procs.ts";

const argv = process.argv.slice(2);
const opts = { ...FLOOD_DEFAULTS };
let json = false;
const engines: Array<"fast" | "node"> = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === "--json") json = true;
  else if (a === "--engine") {
    const e = argv[++i];
    if (e !== "fast" && e !== "node") throw new Error("--engine: fast or node");
    engines.push(e);
  } else if (a === "--requests") {
    const n = Number(argv[++i]);
    if (!Number.isInteger(n) || n < 1) throw new Error("--requests: a positive integer");
    opts.requests = n;
  } else throw new Error(`unknown argument ${a}`);
}
installSignalHandlers();
const results = [];
try {
  for (const engine of engines.length > 0 ? engines : (["fast", "node"] as const)) {
    const r = await measureFlood({ ...opts, engine });
    results.push(r);
    process.stderr.write(
      `flood (${r.engine} engine): ${r.requests} pipelined GETs never read, ${r.responseBytes}-byte answers: ` +
        `RSS ${r.rssBeforeMb} -> ${r.rssPeakMb} MB (growth ${r.rssGrowthMb} MB, target < 50); ` +
        `${r.upstreamRequests} reached the upstream; serves afterwards: ${r.servesAfterwards}; ${r.seconds} s\n`,
    );
  }
} finally {
  await stopAll();
}
if (json) process.stdout.write(`${JSON.stringify({ flood: results })}\n`);
