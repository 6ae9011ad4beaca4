// What a report shows, computed once from an experiment and rendered as HTML (`iter8 report`, the
// dashboard) or Markdown: the verdict, per-iteration series for the charts, the timeline and the
// describe text. Pure: no I/O, so the same model feeds a file, a pull-request comment and a live page.

import { deploymentPattern } from "../api/defaults.ts";
import { parseQuantity } from "../api/quantity.ts";
import { namespaceOf } from "../api/refs.ts";
import type { Experiment, IterationRecord, Objective } from "../api/types.ts";
import { historyPoints } from "../engine/history.ts";
import { engineStatus } from "../engine/status.ts";
import { verdictOf } from "./verdict.ts";

/** One line of a chart: a value per iteration (null where none was read). */
export interface SeriesLine {
  label: string;
  values: (number | null)[];
}

/** A confidence band around one version's line: lower and upper bound per iteration. */
export interface SeriesBand {
  label: string;
  lower: (number | null)[];
  upper: (number | null)[];
}

export interface Chart {
  id: string;
  title: string;
  /** Axis label of the values (units, or "%"). */
  unit: string;
  lines: SeriesLine[];
  bands: SeriesBand[];
  /** The objective's limit, drawn as a horizontal line. */
  limit?: { value: number; kind: "upper" | "lower" };
}

export interface TimelineEntry {
  time: string;
  what: string;
  detail?: string;
}

export interface ReportModel {
  name: string;
  namespace: string;
  testingPattern: string;
  deploymentPattern: string;
  stage: string;
  versions: string[];
  verdict: string;
  /** Iteration numbers: the x axis of every chart. */
  iterations: number[];
  weights: Chart;
  requests: Chart;
  objectives: Chart[];
  timeline: TimelineEntry[];
  /** The describe text (iter8ctl tables and the lines after them). */
  describe: string;
  /** When the model was made (RFC 3339), for "updated at" lines. */
  generatedAt: string;
}

export function reportModel(exp: Experiment, describe: string, now: Date): ReportModel {
  const spec = exp.spec;
  const versions = versionNames(exp);
  const points = pointsOf(exp, versions);
  return {
    name: exp.metadata.name,
    namespace: namespaceOf(exp),
    testingPattern: spec.strategy.testingPattern,
    deploymentPattern: deploymentPattern(spec),
    stage: exp.status?.stage ?? "Waiting",
    versions,
    verdict: verdictOf(exp),
    iterations: points.map((p) => p.iteration),
    weights: weightChart(points, versions),
    requests: requestChart(points, versions),
    objectives: (spec.criteria?.objectives ?? []).map((o, i) => objectiveChart(o, i, points, versions)),
    timeline: timelineOf(exp),
    describe,
    generatedAt: now.toISOString(),
  };
}

function versionNames(exp: Experiment): string[] {
  const info = exp.spec.versionInfo;
  if (!info) return (exp.status?.currentWeightDistribution ?? []).map((w) => w.name);
  return [info.baseline.name, ...(info.candidates ?? []).map((c) => c.name)];
}

/**
 * The recorded iterations, or for an experiment without history (written before it existed, or
 * not yet iterating) one point from the latest status, so every chart still shows where it stands.
 */
function pointsOf(exp: Experiment, versions: string[]): IterationRecord[] {
  const recorded = historyPoints(exp.status);
  if (recorded.length > 0) return recorded;
  const st = exp.status;
  const completed = st?.completedIterations ?? 0;
  if (completed === 0 || !st) return [];
  const values: IterationRecord["values"] = {};
  for (const [metric, agg] of Object.entries(st.analysis?.aggregatedMetrics?.data ?? {})) {
    values[metric] = {};
    for (const v of versions) {
      const d = agg.data[v];
      const value = numberOf(d?.value);
      const n = numberOf(d?.sampleSize);
      values[metric][v] = {
        ...(value !== null ? { value } : {}),
        ...(n !== null ? { sampleSize: n } : {}),
      };
    }
  }
  const point: IterationRecord = {
    iteration: completed,
    time: st.lastUpdateTime ?? st.initTime ?? "",
    values,
  };
  if (st.currentWeightDistribution) point.observed = st.currentWeightDistribution;
  return [point];
}

function numberOf(q: unknown): number | null {
  if (q === undefined || q === null) return null;
  try {
    const n = parseQuantity(q as string | number);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

function weightChart(points: IterationRecord[], versions: string[]): Chart {
  const lines = versions.map((v) => ({
    label: v,
    values: points.map((p) => (p.observed ?? p.weights)?.find((w) => w.name === v)?.value ?? null),
  }));
  return { id: "weights", title: "Traffic weight per version", unit: "%", lines, bands: [] };
}

/** Requests behind each version's values: the largest sample size any metric reports for it. */
function requestChart(points: IterationRecord[], versions: string[]): Chart {
  const lines = versions.map((v) => ({
    label: v,
    values: points.map((p) => {
      const sizes = Object.values(p.values)
        .map((byVersion) => byVersion[v]?.sampleSize)
        .filter((n): n is number => typeof n === "number");
      return sizes.length > 0 ? Math.max(...sizes) : null;
    }),
  }));
  return { id: "requests", title: "Requests observed per version", unit: "requests", lines, bands: [] };
}

function objectiveChart(
  objective: Objective,
  index: number,
  points: IterationRecord[],
  versions: string[],
): Chart {
  const metric = objective.metric;
  const at = (p: IterationRecord, v: string) => p.values[metric]?.[v];
  const lines = versions.map((v) => ({ label: v, values: points.map((p) => at(p, v)?.value ?? null) }));
  const bands = versions
    .map((v) => ({
      label: v,
      lower: points.map((p) => at(p, v)?.lower ?? null),
      upper: points.map((p) => at(p, v)?.upper ?? null),
    }))
    .filter((b) => b.lower.some((x) => x !== null) || b.upper.some((x) => x !== null));
  const chart: Chart = {
    id: `objective-${index}`,
    title: metric,
    unit: metric.split("/").pop() ?? metric,
    lines,
    bands,
  };
  const upper = numberOf(objective.upperLimit);
  const lower = numberOf(objective.lowerLimit);
  if (upper !== null) chart.limit = { value: upper, kind: "upper" };
  else if (lower !== null) chart.limit = { value: lower, kind: "lower" };
  return chart;
}

/** Stages, conditions and actions (with task outputs) in time order. */
function timelineOf(exp: Experiment): TimelineEntry[] {
  const st = engineStatus(exp);
  const out: TimelineEntry[] = [];
  if (st.initTime) out.push({ time: st.initTime, what: "Experiment created" });
  if (st.startTime) out.push({ time: st.startTime, what: "Running: iterations started" });
  for (const c of st.conditions ?? []) {
    if (!c.lastTransitionTime || (c.status !== "True" && !c.reason)) continue;
    const what = `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ""}`;
    out.push({ time: c.lastTransitionTime, what, ...(c.message ? { detail: c.message } : {}) });
  }
  for (const a of st.actions ?? []) {
    const title = `${a.kind} action ${a.state.toLowerCase()}${a.attempts > 1 ? ` (attempt ${a.attempts})` : ""}`;
    out.push({ time: a.startedAt, what: `${a.kind} action launched` });
    const tasks = (a.tasks ?? []).map((t) => {
      const state = t.skipped ? "skipped" : t.ok ? "ok" : `failed${t.error ? `: ${t.error}` : ""}`;
      return `${t.task}: ${state}${t.output ? `\n${t.output.trimEnd()}` : ""}`;
    });
    if (a.finishedAt) {
      const detail = [a.error, ...tasks].filter(Boolean).join("\n");
      out.push({ time: a.finishedAt, what: title, ...(detail ? { detail } : {}) });
    }
  }
  return out.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
}
