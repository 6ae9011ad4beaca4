// Evaluates a Metric's `jqExpression` with real jq (jq 1.7 compiled to WebAssembly by `jq-wasm`),
// and turns its first output into a metric value or a reason why there is none.

import * as jq from "jq-wasm";

export type JqNumber = { value: number } | { error: string };

/** Calls run one at a time: each sets jq's exit status as the process's `exitCode` (see below). */
let queue: Promise<unknown> = Promise.resolve();

/**
 * `jq.raw`, without its side effect: the Emscripten runtime stores jq's exit status in
 * `process.exitCode`, so one failed expression would make a long-running iter8 exit non-zero later.
 */
export function jqRaw(json: string, expression: string): Promise<string> {
  const run = queue.then(async () => {
    const saved = process.exitCode;
    try {
      return await jq.raw(json, expression, ["-c"]);
    } finally {
      process.exitCode = saved;
    }
  });
  queue = run.catch(() => undefined);
  return run;
}

/** Applies `expression` to `json` (response text) and reads the first output as a finite number. */
export async function jqNumber(json: string, expression: string): Promise<JqNumber> {
  let out: string;
  try {
    out = await jqRaw(json, expression);
  } catch (e) {
    return { error: `jq expression \`${expression}\` failed: ${oneLine((e as Error).message)}` };
  }
  const first = out.split("\n")[0] ?? "";
  if (first === "") return { error: `jq expression \`${expression}\` produced no output` };
  // jq prints NaN as null, and ±infinity as ±DBL_MAX; anything at that magnitude is an infinity.
  if (first === "null")
    return { error: `jq expression \`${expression}\` produced null (a NaN or missing value)` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(first);
  } catch {
    return { error: `jq expression \`${expression}\` produced ${snippet(first)}, not a number` };
  }
  if (typeof parsed !== "number") {
    return { error: `jq expression \`${expression}\` produced ${snippet(first)}, not a number` };
  }
  if (!Number.isFinite(parsed) || Math.abs(parsed) >= Number.MAX_VALUE) {
    return { error: `jq expression \`${expression}\` produced an infinite value (${first})` };
  }
  return { value: parsed };
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

export function snippet(s: string, max = 120): string {
  const flat = oneLine(s);
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
