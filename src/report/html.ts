// The report as one self-contained HTML page: styles, the chart library, the data and the drawing
// script are all inlined, so the file opens offline and makes no request at view time. The same
// page, given an events URL, is the dashboard's live view of one experiment.

import { chartAssets } from "./assets.ts";
import type { Chart, ReportModel } from "./model.ts";
import { PAGE_SCRIPT } from "./page-script.ts";

export interface HtmlOptions {
  /** Server-sent events URL that streams new models (dashboard pages); absent for a report file. */
  eventsUrl?: string;
  /** Link back to the list of experiments (dashboard pages). */
  backLink?: string;
}

const STYLE = `
:root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; }
body { margin: 0 auto; padding: 1rem; max-width: 1140px; line-height: 1.45; }
h1 { font-size: 1.5rem; margin: 0.2rem 0; word-break: break-word; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
.meta { color: #555; margin: 0; }
.verdict { font-size: 1.15rem; padding: 0.75rem 1rem; border-left: 6px solid #1f5fa8; background: #f2f6fb; }
figure { margin: 1rem 0; }
figcaption { font-weight: 600; margin-bottom: 0.3rem; }
.chart { width: 100%; min-height: 270px; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
pre { margin: 0; white-space: pre-wrap; font-size: 0.85rem; }
.describe { overflow-x: auto; background: #fafafa; padding: 0.5rem; border: 1px solid #ddd; }
.describe pre { white-space: pre; }
.scroll { overflow-x: auto; }
@media (max-width: 600px) { body { padding: 0.5rem; } h1 { font-size: 1.2rem; } .verdict { font-size: 1rem; } }
`;

export function renderHtml(model: ReportModel, options: HtmlOptions = {}): string {
  const { script, style } = chartAssets();
  const live = options.eventsUrl ? ` data-events="${escapeAttr(options.eventsUrl)}"` : "";
  const back = options.backLink ? `<p><a href="${escapeAttr(options.backLink)}">All experiments</a></p>` : "";
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${contentPolicy(options)}">
<title>${escapeHtml(`iter8 experiment ${model.namespace}/${model.name}`)}</title>
<style>${style}</style>
<style>${STYLE}</style>
</head>
<body${live}>
${back}
<h1>Experiment ${escapeHtml(`${model.namespace}/${model.name}`)}</h1>
<p class="meta">${escapeHtml(`${model.testingPattern} · ${model.deploymentPattern} · versions ${model.versions.join(", ")}`)} · stage <span id="stage">${escapeHtml(model.stage)}</span> · updated <span id="updated">${escapeHtml(model.generatedAt)}</span></p>
<p class="verdict" id="verdict">${escapeHtml(model.verdict)}</p>
<h2>Traffic</h2>
${figure(model.weights, model)}
${figure(model.requests, model)}
<h2>Objectives</h2>
${model.objectives.length === 0 ? "<p>This experiment has no objectives.</p>" : model.objectives.map((c) => figure(c, model)).join("\n")}
<h2>Timeline</h2>
<div class="scroll"><table><thead><tr><th scope="col">time</th><th scope="col">what</th><th scope="col">detail</th></tr></thead>
<tbody id="timeline-body">${model.timeline.map((t) => `<tr><td>${escapeHtml(t.time)}</td><td>${escapeHtml(t.what)}</td><td>${t.detail ? `<pre>${escapeHtml(t.detail)}</pre>` : ""}</td></tr>`).join("")}</tbody></table></div>
<h2>Describe</h2>
<div class="describe"><pre id="describe">${escapeHtml(model.describe)}</pre></div>
<script type="application/json" id="report-data">${jsonForScript(model)}</script>
<script>${script}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

/** Everything is inlined: a report may make no request at all; a dashboard page only its own stream. */
function contentPolicy(options: HtmlOptions): string {
  const connect = options.eventsUrl ? "'self'" : "'none'";
  return `default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src ${connect}`;
}

/** A chart's frame, with its values as a table too (readable without colour or without scripts). */
function figure(chart: Chart, model: ReportModel): string {
  const limit = chart.limit
    ? ` (limit ${chart.limit.kind === "upper" ? "<=" : ">="} ${chart.limit.value})`
    : "";
  return `<figure id="figure-${chart.id}">
<figcaption>${escapeHtml(chart.title)}${escapeHtml(limit)}</figcaption>
<div class="chart" id="chart-${chart.id}" role="img" aria-label="${escapeAttr(`${chart.title}, one point per iteration`)}"></div>
<details><summary>Values</summary><div class="scroll"><table id="table-${chart.id}">${valueRows(chart, model)}</table></div></details>
</figure>`;
}

function valueRows(chart: Chart, model: ReportModel): string {
  const head = `<tr><th scope="col">iteration</th>${chart.lines.map((l) => `<th scope="col">${escapeHtml(l.label)}</th>`).join("")}</tr>`;
  const rows = model.iterations.map(
    (x, i) =>
      `<tr><td>${x}</td>${chart.lines.map((l) => `<td>${formatCell(l.values[i])}</td>`).join("")}</tr>`,
  );
  return head + rows.join("");
}

export function formatCell(v: number | null | undefined): string {
  return v === null || v === undefined ? "-" : String(+v.toPrecision(6));
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function escapeAttr(s: string): string {
  return escapeHtml(s).replace(/"/g, "&quot;");
}

/** JSON that cannot end the script element it sits in, nor open a comment or CDATA. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}
