// The per-iteration history kept in `status.history`: what every iteration saw (metric values per
// version, with confidence bounds when the decision evidence has them), what it decided (outcome of
// each objective, winner) and what it did to the traffic (weights asked for and read back, and why).
//
// Bound: an experiment object must stay well below the Kubernetes API server's ~1.5 MB limit, for any
// number of iterations. So the latest RECENT_FULL iterations are kept in full, older ones as a
// compact series (numbers only, no error texts), and once that series holds OLDER_MAX entries it is
// halved by keeping every second one (the stride doubles). The history therefore holds at most
// RECENT_FULL full records plus OLDER_MAX compact ones, whatever the length of the run: for two
// versions and four metrics the whole status stays under 90 KB, tested with 1,000 iterations in
// test/unit/engine/history.test.ts.

import { winnerName } from "../analytics/winner.ts";
import { parseQuantity } from "../api/quantity.ts";
import type {
  CompactIteration,
  ExperimentHistory,
  ExperimentStatus,
  IterationRecord,
  IterationValue,
  VersionWeight,
} from "../api/types.ts";

/** Iterations kept in full detail. */
export const RECENT_FULL = 20;
/** Compact entries kept before the series is downsampled (halved). */
export const OLDER_MAX = 400;
/** Longest error text kept per value (the full text of the latest one is in the analysis message). */
const ERROR_CHARS = 240;

type Outcome = "satisfied" | "violated" | "inconclusive";
const OUTCOME_LETTER: Record<Outcome, string> = { satisfied: "s", violated: "v", inconclusive: "i" };
const LETTER_OUTCOME: Record<string, Outcome> = { s: "satisfied", v: "violated", i: "inconclusive" };

/** The part of the decision evidence (status.analysis.evidence) the history copies. */
interface EvidenceLike {
  outcome?: Outcome;
  lower?: number;
  upper?: number;
}

/**
 * Appends the iteration the status now describes to `status.history`, keeping the bound.
 * `iteration` is completedIterations after it (for a rollback, the iteration that ended the run);
 * `errors` are the metric read errors as readAllMetrics words them; `rollback` names the objective
 * and version that triggered a rollback.
 */
export function appendIteration(
  status: ExperimentStatus,
  iteration: number,
  time: string,
  versions: ReadonlyArray<{ name: string }>,
  errors: string[],
  rollback?: { objective?: string; version?: string },
): void {
  const names = versions.map((v) => v.name);
  const record = iterationRecord(status, iteration, time, names, errors);
  const history: ExperimentHistory = status.history ?? { versions: names, metrics: [], recent: [] };
  for (const m of Object.keys(record.values)) if (!history.metrics.includes(m)) history.metrics.push(m);
  const previous = history.recent.at(-1);
  const reason = rollback
    ? `rollback: objective ${rollback.objective} not satisfied by ${rollback.version}; weights left at ${splitText(record.observed)}`
    : weightsReason(status, previous?.observed, record.observed);
  if (reason !== undefined) record.reason = reason;
  history.recent.push(record);
  while (history.recent.length > RECENT_FULL) {
    const old = history.recent.shift()!;
    const stride = history.stride ?? 1;
    history.older ??= [];
    // Once downsampled, keep only every stride-th iteration (plus the first).
    const last = history.older.at(-1);
    if (stride === 1 || !last || old.iteration - last.i >= stride) history.older.push(compact(old, history));
    if (history.older.length > OLDER_MAX) {
      history.older = history.older.filter((_, i) => i % 2 === 0);
      history.stride = stride * 2;
    }
  }
  status.history = history;
}

/** Every recorded iteration, oldest first: compact entries expanded (without errors or reasons). */
export function historyPoints(status: ExperimentStatus | undefined): IterationRecord[] {
  const h = status?.history;
  if (!h) return [];
  return [...(h.older ?? []).map((c) => expand(c, h)), ...h.recent];
}

function iterationRecord(
  status: ExperimentStatus,
  iteration: number,
  time: string,
  versions: string[],
  readErrors: string[],
): IterationRecord {
  const analysis = status.analysis;
  const errors = errorsByCell(readErrors);
  const values: IterationRecord["values"] = {};
  for (const [metric, agg] of Object.entries(analysis?.aggregatedMetrics?.data ?? {})) {
    const row: Record<string, IterationValue> = {};
    for (const version of versions) {
      const cell = agg.data[version];
      const v: IterationValue = {};
      const value = numberOf(cell?.value);
      if (value !== undefined) v.value = value;
      const size = numberOf(cell?.sampleSize);
      if (size !== undefined) v.sampleSize = size;
      const error = errors.get(`${metric}|${version}`);
      if (error !== undefined && value === undefined) v.error = error.slice(0, ERROR_CHARS);
      row[version] = v;
    }
    values[metric] = row;
  }
  const record: IterationRecord = { iteration, time, values };
  const wanted = analysis?.weights?.data;
  if (wanted && wanted.length > 0) record.weights = structuredClone(wanted);
  if (status.currentWeightDistribution) record.observed = structuredClone(status.currentWeightDistribution);
  const outcomes = outcomesOf(status, versions, values);
  if (outcomes) record.outcomes = outcomes;
  const winner = winnerName(analysis?.winnerAssessment?.data);
  if (winner) record.winner = winner;
  return record;
}

/** From the decision evidence when present (copying its bounds into `values`), else the booleans. */
function outcomesOf(
  status: ExperimentStatus,
  versions: string[],
  values: IterationRecord["values"],
): IterationRecord["outcomes"] | undefined {
  const objectives = statusObjectives(status);
  const evidence = (status.analysis as { evidence?: { data?: Record<string, EvidenceLike[]> } } | undefined)
    ?.evidence?.data;
  const assessments = status.analysis?.versionAssessments?.data;
  if (!evidence && !assessments) return undefined;
  const out: Record<string, Outcome[]> = {};
  for (const version of versions) {
    const list = evidence?.[version];
    if (list) {
      out[version] = list.map((e, i) => {
        const metric = objectives[i];
        const cell = metric ? values[metric]?.[version] : undefined;
        if (cell && typeof e.lower === "number") cell.lower = e.lower;
        if (cell && typeof e.upper === "number") cell.upper = e.upper;
        return e.outcome ?? "inconclusive";
      });
    } else if (assessments?.[version]) {
      out[version] = assessments[version].map((ok) => (ok ? "satisfied" : "violated"));
    }
  }
  return out;
}

/** The metric key of each objective, in order, from the evidence pieces themselves when present. */
function statusObjectives(status: ExperimentStatus): Array<string | undefined> {
  const evidence = (status.analysis as { evidence?: { data?: Record<string, Array<{ metric?: string }>> } })
    ?.evidence?.data;
  const first = evidence ? Object.values(evidence)[0] : undefined;
  return (first ?? []).map((e) => e.metric);
}

const READ_ERROR = /^Error from metrics backend for metric: (.+?) and version: (.+?): (.*)$/s;

/** `metric|version` -> reason, from the messages readAllMetrics writes. */
function errorsByCell(errors: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of errors) {
    const m = READ_ERROR.exec(e);
    if (m) out.set(`${m[1]}|${m[2]}`, m[3]!);
  }
  return out;
}

function numberOf(q: unknown): number | undefined {
  if (typeof q === "number") return Number.isFinite(q) ? q : undefined;
  if (typeof q !== "string") return undefined;
  try {
    return parseQuantity(q);
  } catch {
    return undefined;
  }
}

export function splitText(weights: readonly VersionWeight[] | undefined): string {
  return (weights ?? []).map((w) => `${w.name}=${w.value}`).join(" ");
}

function weightsReason(
  status: ExperimentStatus,
  before: VersionWeight[] | undefined,
  after: VersionWeight[] | undefined,
): string | undefined {
  if (!after || after.length === 0) return undefined;
  const winner = status.analysis?.winnerAssessment?.data;
  const best = winner?.bestVersions ?? [];
  const why = winner?.winnerFound
    ? `winner ${winner.winner}`
    : best.length > 0
      ? `best so far: ${best.join(", ")}`
      : "no version satisfies all objectives yet";
  if (!before) return `weights ${splitText(after)} (${why})`;
  if (splitText(before) === splitText(after)) return `weights unchanged at ${splitText(after)} (${why})`;
  return `weights ${splitText(before)} -> ${splitText(after)} (${why})`;
}

function compact(r: IterationRecord, h: ExperimentHistory): CompactIteration {
  const c: CompactIteration = { i: r.iteration, t: r.time };
  if (r.observed) c.w = h.versions.map((v) => r.observed!.find((w) => w.name === v)?.value ?? 0);
  const v = h.metrics.map((m) => h.versions.map((ver) => r.values[m]?.[ver]?.value ?? null));
  if (v.length > 0) c.v = v;
  if (r.outcomes)
    c.o = h.versions.map((ver) => (r.outcomes![ver] ?? []).map((o) => OUTCOME_LETTER[o]).join(""));
  if (r.winner) c.winner = r.winner;
  return c;
}

function expand(c: CompactIteration, h: ExperimentHistory): IterationRecord {
  const values: IterationRecord["values"] = {};
  h.metrics.forEach((m, mi) => {
    const row: Record<string, IterationValue> = {};
    h.versions.forEach((ver, vi) => {
      const value = c.v?.[mi]?.[vi];
      row[ver] = typeof value === "number" ? { value } : {};
    });
    values[m] = row;
  });
  const r: IterationRecord = { iteration: c.i, time: c.t, values };
  if (c.w) r.observed = h.versions.map((name, i) => ({ name, value: c.w![i] ?? 0 }));
  if (c.o) {
    const outcomes: Record<string, Outcome[]> = {};
    h.versions.forEach((ver, i) => {
      outcomes[ver] = [...(c.o![i] ?? "")].map((l) => LETTER_OUTCOME[l] ?? "inconclusive");
    });
    r.outcomes = outcomes;
  }
  if (c.winner) r.winner = c.winner;
  return r;
}
