// `iter8 local run DIR`: runs a lab directory (versions as commands beside an experiment, or a
// tutorial's unchanged manifests plus lab.yaml) on this machine; see src/platforms/local/run.ts.
// `iter8 local init DIR` writes a runnable starting point (src/platforms/local/init.ts).
// (`iter8 describe NAME` reads the local state directory through src/platforms/local/resolve.ts.)

import type { Command } from "commander";
import { parseDuration } from "../../loadgen/duration.ts";
import { TutorialError } from "../../platforms/local/errors.ts";
import { INIT_PATTERNS, type InitPattern, initLab } from "../../platforms/local/init.ts";
import { runLocal } from "../../platforms/local/run.ts";
import { defaultStateDir } from "../../platforms/local/store.ts";
import { checkCondition, formatResults, parseConditions } from "../../report/assert.ts";
import { LOG_FORMATS, type LogFormat, TerminalOutput } from "../../report/progress.ts";
import { CliError } from "../errors.ts";

interface RunFlags {
  interval?: string;
  stateDir?: string;
  metrics?: string;
  lab?: string;
  fresh?: boolean;
  assert?: string[];
  logFormat?: string;
  dryRun?: boolean;
  runTasks?: boolean;
  gatewayPort?: string;
  adminPort?: string;
  readyTimeout?: string;
  prometheusUrl?: string;
}

function port(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535)
    throw new CliError(`${flag}: must be a port number 1..65535, got ${JSON.stringify(v)}`, 2);
  return n;
}

function readyTimeout(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  try {
    const ms = parseDuration(v, "--ready-timeout");
    if (ms > 0) return ms;
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  throw new CliError(`--ready-timeout: must be longer than 0s, got ${JSON.stringify(v)}`, 2);
}

function runOptions(flags: RunFlags) {
  let intervalSeconds: number | undefined;
  if (flags.interval !== undefined) {
    intervalSeconds = Number(flags.interval);
    if (flags.interval.trim() === "" || !(intervalSeconds > 0) || !Number.isFinite(intervalSeconds))
      throw new CliError(
        `--interval: must be a positive number of seconds, got ${JSON.stringify(flags.interval)}`,
        2,
      );
  }
  if (flags.metrics !== undefined && flags.metrics !== "builtin" && flags.metrics !== "prometheus")
    throw new CliError(`--metrics: must be builtin or prometheus, got ${JSON.stringify(flags.metrics)}`, 2);
  if (flags.prometheusUrl !== undefined && !/^https?:\/\/[^/\s]+/.test(flags.prometheusUrl))
    throw new CliError(
      `--prometheus-url: must be an http(s):// URL, got ${JSON.stringify(flags.prometheusUrl)}`,
      2,
    );
  const gatewayPort = port("--gateway-port", flags.gatewayPort);
  const adminPort = port("--admin-port", flags.adminPort);
  const ready = readyTimeout(flags.readyTimeout);
  return {
    stateDir: flags.stateDir ?? defaultStateDir(),
    ...(intervalSeconds !== undefined ? { intervalSeconds } : {}),
    ...(flags.metrics ? { metrics: flags.metrics as "builtin" | "prometheus" } : {}),
    ...(flags.lab ? { labFile: flags.lab } : {}),
    ...(flags.fresh ? { fresh: true } : {}),
    ...(flags.dryRun ? { dryRun: true } : {}),
    ...(flags.runTasks ? { runTasks: true } : {}),
    ...(gatewayPort !== undefined ? { gatewayPort } : {}),
    ...(adminPort !== undefined ? { adminPort } : {}),
    ...(ready !== undefined ? { readyTimeoutMs: ready } : {}),
    ...(flags.prometheusUrl ? { prometheusUrl: flags.prometheusUrl } : {}),
  };
}

function assertConditions(flags: RunFlags): ReturnType<typeof parseConditions> {
  try {
    return flags.assert ? parseConditions(flags.assert) : [];
  } catch (e) {
    throw new CliError(`--assert: ${(e as Error).message}`, 2);
  }
}

function logFormatOf(flags: RunFlags): LogFormat {
  const logFormat = (flags.logFormat ?? "text") as LogFormat;
  if (!LOG_FORMATS.includes(logFormat))
    throw new CliError(`--log-format: must be text or json, got ${JSON.stringify(flags.logFormat)}`, 2);
  return logFormat;
}

async function runAction(dir: string, flags: RunFlags): Promise<void> {
  const options = runOptions(flags);
  const conditions = assertConditions(flags);
  const logFormat = logFormatOf(flags);
  const terminal = new TerminalOutput(process.stdout);
  const abort = new AbortController();
  let signalName: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    signalName = sig;
    process.stderr.write(`iter8: ${sig}: stopping (the experiment resumes from its state when run again)\n`);
    abort.abort(new Error(sig));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const result = await runLocal({
      dir,
      ...options,
      out: (s) => terminal.write(s),
      status: (line) => terminal.status(line),
      logFormat,
      err: (s) => terminal.write(s, process.stderr),
      signal: abort.signal,
    });
    process.exitCode = result.exitCode;
    if (conditions.length > 0 && result.experiment) {
      const results = conditions.map((c) => checkCondition(result.experiment!, c));
      terminal.write(`assert:\n${formatResults(results)}`);
      if (!results.every((r) => r.holds)) process.exitCode = 1;
    }
  } catch (e) {
    if (signalName) {
      process.exitCode = signalName === "SIGINT" ? 130 : 143;
      return;
    }
    if (e instanceof TutorialError) {
      process.stderr.write(`iter8: ${dir}: not started:\n${e.problems.map((p) => `  ${p}`).join("\n")}\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  } finally {
    terminal.clear();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

export function register(program: Command): void {
  const local = program.command("local").description("run experiments on this machine, without a cluster");
  local
    .command("run")
    .description(
      "run a lab directory: lab.yaml (versions as commands, or images -> commands for a tutorial's Kubernetes manifests) and an experiment",
    )
    .argument("<dir>", "lab directory, e.g. examples/local-canary or examples/canary-progressive-helm")
    .option("--interval <seconds>", "override the experiment's spec.duration.intervalSeconds")
    .option(
      "--state-dir <dir>",
      "where experiments are kept (default $ITER8_STATE_DIR or ~/.local/state/iter8)",
    )
    .option("--metrics <backend>", "builtin (the router's statistics) or prometheus (a real Prometheus)")
    .option(
      "--prometheus-url <url>",
      "with --metrics prometheus: use this running Prometheus instead of starting one",
    )
    .option("--lab <file>", "use this lab file instead of DIR/lab.yaml")
    .option("--fresh", "start the experiment afresh even if the state directory holds an unfinished run")
    .option(
      "--assert <condition>",
      "check a condition at the end, as iter8 assert -c does (repeatable); exit 1 if one does not hold",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("--log-format <format>", `warnings and logs on stderr: ${LOG_FORMATS.join(" or ")}`, "text")
    .option("--dry-run", "run the checks only: exit 0 if the run could start, 2 with every problem")
    .option(
      "--run-tasks",
      "run every common/exec and common/bash task (default: only those the lab maps or lists)",
    )
    .option("--gateway-port <port>", "serve the router (gateway) on this loopback port (default: a free one)")
    .option(
      "--admin-port <port>",
      "serve the router's admin endpoint (/metrics, /stats) on this loopback port",
    )
    .option(
      "--ready-timeout <duration>",
      "how long a version may take to answer HTTP (default the lab's readyTimeout or 20s)",
    )
    .addHelpText(
      "after",
      `
Exit codes: 0 the experiment completed, 1 it failed (or a version kept dying), 2 the input was
rejected before anything started (every problem with its file and field), 130/143 interrupted.`,
    )
    .action(runAction);
  local
    .command("init")
    .description(
      "write a runnable, commented starting point: experiment.yaml, lab.yaml and a tiny sample service",
    )
    .argument("<dir>", "directory to create (must be empty or absent)")
    .option("--pattern <pattern>", `one of ${INIT_PATTERNS.join(", ")}`, "canary")
    .action((dir: string, flags: { pattern: string }) => {
      if (!INIT_PATTERNS.includes(flags.pattern as InitPattern))
        throw new CliError(
          `--pattern: must be one of ${INIT_PATTERNS.join(", ")}, got ${JSON.stringify(flags.pattern)}`,
          2,
        );
      try {
        const files = initLab(dir, flags.pattern as InitPattern);
        process.stdout.write(`wrote ${files.join(", ")} in ${dir}\nrun it: iter8 local run ${dir}\n`);
      } catch (e) {
        throw new CliError((e as Error).message, 2);
      }
    });
}
