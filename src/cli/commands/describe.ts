// `iter8 describe -f FILE|-` and `iter8ctl describe -f -`: the iter8ctl text description of one
// experiment, read from a file or standard input, e.g.
//   kubectl get experiment mirroring -o yaml | iter8ctl describe -f -
// The layout follows the API version the experiment was written in (v2alpha1 objects get the older
// layout the seed 004 tutorial shows). `-o json|yaml` prints the normalised v2alpha2 object instead,
// with the derived `outcome` and readable `history` records beside it.

import type { Command } from "commander";
import YAML, { parseAllDocuments } from "yaml";
import {
  type Experiment,
  formatProblem,
  InputError,
  type LoadedDocument,
  loadDocuments,
  readInput,
  type SourceVersion,
} from "../../api/index.ts";
import { historyPoints } from "../../engine/history.ts";
import { describeEvidence } from "../../report/evidence.ts";
import { outcomeOf, outcomeSection } from "../../report/outcome.ts";
import { describeText as renderDescribeText } from "../../report/render.ts";
import { CliError } from "../errors.ts";
import { chooseSource, type SourceFlags, sourceOptions } from "../source.ts";

const OUTPUT_FORMATS = ["text", "json", "yaml"] as const;
type OutputFormat = (typeof OUTPUT_FORMATS)[number];

import type { ExperimentResolver, ResolvedExperiment } from "../cluster.ts";

export type { ExperimentResolver, ResolvedExperiment };

interface DescribeFlags {
  file?: string;
  output?: string;
  namespace?: string;
  /** Append the Evidence and Outcome sections after the iter8ctl ones; iter8ctl itself does not. */
  outcome?: boolean;
}

export function register(program: Command): void {
  const describe = program
    .command("describe")
    .description("describe an experiment: progress, winner, objectives and metrics (iter8ctl layout)")
    .argument("[name]", "name of a stored experiment: local state directory or cluster (instead of -f)")
    .option("-f, --file <file>", "experiment YAML or JSON file, or - for standard input")
    .option("-n, --namespace <namespace>", "namespace of the experiment named by NAME")
    .option("-o, --output <format>", `output format: ${OUTPUT_FORMATS.join(", ")}`, "text");
  sourceOptions(describe).action(async (name: string | undefined, flags: DescribeFlags & SourceFlags) => {
    const resolver = name !== undefined && flags.file === undefined ? await resolverFor(flags) : undefined;
    const outcome = program.name() !== "iter8ctl";
    process.stdout.write(await describeCommand(name, { ...flags, outcome }, resolver));
  });
}

/** `describe NAME` reads where src/cli/source.ts says: the local state directory or a cluster. */
export async function resolverFor(flags: SourceFlags): Promise<ExperimentResolver> {
  const source = chooseSource(flags);
  if (source.kind === "cluster") return (await import("../cluster.ts")).clusterExperimentResolver(source);
  const { findLocalExperiment } = await import("../../platforms/local/resolve.ts");
  return async (name, ns) => {
    try {
      return findLocalExperiment(name, ns, source.stateDir);
    } catch (err) {
      throw new CliError((err as Error).message, 2);
    }
  };
}

/**
 * The text the command prints; throws `CliError` for user errors. `resolve` serves `describe NAME`
 * (local state or a cluster); without one, `describe NAME` explains how to use `-f` instead.
 */
export async function describeCommand(
  name: string | undefined,
  flags: DescribeFlags,
  resolve?: ExperimentResolver,
): Promise<string> {
  const format = outputFormat(flags.output);
  const found = await findExperiment(name, flags, resolve);
  const { experiment } = found;
  if (format !== "text") {
    // The experiment as stored, plus what is derived from it: the reasons under a top-level
    // `outcome` key, and under `history` one readable record per iteration (status.history keeps
    // them as compact arrays).
    const out = flags.outcome === false ? experiment : withDerived(experiment, found.liveness);
    return format === "json" ? `${JSON.stringify(out, null, 2)}\n` : YAML.stringify(out);
  }
  return describeText(found, flags.outcome !== false);
}

/** The experiment plus its derived `outcome` (when there are reasons) and `history` (when recorded). */
function withDerived(experiment: Experiment, liveness: FoundExperiment["liveness"]): Record<string, unknown> {
  const { reasons, interrupted, promoted } = outcomeOf(experiment, liveness);
  const history = historyPoints(experiment.status);
  return {
    ...experiment,
    ...(reasons.length > 0 ? { outcome: { reasons, interrupted, ...(promoted ? { promoted } : {}) } } : {}),
    ...(history.length > 0 ? { history } : {}),
  };
}

/** An experiment found by `-f` or by name. */
export type FoundExperiment = ResolvedExperiment & { sourceVersion?: SourceVersion };

/** The experiment named by NAME (through `resolve`) or read from `-f`; exactly one of them. */
export async function findExperiment(
  name: string | undefined,
  flags: { file?: string; namespace?: string },
  resolve?: ExperimentResolver,
): Promise<FoundExperiment> {
  if (name !== undefined && flags.file !== undefined) {
    throw new CliError(
      `give either an experiment NAME or -f, not both (got ${name} and -f ${flags.file})`,
      2,
    );
  }
  if (flags.file !== undefined) return experimentFromInput(flags.file);
  if (name === undefined) {
    throw new CliError(
      "Missing experiment: give its NAME, or use -f FILE, or -f - to read it from standard input",
      2,
    );
  }
  if (!resolve) {
    throw new CliError(
      `cannot look up experiment ${name} by name here: use -f FILE, or pipe it in, e.g. ` +
        `kubectl get experiment ${name} -o yaml | iter8ctl describe -f -`,
      2,
    );
  }
  return resolve(name, flags.namespace);
}

/** The describe text of a found experiment: the iter8ctl sections, then (for iter8) the Evidence and the Outcome. */
export function describeText(found: FoundExperiment, withOutcome = true): string {
  const { experiment } = found;
  try {
    const text = renderDescribeText(experiment, found.source, found.sourceVersion);
    return withOutcome
      ? text + describeEvidence(experiment) + outcomeSection(experiment, found.liveness)
      : text;
  } catch (err) {
    throw new CliError(
      `cannot describe experiment ${experiment.metadata.name}: ${(err as Error).message}`,
      2,
    );
  }
}

function outputFormat(value: string | undefined): OutputFormat {
  const format = value ?? "text";
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw new CliError(
      `-o: unknown output format ${JSON.stringify(format)} (use ${OUTPUT_FORMATS.join(", ")})`,
      2,
    );
  }
  return format as OutputFormat;
}

/** The first Experiment of a file or of standard input, with its source document. */
export async function experimentFromInput(
  file: string,
): Promise<{ experiment: Experiment; source: unknown; sourceVersion?: SourceVersion }> {
  let text: string;
  let docs: LoadedDocument[];
  try {
    text = await readInput(file);
    docs = loadDocuments(text, { source: file });
  } catch (err) {
    if (err instanceof InputError) throw new CliError(err.message, 2);
    throw err;
  }
  const doc = docs.find((d) => d.kind === "Experiment" && d.skipped !== true);
  if (!doc) {
    const kinds = [...new Set(docs.map((d) => d.kind ?? "unrecognised"))].join(", ");
    const firstError = docs.find((d) => d.error)?.error;
    throw new CliError(
      `no Experiment in ${inputName(file)} (found: ${kinds})${firstError ? `; ${firstError}` : ""}`,
      2,
    );
  }
  if (doc.error) throw new CliError(`${inputName(file)}: ${doc.error}`, 2);
  if (!doc.resource || doc.problems.length > 0) {
    const problems = doc.problems.map(formatProblem).join("; ");
    throw new CliError(
      `experiment ${doc.name ?? "(unnamed)"} in ${inputName(file)} is not valid: ${problems}`,
      2,
    );
  }
  const found: { experiment: Experiment; source: unknown; sourceVersion?: SourceVersion } = {
    experiment: doc.resource as Experiment,
    source: sourceDocument(text, doc),
  };
  if (doc.sourceVersion) found.sourceVersion = doc.sourceVersion;
  return found;
}

// The document as written (before upgrade and normalisation), for metric labels as written.
function sourceDocument(text: string, doc: LoadedDocument): unknown {
  const parsed = parseAllDocuments(text);
  const list = Array.isArray(parsed) ? parsed : [];
  const value: unknown = list[doc.index - 1]?.toJS({ maxAliasCount: 100 });
  if (doc.item === undefined) return value;
  const items = (value as { items?: unknown[] } | undefined)?.items;
  return Array.isArray(items) ? items[doc.item - 1] : undefined;
}

function inputName(file: string): string {
  return file === "-" ? "standard input" : file;
}
