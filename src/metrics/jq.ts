// Evaluates a Metric's `jqExpression` with real jq (jq-web: jq compiled to WebAssembly) and turns
// its first output into a metric value or a reason why there is none.
//
// jq runs synchronously, so it runs on a worker thread (jq-worker.ts), one expression at a time, with
// a hard time limit: an expression that runs too long gets its thread terminated (the next one
// starts a fresh thread). Responses are size-capped by the caller (http-provider.ts) before they get
// here, so memory and time stay bounded whatever a backend answers.

import { Worker } from "node:worker_threads";
import type { JqReply, JqRequest } from "./jq-worker.ts";

export type JqNumber = { value: number } | { error: string };

export interface JqOptions {
  /** Longest one evaluation may run on the jq thread. Default `DEFAULT_JQ_TIMEOUT_MS`. */
  timeoutMs?: number;
}

export const DEFAULT_JQ_TIMEOUT_MS = 2000;

interface Job {
  req: JqRequest;
  timeoutMs: number;
  resolve(reply: JqReply): void;
}

/** The jq thread and its queue. The thread is unref'd: it never keeps the process alive. */
class JqThread {
  #worker: Worker | undefined;
  #queue: Job[] = [];
  #current: { job: Job; timer: NodeJS.Timeout } | undefined;
  #nextId = 1;

  /** Never rejects: a failure (jq's error, a timeout, a dead thread) is an `error` reply. */
  run(input: string | Uint8Array, expression: string, timeoutMs: number): Promise<JqReply> {
    return new Promise((resolve) => {
      this.#queue.push({ req: { id: this.#nextId++, input, expression }, timeoutMs, resolve });
      this.#pump();
    });
  }

  #spawn(): Worker {
    const file = import.meta.url.endsWith(".ts") ? "./jq-worker.ts" : "./jq-worker.js";
    const worker = new Worker(new URL(file, import.meta.url));
    worker.on("message", (reply: JqReply) => this.#settle(reply));
    worker.on("error", (err) => this.#fail(worker, err));
    worker.on("exit", (code) => this.#fail(worker, new Error(`jq thread exited (code ${code})`)));
    // After the listeners: adding a message listener refs the thread again.
    worker.unref();
    return worker;
  }

  #pump(): void {
    if (this.#current || this.#queue.length === 0) return;
    const job = this.#queue.shift()!;
    this.#worker ??= this.#spawn();
    const worker = this.#worker;
    const timer = setTimeout(() => {
      // The only way to stop a synchronous WebAssembly call is to end its thread.
      this.#fail(worker, new Error(`took longer than ${job.timeoutMs} ms and was stopped`));
      void worker.terminate();
    }, job.timeoutMs);
    this.#current = { job, timer };
    const body = job.req.input;
    worker.postMessage(job.req, typeof body === "string" ? [] : [body.buffer as ArrayBuffer]);
  }

  #settle(reply: JqReply): void {
    const current = this.#current;
    if (!current || current.job.req.id !== reply.id) return;
    clearTimeout(current.timer);
    this.#current = undefined;
    current.job.resolve(reply);
    this.#pump();
  }

  /** The thread died or was stopped: fail the job it had, forget the thread, go on with the queue. */
  #fail(worker: Worker, err: Error): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    const current = this.#current;
    this.#current = undefined;
    if (current) {
      clearTimeout(current.timer);
      current.job.resolve({ id: current.job.req.id, error: err.message });
    }
    this.#pump();
  }
}

const thread = new JqThread();

/** Applies `expression` to `json` (response text) and reads the first output as a finite number. */
export async function jqNumber(json: string, expression: string, opts: JqOptions = {}): Promise<JqNumber> {
  return numberOf(await thread.run(json, expression, opts.timeoutMs ?? DEFAULT_JQ_TIMEOUT_MS), expression);
}

/**
 * As `jqNumber`, for a response body (its buffer is transferred to the jq thread, so the caller
 * must not use it afterwards): `notJson` with the body's start when it is not JSON; an error is
 * preceded by Prometheus's own explanation when the body has one.
 */
export async function jqResponseNumber(
  body: Uint8Array,
  expression: string,
  opts: JqOptions = {},
): Promise<JqNumber | { notJson: string }> {
  const reply = await thread.run(body, expression, opts.timeoutMs ?? DEFAULT_JQ_TIMEOUT_MS);
  if ("notJson" in reply) return { notJson: snippet(reply.notJson) };
  const out = numberOf(reply, expression);
  if ("error" in out && reply.hint !== undefined) return { error: `${reply.hint}; ${out.error}` };
  return out;
}

function numberOf(reply: JqReply, expression: string): JqNumber {
  if ("error" in reply) return { error: `jq expression \`${expression}\` failed: ${oneLine(reply.error)}` };
  if ("notJson" in reply) return { error: `jq expression \`${expression}\`: input is not JSON` };
  const first = reply.out.split("\n")[0] ?? "";
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
