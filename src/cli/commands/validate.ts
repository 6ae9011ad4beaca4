// `iter8 validate -f FILE|DIR|- [-f ...]`: checks Experiment and Metric objects before they are applied or run.
// Output is one line per object, then one indented line per problem or warning; objects of other
// kinds in the same file (the tutorial's Knative Services, VirtualServices, Jobs) are listed as skipped.

import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { documentLabel, InputError, type LoadedDocument, loadDocuments, readInput } from "../../api/load.ts";
import { formatProblem } from "../../api/paths.ts";
import { checkTaskInputs } from "../../tasks/registry.ts";
import { CliError } from "../errors.ts";

export const EXIT_VALID = 0;
export const EXIT_INVALID = 1;
export const EXIT_INPUT_ERROR = 2;
/** The input has no iter8 object: `file` names it (`-` is standard input). */
function noObjects(file: string): string {
  return `no Experiment or Metric objects in ${file === "-" ? "the input" : file}`;
}

function title(d: LoadedDocument): string {
  const name = d.name ? `${d.namespace || "default"}/${d.name}` : `<unnamed> (${documentLabel(d)})`;
  return `${d.kind} ${name} (${d.apiVersion})`;
}

/**
 * The report for the documents loaded from `file`: lines for stdout, lines for stderr (naming the
 * file), and the exit code.
 */
export function report(
  docs: readonly LoadedDocument[],
  file = "-",
): { out: string[]; err: string[]; exitCode: number } {
  const from = file === "-" ? "" : `${file}: `;
  const out: string[] = [];
  const err: string[] = [];
  let invalid = false;
  let inputError = false;
  let iter8Objects = 0;
  for (const d of docs) {
    if (d.error) {
      err.push(`${from}${d.error}`);
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
    err.push(noObjects(file));
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
      "YAML or JSON file with one or more objects, a directory (its *.yaml, *.yml, *.json), or - for standard input; repeatable",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
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
    .action(async (options: { file: string[] }) => {
      const files = options.file.flatMap(expandInput);
      const several = files.length > 1;
      const out: string[] = [];
      const err: string[] = [];
      let exitCode = EXIT_VALID;
      let iter8Files = 0;
      for (const file of files) {
        let docs: LoadedDocument[];
        try {
          docs = loadDocuments(await readInput(file), { source: file, taskInputs: checkTaskInputs });
        } catch (e) {
          if (e instanceof InputError) throw new CliError(e.message, EXIT_INPUT_ERROR);
          throw e;
        }
        const r = report(docs, file);
        if (several) {
          // "no iter8 objects" is about the whole input, not one of its files.
          const none = r.err.indexOf(noObjects(file));
          if (none >= 0) {
            r.err.splice(none, 1);
            if (r.err.length === 0) r.exitCode = EXIT_VALID;
          } else iter8Files++;
        }
        out.push(...(several ? r.out.map((l) => (l.startsWith("  ") ? l : `${file}: ${l}`)) : r.out));
        err.push(...r.err);
        exitCode = Math.max(exitCode, r.exitCode);
      }
      if (several && iter8Files === 0) {
        err.push(noObjects("-"));
        exitCode = EXIT_INPUT_ERROR;
      }
      if (out.length > 0) process.stdout.write(`${out.join("\n")}\n`);
      const name = program.name();
      for (const line of err) process.stderr.write(`${name}: ${line}\n`);
      process.exitCode = exitCode;
    });
}

/** A directory stands for its YAML and JSON files (sorted); anything else for itself. */
function expandInput(file: string): string[] {
  if (file === "-") return [file];
  let isDir = false;
  try {
    isDir = statSync(file).isDirectory();
  } catch {
    return [file]; // readInput names the missing file
  }
  if (!isDir) return [file];
  const found = readdirSync(file)
    // lab.yaml says how to run a directory locally: `iter8 local run --dry-run` checks it.
    .filter((f) => /\.(ya?ml|json)$/.test(f) && f !== "lab.yaml")
    .sort()
    .map((f) => join(file, f));
  if (found.length === 0)
    throw new CliError(`${file}: a directory without *.yaml, *.yml or *.json files`, EXIT_INPUT_ERROR);
  return found;
}
