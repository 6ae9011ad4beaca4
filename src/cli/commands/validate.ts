// `iter8 validate -f FILE|-`: checks Experiment and Metric objects before they are applied or run.
// Output is one line per object, then one indented line per problem or warning; objects of other
// kinds in the same file (the tutorial's Knative Services, VirtualServices, Jobs) are listed as skipped.

import type { Command } from "commander";
import { documentLabel, InputError, type LoadedDocument, loadDocuments, readInput } from "../../api/load.ts";
import { formatProblem } from "../../api/paths.ts";
import { checkTaskInputs } from "../../tasks/registry.ts";
import { CliError } from "../errors.ts";

export const EXIT_VALID = 0;
export const EXIT_INVALID = 1;
export const EXIT_INPUT_ERROR = 2;

function title(d: LoadedDocument): string {
  const name = d.name ? `${d.namespace || "default"}/${d.name}` : `<unnamed> (${documentLabel(d)})`;
  return `${d.kind} ${name} (${d.apiVersion})`;
}

/** The report for loaded documents: lines for stdout, lines for stderr, and the exit code. */
export function report(docs: readonly LoadedDocument[]): { out: string[]; err: string[]; exitCode: number } {
  const out: string[] = [];
  const err: string[] = [];
  let invalid = false;
  let inputError = false;
  let iter8Objects = 0;
  for (const d of docs) {
    if (d.error) {
      err.push(d.error);
      inputError = true;
      continue;
    }
    if (d.skipped) {
      out.push(`${title(d)}: skipped (not an iter8 object)`);
      continue;
    }
    iter8Objects++;
    if (d.problems.length > 0) {
      invalid = true;
      out.push(`${title(d)}: invalid`);
      for (const p of d.problems) out.push(`  ${formatProblem(p)}`);
    } else {
      out.push(`${title(d)}: valid`);
    }
    for (const w of d.warnings) out.push(`  warning: ${w}`);
  }
  if (iter8Objects === 0 && !inputError) {
    err.push("no Experiment or Metric objects in the input");
    inputError = true;
  }
  return { out, err, exitCode: inputError ? EXIT_INPUT_ERROR : invalid ? EXIT_INVALID : EXIT_VALID };
}

export function register(program: Command): void {
  program
    .command("validate")
    .description(
      "check Experiment and Metric objects (iter8.tools/v2alpha2 or v2alpha1) without running them",
    )
    .requiredOption(
      "-f, --file <file>",
      "YAML or JSON file with one or more objects, or - for standard input",
    )
    .addHelpText(
      "after",
      `
Prints one line per object (valid, invalid or skipped), and under an invalid object every problem
with its field path, e.g. "spec.duration.intervalSeconds: must be >= 1". Objects that are not
iter8's (Knative Services, VirtualServices, Jobs) are skipped.

Exit codes:
  0  every Experiment and Metric is valid
  1  at least one object is invalid
  2  the input cannot be read: not YAML, empty, larger than 4 MiB, an unknown iter8 kind,
     a document that is not a Kubernetes object, or no Experiment or Metric at all
`,
    )
    .action(async (options: { file: string }) => {
      let docs: LoadedDocument[];
      try {
        docs = loadDocuments(await readInput(options.file), { taskInputs: checkTaskInputs });
      } catch (e) {
        if (e instanceof InputError) throw new CliError(e.message, EXIT_INPUT_ERROR);
        throw e;
      }
      const { out, err, exitCode } = report(docs);
      if (out.length > 0) process.stdout.write(`${out.join("\n")}\n`);
      const name = program.name();
      for (const line of err) process.stderr.write(`${name}: ${line}\n`);
      process.exitCode = exitCode;
    });
}
