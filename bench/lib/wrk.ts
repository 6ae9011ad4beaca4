// wrk at max rate: requests/s plus the error lines that would make a figure meaningless.

import { runToEnd } from "./procs.ts";

export interface WrkResult {
  rps: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
}

export async function wrk(
  url: string,
  connections: number,
  seconds: number,
  threads = 1,
): Promise<WrkResult> {
  const out = await runToEnd(
    "wrk",
    [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, url],
    (seconds + 15) * 1000,
  );
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const total = /(\d+) requests in/.exec(out);
  if (!rps || !total) throw new Error(`cannot parse wrk output:\n${out}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(rps[1]),
    requests: Number(total[1]),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: errs ? errs.slice(1).reduce((n, x) => n + Number(x), 0) : 0,
  };
}
