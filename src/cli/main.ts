// The `iter8` command line. Each subcommand lives in its own module under ./commands and registers
// itself on the program; this file only wires them together and turns errors into one-line messages.

import { Command, CommanderError } from "commander";
import { CliError } from "./errors.ts";
import { unsupportedNode } from "./node-version.ts";

type Register = (program: Command) => void;

// One entry per subcommand module, in the order `iter8 --help` lists them. Modules are imported
// only when needed: a command pulls in just its own dependencies (the Kubernetes client alone costs
// a second of start-up), and `--help` or an unknown name loads them all.
const commands: Array<{ name: string; load: () => Promise<{ register: Register }> }> = [
  { name: "validate", load: () => import("./commands/validate.ts") },
  { name: "describe", load: () => import("./commands/describe.ts") },
  { name: "get", load: () => import("./commands/get.ts") },
  { name: "assert", load: () => import("./commands/assert.ts") },
  { name: "report", load: () => import("./commands/report.ts") },
  { name: "dashboard", load: () => import("./commands/dashboard.ts") },
  { name: "local", load: () => import("./commands/local.ts") },
  { name: "load", load: () => import("./commands/load.ts") },
  { name: "sample-app", load: () => import("./commands/sample-app.ts") },
  { name: "router", load: () => import("./commands/router.ts") },
  { name: "controller", load: () => import("./commands/controller.ts") },
  { name: "kube", load: () => import("./commands/kube.ts") },
];

/** The subcommand named on the command line: the first argument that is not an option. */
function requestedCommand(argv: string[]): string | undefined {
  return argv.slice(2).find((a) => !a.startsWith("-"));
}

export async function main(argv: string[]): Promise<number> {
  const name = process.env["ITER8_PROGRAM_NAME"] ?? "iter8";
  const tooOld = unsupportedNode(process.versions.node);
  if (tooOld) {
    process.stderr.write(`${name}: ${tooOld}\n`);
    return 1;
  }
  const program = new Command(name)
    .description("iter8: release optimizer for canary, conformance, A/B and A/B/n experiments")
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();
  const wanted = requestedCommand(argv);
  const only = commands.find((c) => c.name === wanted);
  const versionOnly = wanted === undefined && argv.some((a) => a === "-V" || a === "--version");
  const needed = only ? [only] : versionOnly ? [] : commands;
  for (const c of needed) (await c.load()).register(program);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    // Commander's own errors (unknown option, missing argument, no command) are usage errors: 2.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof CliError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env["ITER8_DEBUG"]) console.error(err);
    return 1;
  }
}

const VERSION = "0.1.0";

// Run when executed as the entry point (bin/iter8 imports the compiled module).
process.exitCode = await main(process.argv);
