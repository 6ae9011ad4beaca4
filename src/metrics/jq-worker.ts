// The jq evaluator's thread. jq (jq-web: jq compiled to WebAssembly) runs synchronously, so it runs
// here rather than on the main thread, where a large response would stall every experiment, the
// router and the Lease renewal. jq-web hands the input to jq as an in-memory file, which is read in
// linear time. A response body arrives as bytes (transferred, not copied) and is decoded, checked as
// JSON and explained (the Prometheus hint) here too. One request at a time.

import { createRequire } from "node:module";
import { parentPort } from "node:worker_threads";
import { prometheusHint } from "./prometheus-hint.ts";

interface JqWeb {
  raw(json: string, filter: string, flags?: string[]): string | undefined;
}

export interface JqRequest {
  id: number;
  /** Text to evaluate as is, or a response body: decoded, and checked as JSON first. */
  input: string | Uint8Array;
  expression: string;
}

/** `hint`: for a response body, Prometheus's own explanation when it gives one. */
export type JqReply =
  | { id: number; out: string; hint?: string }
  | { id: number; error: string; hint?: string }
  /** A response body that is not JSON, with its start. */
  | { id: number; notJson: string };

const load = createRequire(import.meta.url)("jq-web") as Promise<JqWeb>;
// jq-web prints jq's stderr of a successful run (e.g. `debug`) as a console warning; it is not ours
// to print, and the caller only wants the output.
console.warn = () => {};

function evaluate(jq: JqWeb, req: JqRequest): JqReply {
  const isBody = typeof req.input !== "string";
  const text = typeof req.input === "string" ? req.input : Buffer.from(req.input).toString("utf8");
  let parsed: unknown;
  if (isBody) {
    try {
      parsed = JSON.parse(text);
    } catch {
      return { id: req.id, notJson: text.slice(0, 400) };
    }
  }
  let reply: JqReply;
  try {
    reply = { id: req.id, out: jq.raw(text, req.expression, ["-c"]) ?? "" };
  } catch (e) {
    const err = e as Error & { stderr?: string };
    reply = { id: req.id, error: err.stderr || err.message };
  }
  const hint = isBody ? prometheusHint(parsed) : undefined;
  return hint === undefined ? reply : { ...reply, hint };
}

parentPort?.on("message", async (req: JqRequest) => {
  let reply: JqReply;
  try {
    reply = evaluate(await load, req);
  } catch (e) {
    reply = { id: req.id, error: (e as Error).message };
  }
  parentPort?.postMessage(reply);
});
