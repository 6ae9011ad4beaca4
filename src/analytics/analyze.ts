// One analytics pass: given the aggregated metric values of this
// iteration, assess versions, pick the winner and recommend weights, each piece stamped with its
// provenance and the injected time.
import type { AggregatedMetricsData, Analysis, AnalysisPiece, Experiment } from "../api/types.ts";
import { assessVersions } from "./assessments.ts";
import { formatMessages, newMessageLog } from "./messages.ts";
import { recommendWeights } from "./weights.ts";
import { assessWinner, type WinnerOptions } from "./winner.ts";

export const PROVENANCE = "iter8 analytics";

export interface AnalyzeOptions extends WinnerOptions {
  /** Message of the metric collection (e.g. backend errors), stored on `aggregatedMetrics`. */
  aggregatedMetricsMessage?: string;
}

export function analyze(
  exp: Experiment,
  metrics: AggregatedMetricsData,
  now: Date,
  opts: AnalyzeOptions = {},
): Analysis {
  const timestamp = now.toISOString();
  const piece = <T>(data: T, message: string): AnalysisPiece<T> => ({
    provenance: PROVENANCE,
    timestamp,
    message,
    data,
  });

  const assessments = assessVersions(exp, metrics);
  const winner = assessWinner(exp, assessments.data, metrics, { sourceVersion: opts.sourceVersion });
  const weights = recommendWeights(exp, winner.data, exp.status?.currentWeightDistribution);

  const analysis: Analysis = {};
  // Histograms written by the metrics/collect task are carried over untouched, as Iter8 v2's analytics did.
  const hists = exp.status?.analysis?.aggregatedBuiltinHists;
  if (hists !== undefined) analysis.aggregatedBuiltinHists = hists;
  analysis.aggregatedMetrics = piece(
    metrics,
    opts.aggregatedMetricsMessage ?? formatMessages(newMessageLog()),
  );
  analysis.versionAssessments = piece(assessments.data, assessments.message);
  analysis.winnerAssessment = piece(winner.data, winner.message);
  analysis.weights = piece(weights.data, weights.message);
  return analysis;
}
