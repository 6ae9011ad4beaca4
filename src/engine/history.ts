// PLACEHOLDER until the per-iteration history lands: the shape agreed for `status.history`.
import type { ExperimentStatus, VersionWeight } from "../api/types.ts";

export type ObjectiveOutcome = "satisfied" | "violated" | "inconclusive";
export interface IterationValue {
  value?: number;
  sampleSize?: number;
  lower?: number;
  upper?: number;
  error?: string;
}
export interface IterationRecord {
  iteration: number;
  time: string;
  weights?: VersionWeight[];
  observed?: VersionWeight[];
  values: Record<string, Record<string, IterationValue>>;
  outcomes?: Record<string, ObjectiveOutcome[]>;
  winner?: string;
  reason?: string;
}

export function historyPoints(status: ExperimentStatus | undefined): IterationRecord[] {
  const h = (status as { history?: { recent?: IterationRecord[] } } | undefined)?.history;
  return h?.recent ?? [];
}
