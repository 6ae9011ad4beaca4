// `iter8 assert NAME|-f FILE -c COND [-c COND ...] [--timeout D]`: checks conditions on an experiment
// (local state directory or cluster, chosen as for `describe`), one line per condition; exit 0 when
// all hold, 1 when one does not, 2 for bad usage. With --timeout it first waits for the experiment to
// complete (polling), so a CI step can run right after `kubectl apply` or next to `iter8 local run`.

import type { Command } from "commander";
import type { Clock } from "../../engine/ports.ts";
import { parseDuration } from "../../loadgen/duration.ts";
import { type SettleReader, settled, waitUntilSettled } from "../../platforms/settle.ts";
import {
  type AssertCondition,
  CONDITION_NAMES,
  checkCondition,
  formatResults,
  parseConditions,
} from "../../report/assert.ts";
import { CliError } from "../errors.ts";
import { type SourceFlags, sourceOptions } from "../source.ts";
import { experimentFromInput, type ResolvedExperiment, resolverFor } from "./describe.ts";

interface AssertFlags extends SourceFlags {
  file?: string;
  namespace?: string;
  condition?: string[];
  timeout?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function register(program: Command): void {
  const cmd = program
    .command("assert")
    .description(`check conditions on an experiment: ${CONDITION_NAMES.join(", ")}`)
    .argument("[name]", "name of a stored experiment: local state directory or cluster (instead of -f)")
    .option("-f, --file <file>", "experiment YAML or JSON file, or - for standard input")
    .option("-n, --namespace <namespace>", "namespace of the experiment named by NAME")
    .option("-c, --condition <condition>", "a condition to check (repeatable)", collect)
    .option("--timeout <duration>", "wait up to this long (e.g. 30s, 5m) for the experiment to complete")
    .addHelpText(
      "after",
      `
Conditions:
  completed       the experiment has completed (including by failing)
  nofailure       no failure: no Failed condition, no failed action, run not interrupted
  winnerFound     a winner was found
  winner=NAME     NAME is the winner
  promoted=NAME   a finish action succeeded promoting NAME
  slos            every version satisfies every objective

Exit codes: 0 all conditions hold, 1 at least one does not, 2 bad usage or input.
`,
    );
  sourceOptions(cmd).action(async (name: string | undefined, flags: AssertFlags) => {
    const { text, allHold } = await assertCommand(name, flags);
    process.stdout.write(text);
    process.exitCode = allHold ? 0 : 1;
  });
}

export async function assertCommand(
  name: string | undefined,
  flags: AssertFlags,
  clock?: Clock,
): Promise<{ text: string; allHold: boolean }> {
  let conditions: AssertCondition[];
  try {
    conditions = parseConditions(flags.condition ?? []);
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  if ((name === undefined) === (flags.file === undefined))
    throw new CliError("give an experiment NAME or -f FILE (one of them)", 2);
  let timeoutMs = 0;
  if (flags.timeout !== undefined) {
    try {
      timeoutMs = parseDuration(flags.timeout, "--timeout");
    } catch (err) {
      throw new CliError((err as Error).message, 2);
    }
  }
  const read = await reader(name, flags);
  // A file is read every 500 ms; a stored experiment, once found, every 200 ms.
  const found = await waitUntilSettled(read, {
    timeoutMs,
    ...(flags.file !== undefined ? { pollMs: 500 } : {}),
    ...(clock ? { clock } : {}),
  });
  const results = conditions.map((c) => checkCondition(found.experiment, c, found.liveness));
  let text = formatResults(results);
  if (timeoutMs > 0 && !settled(found)) text += `(not completed after waiting ${flags.timeout})\n`;
  return { text, allHold: results.every((r) => r.holds) };
}

/** Reads the experiment; while `tolerant`, a missing one is undefined (it may be created soon). */
async function reader(
  name: string | undefined,
  flags: AssertFlags,
): Promise<SettleReader<ResolvedExperiment>> {
  if (flags.file !== undefined) {
    const file = flags.file;
    // Standard input can be read once; a file is read again on every poll.
    const once = file === "-" ? await experimentFromInput(file) : undefined;
    return async () => once ?? experimentFromInput(file);
  }
  const resolve = await resolverFor(flags);
  return async (tolerant) => {
    try {
      return await resolve(name!, flags.namespace);
    } catch (err) {
      if (tolerant && err instanceof CliError && err.exitCode === 2) return undefined;
      throw err;
    }
  };
}
