// The per-iteration history kept in `status.history`: what every iteration saw (metric values per
// version, with sample sizes and confidence bounds when the decision evidence has them), what it
// decided (outcome of each objective, winner) and what it did to the traffic (weights asked for and
// read back, and why).
//
// Stored as arrays in the order of `history.versions` and `history.metrics`, not as objects keyed by
// metric and version, and each entry as one JSON text: the API server decodes, prunes, validates and
// re-encodes the whole status on every write, at a cost that follows the number of JSON nodes (a
// string is one), and a thousand experiments write theirs every few seconds. Readers never see that
// form: `historyPoints` expands it into one IterationRecord per iteration (and still reads the
// unencoded entries and full records earlier releases wrote).
//
// Bound: an experiment object must stay well below the Kubernetes API server's ~1.5 MB limit, for any
// number of iterations. So the latest RECENT_FULL iterations are kept in detail, older ones as a
// compact series (values, weights, outcomes and winner; no sample sizes, bounds, error texts or
// reasons), and once that series holds OLDER_MAX entries it is halved by keeping every second one
// (the stride doubles). The history therefore holds at most RECENT_FULL detailed records plus
// OLDER_MAX compact ones, whatever the length of the run, tested with 1,000 iterations in
// test/unit/engine/history.test.ts.

import { winnerName } from "../analytics/winner.ts";
import { parseQuantity } from "../api/quantity.ts";
import type {
  CompactIteration,
  DetailedIteration,
  ExperimentHistory,
  ExperimentStatus,
  IterationRecord,
  IterationValue,
  VersionWeight,
} from "../api/types.ts";

/** Iterations kept in detail. */
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
  const before = previous === undefined ? undefined : recordOf(previous, history)?.observed;
  const reason = rollback
    ? `rollback: objective ${rollback.objective} not satisfied by ${rollback.version}; weights left at ${splitText(record.observed)}`
    : weightsReason(status, before, record.observed);
  if (reason !== undefined) record.reason = reason;
  history.recent.push(JSON.stringify(detailed(record, history)));
  while (history.recent.length > RECENT_FULL) {
    const old = recordOf(history.recent.shift()!, history);
    if (!old) continue;
    const stride = history.stride ?? 1;
    history.older ??= [];
    // Once downsampled, keep only every stride-th iteration (plus the first).
    const last = history.older.at(-1);
    const lastIteration = last === undefined ? undefined : decoded(last)?.i;
    if (stride === 1 || lastIteration === undefined || old.iteration - lastIteration >= stride)
      history.older.push(JSON.stringify(compact(old, history)));
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
  const older = (h.older ?? []).map((entry) => {
    const c = decoded(entry);
    return c && expand(c, h);
  });
  const recent = h.recent.map((entry) => recordOf(entry, h));
  return [...older, ...recent].filter((r) => r !== undefined);
}

/**
 * A recent entry as a record: expanded, or as it is when an earlier release wrote it in full;
 * undefined when it cannot be read (an entry edited by hand into something else).
 */
export function recordOf(
  entry: ExperimentHistory["recent"][number],
  h: ExperimentHistory,
): IterationRecord | undefined {
  const e = decoded(entry);
  if (e === undefined) return undefined;
  return "iteration" in e ? e : expand(e, h, true);
}

/** A stored entry: its JSON text parsed (this release), or the object an earlier release wrote. */
function decoded<T extends CompactIteration | IterationRecord>(entry: string | T): T | undefined {
  let e: unknown = entry;
  if (typeof entry === "string") {
    try {
      e = JSON.parse(entry);
    } catch {
      return undefined;
    }
  }
  if (e === null || typeof e !== "object") return undefined;
  const { i, iteration } = e as { i?: unknown; iteration?: unknown };
  return typeof i === "number" || typeof iteration === "number" ? (e as T) : undefined;
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
  if (r.observed) c.w = byVersion(r.observed, h);
  const v = grid(r, h, (cell) => cell.value);
  if (v.length > 0) c.v = v;
  if (r.outcomes)
    c.o = h.versions.map((ver) => (r.outcomes![ver] ?? []).map((o) => OUTCOME_LETTER[o]).join(""));
  if (r.winner) c.winner = r.winner;
  return c;
}

/** The stored form of a recent record: compact plus sample sizes, bounds, errors, asked weights, reason. */
export function detailed(r: IterationRecord, h: ExperimentHistory): DetailedIteration {
  const d: DetailedIteration = compact(r, h);
  if (!r.weights && r.observed) d.a = [];
  else if (r.weights && splitText(r.weights) !== splitText(r.observed)) d.a = byVersion(r.weights, h);
  const n = anyCell(grid(r, h, (c) => c.sampleSize));
  if (n) d.n = n;
  const lo = anyCell(grid(r, h, (c) => c.lower));
  if (lo) d.lo = lo;
  const hi = anyCell(grid(r, h, (c) => c.upper));
  if (hi) d.hi = hi;
  const e = anyCell(grid(r, h, (c) => c.error));
  if (e) d.e = e;
  if (r.reason !== undefined) d.r = r.reason;
  return d;
}

/** The grid, when any of its cells holds something (an all-null grid is left out). */
function anyCell<T>(g: Array<Array<T | null>>): Array<Array<T | null>> | undefined {
  return g.some((row) => row.some((x) => x !== null)) ? g : undefined;
}

function byVersion(weights: readonly VersionWeight[], h: ExperimentHistory): number[] {
  return h.versions.map((v) => weights.find((w) => w.name === v)?.value ?? 0);
}

/** One field of every cell, [metric][version], null where absent. */
function grid<T>(r: IterationRecord, h: ExperimentHistory, field: (cell: IterationValue) => T | undefined) {
  return h.metrics.map((m) =>
    h.versions.map((ver) => {
      const cell = r.values[m]?.[ver];
      return cell === undefined ? null : (field(cell) ?? null);
    }),
  );
}

/** A stored entry as a record; `detail` for recent entries, whose absent `a` means asked = observed. */
function expand(
  c: CompactIteration | DetailedIteration,
  h: ExperimentHistory,
  detail = false,
): IterationRecord {
  const d = c as DetailedIteration;
  const values: IterationRecord["values"] = {};
  h.metrics.forEach((m, mi) => {
    const row: Record<string, IterationValue> = {};
    h.versions.forEach((ver, vi) => {
      const cell: IterationValue = {};
      const at = <T>(g: Array<Array<T | null>> | undefined) => g?.[mi]?.[vi] ?? undefined;
      const value = at(c.v);
      if (typeof value === "number") cell.value = value;
      const n = at(d.n);
      if (typeof n === "number") cell.sampleSize = n;
      const error = at(d.e);
      if (typeof error === "string") cell.error = error;
      const lower = at(d.lo);
      if (typeof lower === "number") cell.lower = lower;
      const upper = at(d.hi);
      if (typeof upper === "number") cell.upper = upper;
      row[ver] = cell;
    });
    values[m] = row;
  });
  const r: IterationRecord = { iteration: c.i, time: c.t, values };
  const split = (xs: number[]) => h.versions.map((name, i) => ({ name, value: xs[i] ?? 0 }));
  if (c.w && d.a === undefined && detail) r.weights = split(c.w);
  else if (d.a && d.a.length > 0) r.weights = split(d.a);
  if (c.w) r.observed = split(c.w);
  if (c.o) {
    const outcomes: Record<string, Outcome[]> = {};
    h.versions.forEach((ver, i) => {
      outcomes[ver] = [...(c.o![i] ?? "")].map((l) => LETTER_OUTCOME[l] ?? "inconclusive");
    });
    r.outcomes = outcomes;
  }
  if (c.winner) r.winner = c.winner;
  if (d.r !== undefined) r.reason = d.r;
  return r;
}
