// What the notification tasks share: one HTTP request with a hard timeout (status >= 400 is an
// error), and the `ignoreFailure` rule (default true: a failed notification is logged, not fatal).

import { errorText } from "../lib/errors.ts";
import { type Input, optBool } from "./inputs.ts";
import type { TaskContext } from "./types.ts";

export interface HttpRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal: AbortSignal;
}

export interface HttpResponse {
  status: number;
  body: string;
}

export async function sendRequest(req: HttpRequest): Promise<HttpResponse> {
  const signal = AbortSignal.any([req.signal, AbortSignal.timeout(req.timeoutMs)]);
  let res: Response;
  try {
    const init: RequestInit = { method: req.method, headers: req.headers, signal };
    if (req.body !== undefined && req.method !== "GET" && req.method !== "HEAD") init.body = req.body;
    res = await fetch(req.url, init);
  } catch (err) {
    if (signal.aborted && !req.signal.aborted)
      throw new Error(`${req.method} ${req.url}: no response within ${req.timeoutMs / 1000}s`);
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    throw new Error(`${req.method} ${req.url}: ${cause ?? errorText(err)}`);
  }
  const body = await res.text();
  if (res.status >= 400)
    throw new Error(`${req.method} ${req.url}: HTTP ${res.status}${body ? `: ${body.slice(0, 200)}` : ""}`);
  return { status: res.status, body };
}

/** Runs `send`; a failure fails the task only with `ignoreFailure: false`, else it is logged as `what` failed. */
export async function notify(
  ctx: TaskContext,
  input: Input,
  what: string,
  send: () => Promise<void>,
): Promise<void> {
  const ignoreFailure = optBool(input, "ignoreFailure", true);
  try {
    await send();
  } catch (err) {
    if (!ignoreFailure) throw err;
    ctx.log(`${what} failed (ignored): ${errorText(err)}\n`);
  }
}
