// The decision of one iteration, from the evidence (src/analytics/evidence.ts).
//
// Without `spec.criteria.strength`, Iter8 v2's rule decides, unchanged: the evidence is computed
// with fixed-sample 95 % bounds and only shown, with a warning when a rollback or a promotion rests
// on data that do not support it at 95 %.
//
// With `strength: {confidence: c}`, the bounds are confidence sequences (valid at level c however
// often the engine looks) and:
// - the version under test (the candidate; the baseline in Conformance; every candidate in A/B/n)
//   with a confidently violated objective goes back to weight 0, and the experiment rolls back if
//   that objective has `rollback_on_failure`; the baseline's own data never roll back;
// - a version wins only if every objective is satisfied (A/B and A/B/n: and no other version is
//   still inconclusive, and, where the reward has a known shape, its posterior probability of
//   being best is >= 0.99);
// - an inconclusive candidate keeps ramping within the weight caps;
// - `earlyStop` ends the experiment as soon as the verdict is certain; on the last planned iteration
//   an undecided verdict adds an iteration while `maxExtraIterations` allows, and otherwise keeps the
//   baseline and says why and what more traffic would decide.
import {
  computeEvidence,
  count,
  type EvidenceResult,
  formatNumber,
  metricShape,
} from "../analytics/evidence.ts";
import {
  effectiveRollbackOnFailure,
  formatMessages,
  PROVENANCE,
  type RollbackVerdict,
  recommendWeights,
  rollbackNeeded,
  versionNames,
} from "../analytics/index.ts";
import { newMessageLog } from "../analytics/messages.ts";
import {
  MIN_POSTERIOR_PROBABILITY_FOR_WINNER,
  meanPosterior,
  type Posterior,
  probabilityBest,
  proportionPosterior,
} from "../analytics/stats/index.ts";
import type { SampleDetails } from "../analytics/stats/sample.ts";
import { type EffectiveStrength, effectiveStrength } from "../api/strength.ts";
import type {
  AggregatedMetricsData,
  Analysis,
  EvidenceData,
  Experiment,
  ExperimentSpec,
  ExperimentStatus,
  ObjectiveOutcome,
  VersionWeight,
  WinnerAssessmentData,
} from "../api/types.ts";

/** Confidence of the evidence shown without `strength`. */
export const DISPLAY_CONFIDENCE = 0.95;

/** Iterations planned: the spec's duration plus those added while inconclusive. */
export function plannedIterations(spec: ExperimentSpec, status: ExperimentStatus | undefined): number {
  const d = spec.duration ?? {};
  return (d.iterationsPerLoop ?? 15) * (d.maxLoops ?? 1) + (status?.extraIterations ?? 0);
}

export interface DecisionInput {
  /** The experiment with resolved criteria and the status being drafted. */
  exp: Experiment;
  analysis: Analysis;
  metrics: AggregatedMetricsData;
  details: SampleDetails;
  /** The iteration being decided (1-based) and the iterations planned so far. */
  iteration: number;
  planned: number;
  now: Date;
}

export interface Decision {
  analysis: Analysis;
  /** With strength: the rollback decision; without, undefined (Iter8 v2's check applies). */
  rollback?: RollbackVerdict;
  /** With strength and earlyStop: end after this iteration. */
  stop: boolean;
  /** New value of status.extraIterations when this iteration extended the experiment. */
  extraIterations?: number;
  /** One sentence for logs and describe: what was decided and why. */
  summary?: string | undefined;
}

export function decide(input: DecisionInput): Decision {
  const strength = effectiveStrength(input.exp.spec.criteria?.strength);
  return strength === undefined ? showOnly(input) : decideWithStrength(input, strength);
}

function piece<T>(now: Date, data: T, message: string) {
  return { provenance: PROVENANCE, timestamp: now.toISOString(), message, data };
}

function outcomeOf(evidence: EvidenceData, version: string | undefined): ObjectiveOutcome {
  const row = version === undefined ? undefined : evidence[version];
  if (!row) return "inconclusive";
  if (row.some((e) => e.outcome === "violated")) return "violated";
  return row.every((e) => e.outcome === "satisfied") ? "satisfied" : "inconclusive";
}

/** Iter8 v2's rule decides; evidence at 95 % is shown, with warnings where it does not support it. */
function showOnly(input: DecisionInput): Decision {
  const { exp, analysis, metrics, details, now } = input;
  const ev = computeEvidence(exp, metrics, details, { confidence: DISPLAY_CONFIDENCE, method: "fixed" });
  const log = newMessageLog();
  const verdict = rollbackNeeded(exp, analysis.versionAssessments?.data ?? {}, metrics);
  if (verdict.rollback && verdict.version !== undefined) {
    const row = ev.data[verdict.version] ?? [];
    const i = (exp.spec.criteria?.objectives ?? []).findIndex((o) => o.metric === verdict.objective);
    if (row[i] !== undefined && row[i]!.outcome !== "violated") {
      log.warnings.push(
        `rollback on ${verdict.objective} by ${verdict.version} is not supported at 95 %: ${row[i]!.outcome}`,
      );
    }
  }
  const winner = analysis.winnerAssessment?.data;
  if (!verdict.rollback && input.iteration >= input.planned && winner?.winnerFound && winner.winner) {
    const weak = (ev.data[winner.winner] ?? []).filter((e) => e.outcome !== "satisfied");
    if (weak.length > 0) {
      log.warnings.push(
        `promotion of ${winner.winner} is not supported at 95 %: ${weak.map((e) => `${e.metric} ${e.outcome}`).join(", ")}`,
      );
    }
  }
  return { analysis: { ...analysis, evidence: piece(now, ev.data, formatMessages(log)) }, stop: false };
}

/** The versions whose data decide the experiment. */
function underTest(exp: Experiment): string[] {
  const versions = versionNames(exp);
  switch (exp.spec.strategy.testingPattern) {
    case "Conformance":
      return versions.slice(0, 1);
    case "Canary":
      return versions.slice(1, 2);
    default:
      return versions.slice(1);
  }
}

function decideWithStrength(input: DecisionInput, strength: EffectiveStrength): Decision {
  const { exp, analysis, metrics, details } = input;
  const ev = computeEvidence(exp, metrics, details, {
    confidence: strength.confidence,
    method: "sequential",
    minSamples: strength.minSamples,
  });
  const log = newMessageLog();
  const versions = versionNames(exp);
  const baseline = versions[0];
  const tested = underTest(exp);
  const outcomes = new Map(versions.map((v) => [v, outcomeOf(ev.data, v)]));

  // Rollback: a confident violation, by a version under test, of a rollback_on_failure objective.
  for (const [i, objective] of (exp.spec.criteria?.objectives ?? []).entries()) {
    if (!effectiveRollbackOnFailure(exp, objective)) continue;
    const v = tested.find((t) => ev.data[t]?.[i]?.outcome === "violated");
    if (v !== undefined) {
      const summary = `${v} violates ${objective.metric} at ${pct(strength.confidence)}: rollback`;
      log.infos.push(summary);
      const out = withStrength(input, analysis, ev, noWinner(), baselineOnly(exp), log);
      return {
        analysis: out,
        rollback: { rollback: true, objective: objective.metric, version: v },
        stop: true,
        summary,
      };
    }
  }

  const winner = winnerWithStrength(exp, outcomes, metrics, details, log);
  const weights = weightsWithStrength(exp, winner, outcomes, tested);
  const decided =
    winner.winnerFound &&
    (tested.includes(winner.winner!) || exp.spec.strategy.testingPattern === "Conformance")
      ? "pass"
      : tested.every((t) => outcomes.get(t) === "violated")
        ? "fail"
        : "open";
  let stop = strength.earlyStop && decided !== "open";
  let extraIterations: number | undefined;
  let summary: string | undefined;
  if (decided === "pass")
    summary = `${winner.winner} satisfies every objective at ${pct(strength.confidence)}`;
  if (decided === "fail")
    summary = `${tested.join(", ")} violate${tested.length === 1 ? "s" : ""} an objective at ${pct(strength.confidence)}`;
  if (decided === "open" && input.iteration >= input.planned) {
    const extra = (exp.status?.extraIterations ?? 0) + 1;
    if (extra <= strength.maxExtraIterations) {
      extraIterations = extra;
      summary = `inconclusive at ${pct(strength.confidence)}: iteration added (${extra} of ${strength.maxExtraIterations})`;
    } else {
      summary = `inconclusive at ${pct(strength.confidence)}: keeping ${baseline}; ${whatWouldDecide(input, ev, tested)}`;
      stop = false;
    }
  }
  if (summary) log.infos.push(summary);
  const out = withStrength(input, analysis, ev, winner, weights, log);
  return {
    analysis: out,
    rollback: { rollback: false },
    stop,
    summary,
    ...(extraIterations === undefined ? {} : { extraIterations }),
  };
}

function withStrength(
  input: DecisionInput,
  analysis: Analysis,
  ev: EvidenceResult,
  winner: WinnerAssessmentData,
  weights: VersionWeight[] | undefined,
  log: ReturnType<typeof newMessageLog>,
): Analysis {
  const { now } = input;
  const out: Analysis = { ...analysis, evidence: piece(now, ev.data, formatMessages(log)) };
  out.winnerAssessment = piece(now, winner, formatMessages({ errors: [], warnings: [], infos: log.infos }));
  if (weights !== undefined && analysis.weights !== undefined) {
    out.weights = { ...analysis.weights, timestamp: now.toISOString(), data: weights };
  }
  return out;
}

function noWinner(): WinnerAssessmentData {
  return { winnerFound: false, bestVersions: [] };
}

function won(v: string): WinnerAssessmentData {
  return { winnerFound: true, winner: v, bestVersions: [v] };
}

function winnerWithStrength(
  exp: Experiment,
  outcomes: Map<string, ObjectiveOutcome>,
  metrics: AggregatedMetricsData,
  details: SampleDetails,
  log: ReturnType<typeof newMessageLog>,
): WinnerAssessmentData {
  const versions = versionNames(exp);
  const satisfied = versions.filter((v) => outcomes.get(v) === "satisfied");
  switch (exp.spec.strategy.testingPattern) {
    case "Conformance":
      return satisfied.includes(versions[0]!) ? won(versions[0]!) : noWinner();
    case "Canary":
      if (versions[1] !== undefined && satisfied.includes(versions[1])) return won(versions[1]);
      return satisfied.includes(versions[0]!) ? won(versions[0]!) : noWinner();
    default: {
      // A version still inconclusive may yet satisfy every objective and be the best: picking among
      // the others now would end an A/B/n early on whichever version collected its evidence first.
      const open = versions.filter((v) => outcomes.get(v) === "inconclusive");
      if (open.length > 0 && satisfied.length > 0) {
        log.infos.push(`no winner while ${open.join(", ")} ${open.length === 1 ? "is" : "are"} inconclusive`);
        return noWinner();
      }
      return rewardWinner(exp, satisfied, metrics, details, log);
    }
  }
}

/** A/B and A/B/n: the satisfied version most probably best by the reward, if that is >= 0.99. */
function rewardWinner(
  exp: Experiment,
  satisfied: string[],
  metrics: AggregatedMetricsData,
  details: SampleDetails,
  log: ReturnType<typeof newMessageLog>,
): WinnerAssessmentData {
  const reward = exp.spec.criteria?.rewards?.[0];
  if (!reward || satisfied.length === 0) return noWinner();
  const metricObj = exp.status?.metrics?.find((m) => m.name === reward.metric)?.metricObj;
  const shape = metricShape(metricObj).shape;
  const posteriors: Posterior[] = [];
  for (const v of satisfied) {
    const cell = metrics[reward.metric]?.data?.[v];
    const value = Number(cell?.value);
    const n = Number(cell?.sampleSize ?? details[reward.metric]?.[v]?.n);
    const d = details[reward.metric]?.[v];
    if (!Number.isFinite(value) || !Number.isFinite(n) || n <= 0) return noWinner();
    if (shape === "ratio") posteriors.push(proportionPosterior(Math.round(value * n), Math.round(n)));
    else if (shape === "mean" && d?.sd !== undefined) posteriors.push(meanPosterior(value, d.sd, n));
    else {
      log.infos.push(
        `reward ${reward.metric} has no known shape: the best value among satisfied versions wins`,
      );
      const higher = reward.preferredDirection !== "Low";
      const values = satisfied.map((s) => Number(metrics[reward.metric]?.data?.[s]?.value));
      const best = higher ? Math.max(...values) : Math.min(...values);
      const top = satisfied.filter((_, i) => values[i] === best);
      return top.length === 1 ? won(top[0]!) : { winnerFound: false, bestVersions: top };
    }
  }
  const probs = probabilityBest(posteriors, reward.preferredDirection !== "Low");
  const i = probs.indexOf(Math.max(...probs));
  log.infos.push(
    `probability of being best: ${satisfied.map((v, j) => `${v} ${formatNumber(probs[j]!)}`).join(", ")}`,
  );
  return probs[i]! >= MIN_POSTERIOR_PROBABILITY_FOR_WINNER
    ? won(satisfied[i]!)
    : { winnerFound: false, bestVersions: [satisfied[i]!] };
}

function baselineOnly(exp: Experiment): VersionWeight[] {
  return versionNames(exp).map((name, i) => ({ name, value: i === 0 ? 100 : 0 }));
}

/**
 * Weights: the winner is exploited; an inconclusive version under test keeps ramping within the
 * caps; a violated one gets 0 (its share goes to the baseline).
 */
function weightsWithStrength(
  exp: Experiment,
  winner: WinnerAssessmentData,
  outcomes: Map<string, ObjectiveOutcome>,
  tested: string[],
): VersionWeight[] | undefined {
  if (exp.spec.strategy.testingPattern === "Conformance") return undefined;
  const ramping = tested.filter((v) => outcomes.get(v) !== "violated");
  const best =
    winner.winnerFound && winner.winner !== undefined && tested.includes(winner.winner)
      ? [winner.winner]
      : ramping;
  const recommended = recommendWeights(
    exp,
    { winnerFound: false, bestVersions: best },
    exp.status?.currentWeightDistribution,
  ).data;
  let freed = 0;
  const out = recommended.map((w) => {
    if (tested.includes(w.name) && outcomes.get(w.name) === "violated") {
      freed += w.value;
      return { ...w, value: 0 };
    }
    return w;
  });
  if (out.length > 0) out[0] = { ...out[0]!, value: out[0]!.value + freed };
  return out;
}

function pct(c: number): string {
  return `${formatNumber(c * 100)} %`;
}

/** "1,204 more requests to candidate (about 10 more iterations at 12 req/s)". */
function whatWouldDecide(input: DecisionInput, ev: EvidenceResult, tested: string[]): string {
  const parts: string[] = [];
  const started = Date.parse(input.exp.status?.startTime ?? "");
  const elapsed = (input.now.getTime() - started) / 1000;
  const interval = input.exp.spec.duration?.intervalSeconds ?? 20;
  for (const v of tested) {
    const row = ev.data[v] ?? [];
    const needs = (ev.needed[v] ?? []).filter(
      (x, i) => row[i]?.outcome === "inconclusive" && x !== undefined,
    );
    const reasons = row
      .filter((e) => e.outcome === "inconclusive")
      .map((e) => `${e.metric}: ${e.reason ?? "cannot tell"}`);
    if (reasons.length === 0) continue;
    let text = `${v} ${reasons.join("; ")}`;
    if (needs.length === rowInconclusive(row)) {
      const more = Math.max(...(needs as number[]));
      const n = Math.max(...row.map((e) => e.sampleSize ?? 0));
      const rate = elapsed > 0 ? n / elapsed : 0;
      text += `; about ${count(more)} more requests`;
      if (rate > 0) {
        const iterations = Math.ceil(more / rate / interval);
        text += ` (about ${count(iterations)} more iteration${iterations === 1 ? "" : "s"} at ${formatNumber(rate)} req/s)`;
      }
    }
    parts.push(text);
  }
  return parts.join("; ") || "no version under test has data";
}

function rowInconclusive(row: EvidenceData[string]): number {
  return row.filter((e) => e.outcome === "inconclusive").length;
}
