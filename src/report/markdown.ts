// The report as Markdown, for a pull-request comment: the same verdict, series and timeline as the
// HTML page, with tables in place of charts.

import { formatCell } from "./html.ts";
import type { Chart, ReportModel } from "./model.ts";

export function renderMarkdown(model: ReportModel): string {
  const parts = [
    `## Experiment \`${model.namespace}/${model.name}\``,
    `${model.testingPattern} · ${model.deploymentPattern} · versions ${model.versions.map((v) => `\`${v}\``).join(", ")} · stage ${model.stage}`,
    `**${escapeMd(model.verdict)}**`,
    "### Traffic",
    chartTable(model.weights, model),
    chartTable(model.requests, model),
    "### Objectives",
    model.objectives.length === 0
      ? "This experiment has no objectives."
      : model.objectives.map((c) => chartTable(c, model)).join("\n\n"),
    "### Timeline",
    timelineTable(model),
    "### Describe",
    `\`\`\`\n${model.describe.replace(/```/g, "` ` `").trimEnd()}\n\`\`\``,
  ];
  return `${parts.join("\n\n")}\n`;
}

function chartTable(chart: Chart, model: ReportModel): string {
  const limit = chart.limit
    ? ` (limit ${chart.limit.kind === "upper" ? "<=" : ">="} ${chart.limit.value})`
    : "";
  const title = `**${escapeMd(chart.title)}**${escapeMd(limit)}`;
  if (model.iterations.length === 0) return `${title}\n\nNo iteration has completed yet.`;
  const header = `| iteration | ${chart.lines.map((l) => escapeMd(l.label)).join(" | ")} |`;
  const rule = `|---|${chart.lines.map(() => "---").join("|")}|`;
  const rows = model.iterations.map((x, i) => {
    const cells = chart.lines.map((l) => {
      const band = chart.bands.find((b) => b.label === l.label);
      const lo = band?.lower[i];
      const hi = band?.upper[i];
      const bounds = lo != null || hi != null ? ` [${formatCell(lo)}, ${formatCell(hi)}]` : "";
      return `${formatCell(l.values[i])}${bounds}`;
    });
    return `| ${x} | ${cells.join(" | ")} |`;
  });
  return [title, "", header, rule, ...rows].join("\n");
}

function timelineTable(model: ReportModel): string {
  if (model.timeline.length === 0) return "Nothing has happened yet.";
  const rows = model.timeline.map((t) => {
    const detail = t.detail ? escapeMd(t.detail).replace(/\n/g, "<br>") : "";
    return `| ${t.time} | ${escapeMd(t.what)} | ${detail} |`;
  });
  return ["| time | what | detail |", "|---|---|---|", ...rows].join("\n");
}

/** Table cells and emphasis must not be broken by the text they hold. */
function escapeMd(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\*/g, "\\*").replace(/</g, "&lt;");
}
