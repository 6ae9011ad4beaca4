// `iter8 local run DIR`: runs a tutorial directory (its unchanged manifests plus lab.yaml) on this
// machine; see src/platforms/local/run.ts. (`iter8 describe NAME` reads the local state directory
// through src/platforms/local/resolve.ts.)

import type { Command } from "commander";
import { TutorialError } from "../../platforms/local/errors.ts";
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
}

export function register(program: Command): void {
  const local = program.command("local").description("run experiments on this machine, without a cluster");
  local
    .command("run")
    .description(
      "run a tutorial directory: its Kubernetes manifests unchanged plus lab.yaml (images -> local commands, load Jobs, Helm)",
    )
    .argument("<dir>", "tutorial directory, e.g. examples/canary-progressive-helm")
    .option("--interval <seconds>", "override the experiment's spec.duration.intervalSeconds")
    .option(
      "--state-dir <dir>",
      "where experiments are kept (default $ITER8_STATE_DIR or ~/.local/state/iter8)",
    )
    .option("--metrics <backend>", "builtin (the router's statistics) or prometheus (a real Prometheus)")
    .option("--lab <file>", "use this lab file instead of DIR/lab.yaml")
    .option("--fresh", "start the experiment afresh even if the state directory holds an unfinished run")
    .option(
      "--assert <condition>",
      "check a condition at the end, as iter8 assert -c does (repeatable); exit 1 if one does not hold",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("--log-format <format>", `warnings and logs on stderr: ${LOG_FORMATS.join(" or ")}`, "text")
    .action(async (dir: string, flags: RunFlags) => {
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
        throw new CliError(
          `--metrics: must be builtin or prometheus, got ${JSON.stringify(flags.metrics)}`,
          2,
        );
      let conditions: ReturnType<typeof parseConditions> = [];
      try {
        if (flags.assert) conditions = parseConditions(flags.assert);
      } catch (e) {
        throw new CliError(`--assert: ${(e as Error).message}`, 2);
      }
      const logFormat = (flags.logFormat ?? "text") as LogFormat;
      if (!LOG_FORMATS.includes(logFormat))
        throw new CliError(`--log-format: must be text or json, got ${JSON.stringify(flags.logFormat)}`, 2);
      const terminal = new TerminalOutput(process.stdout);
      const abort = new AbortController();
      let signalName: NodeJS.Signals | undefined;
      const onSignal = (sig: NodeJS.Signals) => {
        signalName = sig;
        process.stderr.write(
          `iter8: ${sig}: stopping (the experiment resumes from its state when run again)\n`,
        );
        abort.abort(new Error(sig));
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      try {
        const result = await runLocal({
          dir,
          stateDir: flags.stateDir ?? defaultStateDir(),
          ...(intervalSeconds !== undefined ? { intervalSeconds } : {}),
          ...(flags.metrics ? { metrics: flags.metrics as "builtin" | "prometheus" } : {}),
          ...(flags.lab ? { labFile: flags.lab } : {}),
          ...(flags.fresh ? { fresh: true } : {}),
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
          process.stderr.write(
            `iter8: ${dir}: not started:\n${e.problems.map((p) => `  ${p}`).join("\n")}\n`,
          );
          process.exitCode = 2;
          return;
        }
        throw e;
      } finally {
        terminal.clear();
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    });
}
