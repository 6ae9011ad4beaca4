// `iter8 load URL`: the load generator on the command line (Fortio-like options and defaults).

import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import {
  DEFAULT_CONNECTIONS,
  DEFAULT_QPS,
  formatProgress,
  formatResult,
  type LoadOptions,
  LoadOptionsError,
  type LoadProgress,
  runLoad,
} from "../../loadgen/index.ts";
import { CliError } from "../errors.ts";

export interface LoadFlags {
  method?: string;
  header: string[];
  body?: string;
  bodyFile?: string;
  contentType?: string;
  qps: string;
  duration?: string;
  requests?: string;
  connections: string;
  timeout: string;
  output: string;
  insecure?: boolean;
  cacert?: string;
}

const DEFAULT_DURATION = "10s";

export function register(program: Command): void {
  program
    .command("load")
    .description(
      "send HTTP load to URL at a fixed rate (latency measured from the intended send time) or as fast as possible",
    )
    .argument("<url>", "target URL (http:// or https://)")
    .option("-X, --method <method>", "HTTP method (default GET, or POST with a body)")
    .option("-H, --header <header>", "request header 'name: value' (repeatable)", collect, [])
    .option("--body <text>", "request body")
    .option("--body-file <path>", "read the request body from a file")
    .option("--content-type <type>", "Content-Type of the body")
    .option(
      "-q, --qps <n>",
      "requests per second over all connections; 0 = as fast as possible",
      String(DEFAULT_QPS),
    )
    .option("-d, --duration <duration>", `how long to run, e.g. 10s, 2m (default ${DEFAULT_DURATION})`)
    .option("-n, --requests <n>", "number of requests to send (wins over --duration)")
    .option("-c, --connections <n>", "parallel keep-alive connections", String(DEFAULT_CONNECTIONS))
    .option("-t, --timeout <duration>", "per-request timeout", "10s")
    .option("-o, --output <format>", "text or json", "text")
    .option("-k, --insecure", "https: do not verify the server's certificate")
    .option("--cacert <file>", "https: trust the CA certificates (PEM) in this file")
    .addHelpText(
      "after",
      `
Exit codes:
  0  every request sent got a response (any HTTP status; see "Status codes")
  1  at least one request failed without a response (refused, reset, timed out, not HTTP),
     or none was answered; failed requests are reported apart, and latency percentiles
     come from answered requests only
  2  bad flags or options
`,
    )
    .action(async (url: string, flags: LoadFlags) => {
      const opts = await toLoadOptions(url, flags);
      const json = flags.output === "json";
      const showProgress = Boolean(process.stdout.isTTY && process.stderr.isTTY);
      const onProgress = showProgress
        ? (p: LoadProgress) => process.stderr.write(`\r\x1b[2K${formatProgress(p)}`)
        : undefined;
      // Ctrl-C ends the run early and still prints what was measured.
      const abort = new AbortController();
      const onSigint = () => abort.abort();
      process.once("SIGINT", onSigint);
      try {
        const result = await runLoad(opts, abort.signal, onProgress);
        if (showProgress) process.stderr.write("\r\x1b[2K");
        process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : formatResult(result));
        if (result.errorCount > 0) {
          throw new CliError(`${result.errorCount} of ${result.sent} requests failed without a response`, 1);
        }
        if (result.completed === 0 && result.stopReason !== "aborted") {
          throw new CliError("no request completed", 1);
        }
      } catch (err) {
        if (err instanceof LoadOptionsError) throw new CliError(err.message, 2);
        throw err;
      } finally {
        process.removeListener("SIGINT", onSigint);
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export async function toLoadOptions(url: string, flags: LoadFlags): Promise<LoadOptions> {
  if (flags.output !== "text" && flags.output !== "json") {
    throw new CliError(`--output: must be text or json, got ${JSON.stringify(flags.output)}`, 2);
  }
  const headers: Array<[string, string]> = flags.header.map((h) => {
    const colon = h.indexOf(":");
    if (colon <= 0) throw new CliError(`--header: expected 'name: value', got ${JSON.stringify(h)}`, 2);
    return [h.slice(0, colon).trim(), h.slice(colon + 1).trim()];
  });
  if (flags.body !== undefined && flags.bodyFile !== undefined) {
    throw new CliError("--body and --body-file: give only one", 2);
  }
  let body: string | Uint8Array | undefined = flags.body;
  if (flags.bodyFile !== undefined) {
    try {
      body = await readFile(flags.bodyFile);
    } catch (err) {
      throw new CliError(`--body-file: cannot read ${flags.bodyFile}: ${(err as Error).message}`, 2);
    }
  }
  const opts: LoadOptions = {
    url,
    headers,
    qps: number(flags.qps, "--qps"),
    connections: integer(flags.connections, "--connections"),
    timeout: flags.timeout,
  };
  if (flags.method !== undefined) opts.method = flags.method;
  if (flags.insecure) opts.insecure = true;
  if (flags.cacert !== undefined) {
    try {
      opts.ca = await readFile(flags.cacert, "utf8");
    } catch (err) {
      throw new CliError(`--cacert: cannot read ${flags.cacert}: ${(err as Error).message}`, 2);
    }
  }
  if (body !== undefined) opts.body = body;
  if (flags.contentType !== undefined) opts.contentType = flags.contentType;
  if (flags.requests !== undefined) opts.requests = integer(flags.requests, "--requests");
  else opts.duration = flags.duration ?? DEFAULT_DURATION;
  return opts;
}

function number(text: string, flag: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n))
    throw new CliError(`${flag}: not a number: ${JSON.stringify(text)}`, 2);
  return n;
}

function integer(text: string, flag: string): number {
  const n = number(text, flag);
  if (!Number.isInteger(n)) throw new CliError(`${flag}: not an integer: ${JSON.stringify(text)}`, 2);
  return n;
}
