// The evidence lines `iter8 describe` prints after the iter8ctl tables (never `iter8ctl describe`,
// whose output stays byte for byte the original's):
//   Evidence:
//     sample-app-v2:
//       error-rate 0.41 %, 95 % bound 0.93 % <= 1 %, n = 1,204: satisfied
import { count, formatNumber } from "../analytics/evidence.ts";
import type { EvidenceData, Experiment, ObjectiveEvidence } from "../api/types.ts";
import { bareName } from "./describe.ts";

const UNITS: Record<string, string> = { milliseconds: "ms", millisecond: "ms", seconds: "s", second: "s" };

function unitsOf(exp: Experiment, metric: string): string {
  const units = exp.status?.metrics?.find((m) => m.name === metric)?.metricObj.spec.units;
  return units === undefined ? "" : ` ${UNITS[units] ?? units}`;
}

/** A value as the line shows it: ratios in percent, other metrics with their units. */
function show(e: ObjectiveEvidence, x: number, units: string): string {
  if (e.shape === "ratio") return `${formatNumber(x * 100)} %`;
  return `${formatNumber(x)}${units}`;
}

export function evidenceLine(exp: Experiment, e: ObjectiveEvidence): string {
  const units = unitsOf(exp, e.metric);
  const op = e.direction === "upper" ? "<=" : ">=";
  const parts = [`${bareName(e.metric)} ${e.value === undefined ? "no value" : show(e, e.value, units)}`];
  const bound = e.direction === "upper" ? e.upper : e.lower;
  if (e.confidence !== undefined && bound !== undefined) {
    parts.push(
      `${formatNumber(e.confidence * 100)} % bound ${show(e, bound, units)} ${op} ${show(e, e.limit, units)}`,
    );
  } else {
    parts.push(`limit ${op} ${show(e, e.limit, units)}`);
  }
  if (e.sampleSize !== undefined) parts.push(`n = ${count(e.sampleSize)}`);
  const why =
    e.reason && (e.outcome === "inconclusive" || e.confidence === undefined) ? ` (${e.reason})` : "";
  return `${parts.join(", ")}: ${e.outcome}${why}`;
}

/** The evidence section, or "" when the status has none (experiments analysed before it existed). */
export function describeEvidence(exp: Experiment): string {
  const piece = exp.status?.analysis?.evidence;
  if (!piece) return "";
  const data: EvidenceData = piece.data ?? {};
  const rule =
    exp.spec.criteria?.strength === undefined
      ? "Iter8 v2's rule decides; shown at 95 %"
      : "criteria.strength decides";
  const lines = ["", `Evidence (${rule}):`];
  for (const [version, rows] of Object.entries(data)) {
    lines.push(`  ${version}:`);
    for (const e of rows) lines.push(`    ${evidenceLine(exp, e)}`);
  }
  for (const note of notes(piece.message)) lines.push(note);
  return `${lines.join("\n")}\n`;
}

/** Warnings and infos of the evidence piece's message ("Error: ...; Warning: ...; Info: ..."). */
function notes(message: string | undefined): string[] {
  if (!message) return [];
  const out: string[] = [];
  for (const part of message.split("; ")) {
    const m = /^(Error|Warning|Info): (.+)$/.exec(part);
    if (m) out.push(`${m[1]}: ${m[2]}`);
  }
  return out;
}
