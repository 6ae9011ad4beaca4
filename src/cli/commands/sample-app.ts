// `iter8 sample-app`: the stand-in for the seeds' knative-route-demo image. Prints one line
// `listening on http://HOST:PORT` on stdout once it accepts connections, so parents can parse it.

import type { Command } from "commander";
import { parseDuration } from "../../loadgen/duration.ts";
import { type LatencySpec, type SampleAppOptions, startSampleApp } from "../../sampleapp/index.ts";
import { CliError } from "../errors.ts";

interface Flags {
  version?: string;
  host: string;
  port?: string;
  latency?: string;
  latencyJitter?: string;
  latencyP95?: string;
  errorRate: string;
  seed?: string;
}

export function register(program: Command): void {
  // `--version` here names the app's version; without positional options the root's own
  // `--version` (print iter8's version) would capture it. Root options still work before the
  // subcommand (`iter8 --version`).
  program.enablePositionalOptions();
  program
    .command("sample-app")
    .description(
      "serve a page naming its version (like knative-route-demo), with optional injected latency and errors",
    )
    .option("--version <name>", "version the page names (default: $T_VERSION, else v1)")
    .option("--host <address>", "address to bind", "127.0.0.1")
    .option("-p, --port <port>", "port; 0 picks a free one (default: $PORT, else 0)")
    .option(
      "--latency <duration>",
      "mean injected latency, e.g. 20ms (constant unless jitter or p95 is given)",
    )
    .option("--latency-jitter <duration>", "standard deviation of a lognormal latency with the given mean")
    .option("--latency-p95 <duration>", "95th percentile of a lognormal latency with the given mean")
    .option("--error-rate <fraction>", "fraction of requests answered 500, 0..1", "0")
    .option("--seed <n>", "seed for latency and error draws (reproducible runs)")
    .action(async (flags: Flags) => {
      const opts: SampleAppOptions = { host: flags.host, errorRate: Number(flags.errorRate) };
      if (flags.version !== undefined) opts.version = flags.version;
      const port = flags.port ?? process.env["PORT"] ?? "0";
      opts.port = Number(port);
      if (!/^\d+$/.test(port)) throw new CliError(`--port: not a port number: ${JSON.stringify(port)}`, 2);
      if (flags.errorRate.trim() === "" || Number.isNaN(opts.errorRate)) {
        throw new CliError(`--error-rate: not a number: ${JSON.stringify(flags.errorRate)}`, 2);
      }
      if (flags.seed !== undefined) {
        if (!/^\d+$/.test(flags.seed))
          throw new CliError(`--seed: not a non-negative integer: ${flags.seed}`, 2);
        opts.seed = Number(flags.seed);
      }
      const latency = latencySpec(flags);
      if (latency !== undefined) opts.latency = latency;
      let app: Awaited<ReturnType<typeof startSampleApp>>;
      try {
        app = await startSampleApp(opts);
      } catch (err) {
        throw new CliError(`sample-app: ${(err as Error).message}`, 2);
      }
      process.stdout.write(`listening on ${app.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          app.close().then(resolve, resolve);
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
    });
}

function latencySpec(flags: Flags): LatencySpec | undefined {
  const ms = (text: string | undefined, flag: string): number | undefined => {
    if (text === undefined) return undefined;
    try {
      return parseDuration(text, flag);
    } catch (err) {
      throw new CliError((err as Error).message, 2);
    }
  };
  const meanMs = ms(flags.latency, "--latency");
  const jitterMs = ms(flags.latencyJitter, "--latency-jitter");
  const p95Ms = ms(flags.latencyP95, "--latency-p95");
  if (meanMs === undefined) {
    if (jitterMs !== undefined || p95Ms !== undefined) {
      throw new CliError("--latency-jitter/--latency-p95: need --latency (the mean)", 2);
    }
    return undefined;
  }
  const spec: LatencySpec = { meanMs };
  if (jitterMs !== undefined) spec.jitterMs = jitterMs;
  if (p95Ms !== undefined) spec.p95Ms = p95Ms;
  return spec;
}
