// Runs autocannon (programmatic API) in a fresh process and prints one JSON line:
// {requests2xx, non2xx, errors, durationS, rps}. Usage: autocannon.ts URL CONNECTIONS SECONDS.

import autocannon from "autocannon";

const [url, connections, seconds] = process.argv.slice(2);
const result = await autocannon({ url: url!, connections: Number(connections), duration: Number(seconds) });
const ok = result["2xx"];
process.stdout.write(
  `${JSON.stringify({
    requests2xx: ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationS: result.duration,
    rps: ok / result.duration,
  })}\n`,
);
