// The `iter8` command line. Each subcommand lives in its own module under ./commands and registers
// itself on the program; this file only wires them together and turns errors into one-line messages.

import { Command, CommanderError } from "commander";
import { CliError } from "./errors.ts";

type Register = (program: Command) => void;

// One entry per subcommand module, in the order `iter8 --help` lists them.
const commands: Array<() => Promise<{ register: Register }>> = [
  // (subcommand modules are added here)
  () => import("./commands/validate.ts"),
  () => import("./commands/load.ts"),
  () => import("./commands/sample-app.ts"),
  () => import("./commands/describe.ts"),
  () => import("./commands/local.ts"),
  () => import("./commands/get.ts"),
  () => import("./commands/controller.ts"),
  () => import("./commands/kube.ts"),
  () => import("./commands/router.ts"),
];

export async function main(argv: string[]): Promise<number> {
  const name = process.env["ITER8_PROGRAM_NAME"] ?? "iter8";
  const program = new Command(name)
    .description("iter8: release optimizer for canary, conformance, A/B and A/B/n experiments")
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();
  for (const load of commands) (await load()).register(program);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
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
