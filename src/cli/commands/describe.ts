// `iter8 describe -f FILE|-` and `iter8ctl describe -f -`: the iter8ctl text description of one
// experiment, read from a file or standard input, e.g.
//   kubectl get experiment mirroring -o yaml | iter8ctl describe -f -
// The layout follows the API version the experiment was written in (v2alpha1 objects get the older
// layout the seed 004 tutorial shows). `-o json|yaml` prints the normalised v2alpha2 object instead.

import type { Command } from "commander";
import YAML, { parseAllDocuments } from "yaml";
import {
  type Experiment,
  formatProblem,
  InputError,
  type LoadedDocument,
  loadDocuments,
  readInput,
  SOURCE_VERSION_ANNOTATION,
  type SourceVersion,
} from "../../api/index.ts";
import { describeExperiment } from "../../report/describe.ts";
import { describeEvidence } from "../../report/evidence.ts";
import { writtenMetricReferences } from "../../report/references.ts";
import { CliError } from "../errors.ts";
import { chooseSource, type SourceFlags, sourceOptions } from "../source.ts";

const OUTPUT_FORMATS = ["text", "json", "yaml"] as const;
type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** An experiment found by name (in a cluster or a local state directory). */
export interface ResolvedExperiment {
  experiment: Experiment;
  /** The experiment as stored, before normalisation, when available (for labels as written). */
  source?: unknown;
}

/** Finds an experiment by name; `namespace` is the `-n` flag when given. */
export type ExperimentResolver = (name: string, namespace: string | undefined) => Promise<ResolvedExperiment>;

interface DescribeFlags {
  file?: string;
  output?: string;
  namespace?: string;
  /** Print the evidence lines after the tables (`iter8 describe`; never `iter8ctl describe`). */
  evidence?: boolean;
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
    const evidence = process.env["ITER8_PROGRAM_NAME"] !== "iter8ctl";
    process.stdout.write(await describeCommand(name, { ...flags, evidence }, resolver));
  });
}

/** `describe NAME` reads where src/cli/source.ts says: the local state directory or a cluster. */
async function resolverFor(flags: SourceFlags): Promise<ExperimentResolver> {
  const source = chooseSource(flags);
  if (source.kind === "cluster") return (await import("./kube.ts")).clusterExperimentResolver(source);
  const { resolveLocalExperiment } = await import("../../platforms/local/resolve.ts");
  return async (name, ns) => {
    try {
      return resolveLocalExperiment(name, ns, source.stateDir);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  };
}

/** The text the command prints; throws `CliError` for user errors. */
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
  if (name !== undefined && flags.file !== undefined) {
    throw new CliError(`give either an experiment NAME or -f, not both (got ${name} and -f ${flags.file})`);
  }
  let found: { experiment: Experiment; source?: unknown; sourceVersion?: SourceVersion };
  if (flags.file !== undefined) {
    found = await experimentFromInput(flags.file);
  } else if (name !== undefined) {
    if (!resolve) {
      throw new CliError(
        `cannot look up experiment ${name} by name here: use -f FILE, or pipe it in, e.g. ` +
          `kubectl get experiment ${name} -o yaml | iter8ctl describe -f -`,
      );
    }
    found = await resolve(name, flags.namespace);
  } else {
    throw new CliError(
      "Missing experiment: give its NAME, or use -f FILE, or -f - to read it from standard input",
    );
  }

  const { experiment } = found;
  if (format === "json") return `${JSON.stringify(experiment, null, 2)}\n`;
  if (format === "yaml") return YAML.stringify(experiment);
  const layout = found.sourceVersion ?? sourceVersionOf(experiment);
  const writtenReferences =
    found.source === undefined ? undefined : writtenMetricReferences(found.source, experiment);
  try {
    const text = describeExperiment(experiment, {
      layout,
      ...(writtenReferences ? { writtenReferences } : {}),
    });
    return flags.evidence === true ? text + describeEvidence(experiment) : text;
  } catch (err) {
    throw new CliError(`cannot describe experiment ${experiment.metadata.name}: ${(err as Error).message}`);
  }
}

function outputFormat(value: string | undefined): OutputFormat {
  const format = value ?? "text";
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw new CliError(
      `-o: unknown output format ${JSON.stringify(format)} (use ${OUTPUT_FORMATS.join(", ")})`,
    );
  }
  return format as OutputFormat;
}

/** A stored experiment carries the version it was written in as an annotation (set on upgrade). */
function sourceVersionOf(exp: Experiment): SourceVersion {
  return exp.metadata.annotations?.[SOURCE_VERSION_ANNOTATION] === "v2alpha1" ? "v2alpha1" : "v2alpha2";
}

/** The first Experiment of a file or of standard input, with its source document. */
async function experimentFromInput(
  file: string,
): Promise<{ experiment: Experiment; source: unknown; sourceVersion?: SourceVersion }> {
  let text: string;
  let docs: LoadedDocument[];
  try {
    text = await readInput(file);
    docs = loadDocuments(text);
  } catch (err) {
    if (err instanceof InputError) throw new CliError(err.message);
    throw err;
  }
  const doc = docs.find((d) => d.kind === "Experiment" && d.skipped !== true);
  if (!doc) {
    const kinds = [...new Set(docs.map((d) => d.kind ?? "unrecognised"))].join(", ");
    const firstError = docs.find((d) => d.error)?.error;
    throw new CliError(
      `no Experiment in ${inputName(file)} (found: ${kinds})${firstError ? `; ${firstError}` : ""}`,
    );
  }
  if (doc.error) throw new CliError(doc.error);
  if (!doc.resource || doc.problems.length > 0) {
    const problems = doc.problems.map(formatProblem).join("; ");
    throw new CliError(
      `experiment ${doc.name ?? "(unnamed)"} in ${inputName(file)} is not valid: ${problems}`,
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
