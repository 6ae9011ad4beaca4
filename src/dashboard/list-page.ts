// The dashboard's first page: every experiment with its stage, weights and verdict, kept current by
// server-sent events. Plain HTML with a tiny inline script, like the report pages.

import { totalIterations } from "../api/defaults.ts";
import { namespaceOf } from "../api/refs.ts";
import type { Experiment } from "../api/types.ts";
import { escapeAttr, escapeHtml, jsonForScript } from "../report/html.ts";
import { verdictOf } from "../report/verdict.ts";

export interface ExperimentRow {
  namespace: string;
  name: string;
  link: string;
  pattern: string;
  stage: string;
  iterations: string;
  weights: string;
  verdict: string;
}

export function experimentRow(exp: Experiment): ExperimentRow {
  const namespace = namespaceOf(exp);
  const st = exp.status;
  return {
    namespace,
    name: exp.metadata.name,
    link: `/experiments/${encodeURIComponent(namespace)}/${encodeURIComponent(exp.metadata.name)}`,
    pattern: `${exp.spec.strategy.testingPattern}/${exp.spec.strategy.deploymentPattern ?? "Progressive"}`,
    stage: st?.stage ?? "Waiting",
    iterations: `${st?.completedIterations ?? 0}/${totalIterations(exp.spec)}`,
    weights: (st?.currentWeightDistribution ?? []).map((w) => `${w.name}=${w.value}`).join(" ") || "-",
    verdict: verdictOf(exp),
  };
}

const COLUMNS: Array<[keyof ExperimentRow, string]> = [
  ["namespace", "namespace"],
  ["name", "experiment"],
  ["pattern", "pattern"],
  ["stage", "stage"],
  ["iterations", "iterations"],
  ["weights", "weights"],
  ["verdict", "verdict"],
];

const SCRIPT = `
(function () {
  var cols = JSON.parse(document.getElementById("columns").textContent);
  window.__iter8 = { updates: 0 };
  function fill(rows) {
    var body = document.getElementById("experiments");
    body.textContent = "";
    if (rows.length === 0) {
      var tr = document.createElement("tr"), td = document.createElement("td");
      td.colSpan = cols.length; td.textContent = "No experiments yet."; tr.appendChild(td); body.appendChild(tr);
      return;
    }
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      cols.forEach(function (c) {
        var td = document.createElement("td");
        if (c[0] === "name") { var a = document.createElement("a"); a.href = r.link; a.textContent = r.name; td.appendChild(a); }
        else td.textContent = r[c[0]];
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }
  var source = new EventSource(document.body.getAttribute("data-events"));
  source.addEventListener("list", function (ev) { fill(JSON.parse(ev.data)); window.__iter8.updates++; });
})();
`;

export function renderListPage(rows: ExperimentRow[], eventsUrl: string): string {
  const body =
    rows.length === 0
      ? `<tr><td colspan="${COLUMNS.length}">No experiments yet.</td></tr>`
      : rows.map((r) => `<tr>${COLUMNS.map(([k]) => `<td>${cell(r, k)}</td>`).join("")}</tr>`).join("");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>iter8 experiments</title>
<style>
:root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; }
body { margin: 0 auto; padding: 1rem; max-width: 1140px; }
table { border-collapse: collapse; width: 100%; font-size: 0.95rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
.scroll { overflow-x: auto; }
</style>
</head>
<body data-events="${escapeAttr(eventsUrl)}">
<h1>iter8 experiments</h1>
<div class="scroll"><table>
<thead><tr>${COLUMNS.map(([, title]) => `<th scope="col">${title}</th>`).join("")}</tr></thead>
<tbody id="experiments">${body}</tbody>
</table></div>
<script type="application/json" id="columns">${jsonForScript(COLUMNS)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function cell(r: ExperimentRow, k: keyof ExperimentRow): string {
  if (k === "name") return `<a href="${escapeAttr(r.link)}">${escapeHtml(r.name)}</a>`;
  return escapeHtml(r[k]);
}
