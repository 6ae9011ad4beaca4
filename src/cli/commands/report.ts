// `iter8 report NAME | -f FILE [-o html|md] [--out FILE]`: the experiment as one self-contained
// HTML page (charts of weights, requests and each objective per iteration, the timeline, the
// describe tables) or as Markdown for a pull-request comment. NAME is read where `describe` reads it.

import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { REPORT_FORMATS, type ReportFormat, renderReport } from "../../report/render.ts";
import { CliError } from "../errors.ts";
import { type SourceFlags, sourceOptions } from "../source.ts";
import { describeText, findExperiment, resolverFor } from "./describe.ts";

interface ReportFlags {
  file?: string;
  namespace?: string;
  output?: string;
  out?: string;
}

export function register(program: Command): void {
  const report = program
    .command("report")
    .description("write an experiment's report: one offline HTML page with charts (or Markdown)")
    .argument("[name]", "name of a stored experiment: local state directory or cluster (instead of -f)")
    .option("-f, --file <file>", "experiment YAML or JSON file, or - for standard input")
    .option("-n, --namespace <namespace>", "namespace of the experiment named by NAME")
    .option("-o, --output <format>", `output format: ${REPORT_FORMATS.join(", ")}`, "html")
    .option("--out <file>", "write to this file instead of standard output");
  sourceOptions(report).action(async (name: string | undefined, flags: ReportFlags & SourceFlags) => {
    const format = reportFormat(flags.output);
    const resolver = name !== undefined && flags.file === undefined ? await resolverFor(flags) : undefined;
    const found = await findExperiment(name, flags, resolver);
    const text = renderReport(found.experiment, describeText(found), format, new Date());
    if (flags.out === undefined) {
      process.stdout.write(text);
      return;
    }
    try {
      writeFileSync(flags.out, text);
    } catch (err) {
      throw new CliError(`--out ${flags.out}: cannot write the report: ${(err as Error).message}`);
    }
    process.stderr.write(`report written to ${flags.out}\n`);
  });
}

function reportFormat(value: string | undefined): ReportFormat {
  const format = value ?? "html";
  if (!(REPORT_FORMATS as readonly string[]).includes(format)) {
    throw new CliError(
      `-o: unknown report format ${JSON.stringify(format)} (use ${REPORT_FORMATS.join(", ")})`,
      2,
    );
  }
  return format as ReportFormat;
}
