// Weight recommendation: mix 10 % exploration with 90 %
// exploitation of the best version(s), cap every candidate's increase and its absolute weight,
// give the excess to the baseline, and round to integers that sum to exactly 100.
import type { Experiment, VersionWeight, WinnerAssessmentData } from "../api/types.ts";
import { formatMessages, newMessageLog } from "./messages.ts";
import { weightLimitsOf } from "./strategy.ts";
import { versionNames } from "./versions.ts";

/** Share of traffic spread evenly over all versions (`exploration_traffic_percentage`). */
export const EXPLORATION_PERCENT = 10;

export const CONFORMANCE_WEIGHTS_MESSAGE = "weight computation is not applicable to a conformance experiment";

/**
 * The unconstrained mix `M` in percent, spec order. The best versions share the exploitation part;
 * with none (or none that is a version of this experiment) the baseline is exploited.
 */
export function mixWeights(versions: string[], bestVersions: readonly string[] | undefined): number[] {
  const n = versions.length;
  const best = new Set((bestVersions ?? []).filter((b) => versions.includes(b)));
  const exploited = (v: string, i: number) => (best.size > 0 ? best.has(v) : i === 0);
  const k = Math.max(1, best.size);
  // Percent arithmetic kept as `10/n + 90/k` so the worked examples (95, 5, ...) come out exact.
  return versions.map(
    (v, i) => EXPLORATION_PERCENT / n + (exploited(v, i) ? (100 - EXPLORATION_PERCENT) / k : 0),
  );
}

/**
 * Previous weights aligned to `versions` by name (Iter8 v2 aligned them by position, which misplaces an inferred baseline listed last). No distribution at all means the
 * baseline had everything; a candidate the distribution does not list is taken to have had 0.
 */
export function alignWeights(versions: string[], current: VersionWeight[] | undefined): number[] {
  if (!current || current.length === 0) return versions.map((_, i) => (i === 0 ? 100 : 0));
  const byName = new Map<string, number>();
  for (const w of current) if (!byName.has(w.name)) byName.set(w.name, w.value);
  return versions.map((v) => clampPercent(byName.get(v) ?? 0));
}

function clampPercent(x: number): number {
  if (!Number.isFinite(x)) return 0;
  return Math.min(100, Math.max(0, x));
}

/** Resolution of the rounding arithmetic: percentages are handled as integers of 1e-6 %. */
const SCALE = 1_000_000;

/**
 * Integer weights summing to exactly 100 by the largest-remainder method; equal remainders go to
 * the earlier entry. Inputs are scaled to sum to 100 first (all-zero inputs count as equal).
 * Deterministic: the same input always gives the same output.
 */
export function roundToHundred(values: readonly number[]): number[] {
  if (values.length === 0) return [];
  const clean = values.map((x) => (Number.isFinite(x) && x > 0 ? x : 0));
  const sum = clean.reduce((a, b) => a + b, 0);
  const shares = sum > 0 ? clean.map((x) => (x * 100) / sum) : clean.map(() => 100 / clean.length);
  // Fixed-point units, with the first entry absorbing float noise so the units sum exactly to 100 %.
  const units = shares.map((x) => Math.round(x * SCALE));
  units[0] = 100 * SCALE - units.slice(1).reduce((a, b) => a + b, 0);
  const floors = units.map((u) => Math.floor(u / SCALE));
  let left = 100 - floors.reduce((a, b) => a + b, 0);
  const order = units
    .map((u, i) => ({ i, rem: u - floors[i]! * SCALE }))
    .sort((a, b) => b.rem - a.rem || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    floors[i]! += 1;
    left -= 1;
  }
  return floors;
}

export function recommendWeights(
  exp: Experiment,
  winner: WinnerAssessmentData,
  current: VersionWeight[] | undefined,
): { data: VersionWeight[]; message: string } {
  if (exp.spec.strategy.testingPattern === "Conformance")
    return { data: [], message: CONFORMANCE_WEIGHTS_MESSAGE };
  const log = newMessageLog();
  const versions = versionNames(exp);
  if (versions.length === 0) {
    log.errors.push("versionInfo is not set; no weights can be recommended");
    return { data: [], message: formatMessages(log) };
  }
  const mix = mixWeights(versions, winner.bestVersions);
  const old = alignWeights(versions, current);
  const { maxCandidateWeight, maxCandidateWeightIncrement } = weightLimitsOf(exp);
  // Caps are whole percentages, so rounding a capped value up can never pass its cap.
  const maxWeight = Math.floor(clampPercent(maxCandidateWeight));
  const increment = Math.max(0, maxCandidateWeightIncrement);
  const constrained = mix.map((m, j) =>
    j === 0 ? 0 : Math.min(m, Math.floor(old[j]! + increment), maxWeight),
  );
  // Everything the candidates may not take goes to the baseline; decreases are not limited.
  constrained[0] = 100 - constrained.slice(1).reduce((a, b) => a + b, 0);
  const rounded = roundToHundred(constrained);
  log.infos.push("all ok");
  return { data: versions.map((name, i) => ({ name, value: rounded[i]! })), message: formatMessages(log) };
}
