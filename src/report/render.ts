// One entry point for a report in either format, for the CLI and the local run.

import type { Experiment, SourceVersion } from "../api/types.ts";
import { sourceVersionOf } from "../engine/spec.ts";
import { describeExperiment } from "./describe.ts";
import { renderHtml } from "./html.ts";
import { renderMarkdown } from "./markdown.ts";
import { reportModel } from "./model.ts";
import { writtenMetricReferences } from "./references.ts";

export const REPORT_FORMATS = ["html", "md"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function renderReport(exp: Experiment, describe: string, format: ReportFormat, now: Date): string {
  const model = reportModel(exp, describe, now);
  return format === "md" ? renderMarkdown(model) : renderHtml(model);
}

/**
 * The describe text of an experiment in the layout of the API version it was written in, with
 * metric labels as written when the source document is known.
 */
export function describeText(exp: Experiment, source?: unknown, sourceVersion?: SourceVersion): string {
  const layout = sourceVersion ?? sourceVersionOf(exp);
  const writtenReferences = source === undefined ? undefined : writtenMetricReferences(source, exp);
  return describeExperiment(exp, { layout, ...(writtenReferences ? { writtenReferences } : {}) });
}
