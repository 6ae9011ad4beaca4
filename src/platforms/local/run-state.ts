// `runs/<namespace>.<name>.json`: what a resumed run needs besides the experiment (routing objects as
// the run changed them, the router's per-version statistics) and a record of the run. Read back with
// its shape checked, and the stored experiment validated, so a truncated or edited file is an error
// naming the file and the field rather than a crash somewhere in the run.

import { Ajv, type ValidateFunction } from "ajv";
import { formatProblem } from "../../api/paths.ts";
import type { Experiment } from "../../api/types.ts";
import { validateExperiment } from "../../api/validate.ts";
import { historyPoints } from "../../engine/history.ts";
import type { RoutingState } from "./cluster.ts";
import { TutorialError } from "./errors.ts";
import type { MetricsBackend } from "./lab.ts";
import { readJson } from "./store.ts";

/** One completed iteration as the run record lists it (derived from status.history, see runHistory). */
export interface IterationRecord {
  iteration: number;
  time: string;
  weights: Record<string, number>;
  recommended?: string;
}

export interface RunRecord {
  tutorial: string;
  pid: number;
  startedAt: string;
  metrics: MetricsBackend;
  routing: RoutingState;
  history: IterationRecord[];
  /** The Experiment document as written in the tutorial (metric labels as written, for describe). */
  source?: unknown;
  /** Requests the router answered per version (revision), at the end of the run. */
  counts?: Record<string, number>;
  addresses?: { router: string; admin?: string; prometheus?: string };
  /** The router's statistics when last saved (router/metrics.ts serialiseMetrics). */
  routerMetrics?: unknown;
  /** The router's statistics when the experiment entered Running: the built-in metrics' zero point. */
  routerMetricsAtStart?: unknown;
}

const RUN_RECORD_SCHEMA = {
  type: "object",
  required: ["tutorial", "pid", "startedAt", "metrics", "routing", "history"],
  properties: {
    tutorial: { type: "string" },
    pid: { type: "integer" },
    startedAt: { type: "string" },
    metrics: { enum: ["builtin", "prometheus"] },
    routing: {
      type: "object",
      required: ["objects", "promotions"],
      properties: {
        objects: { type: "array", items: { type: "object" } },
        promotions: { type: "array", items: { type: "object" } },
      },
    },
    history: {
      type: "array",
      items: {
        type: "object",
        required: ["iteration", "weights"],
        properties: { iteration: { type: "integer" }, weights: { type: "object" } },
      },
    },
    counts: { type: "object", additionalProperties: { type: "number" } },
    routerMetrics: { type: "object" },
    routerMetricsAtStart: { type: "object" },
  },
};

let check: ValidateFunction | undefined;

/**
 * The run record's `history`, read from the experiment's status.history rather than kept beside it:
 * each completed iteration with the weights it left and the version recommended after it.
 */
export function runHistory(exp: Experiment): IterationRecord[] {
  const st = exp.status;
  const done = st?.completedIterations ?? 0;
  const baseline = st?.history?.versions[0];
  // A rollback records the iteration that ended the run without completing it: not listed.
  return historyPoints(st)
    .filter((p) => p.iteration >= 1 && p.iteration <= done)
    .map((p) => {
      const weights = Object.fromEntries((p.observed ?? []).map((w) => [w.name, w.value]));
      const entry: IterationRecord = { iteration: p.iteration, time: p.time, weights };
      // After a completed iteration the engine recommends its winner, else the baseline.
      const recommended = p.winner ?? baseline;
      if (recommended) entry.recommended = recommended;
      return entry;
    });
}

function parsed<T>(file: string): T | undefined {
  try {
    return readJson<T>(file);
  } catch (e) {
    throw new TutorialError([`${file}: cannot be read (${(e as Error).message}); remove it or use --fresh`]);
  }
}

/** The run record, or undefined when there is none; a TutorialError naming the file and field if bad. */
export function readRunRecord(file: string): RunRecord | undefined {
  const rec = parsed<unknown>(file);
  if (rec === undefined) return undefined;
  check ??= new Ajv({ allErrors: true, strict: false }).compile(RUN_RECORD_SCHEMA);
  if (!check(rec)) {
    const problems = (check.errors ?? []).map(
      (e) => `${file}: ${e.instancePath.slice(1).replace(/\//g, ".") || "(top)"}: ${e.message ?? "invalid"}`,
    );
    throw new TutorialError([
      ...problems,
      `${file}: not a run record of this iter8: remove it or use --fresh`,
    ]);
  }
  return rec as RunRecord;
}

/** The stored experiment of an unfinished run, checked like any experiment before it is resumed. */
export function checkStoredExperiment(file: string, exp: Experiment): void {
  // `--interval` may have stored a fraction of a second, which the API (whole seconds) refuses.
  const copy = structuredClone(exp);
  const interval = copy.spec?.duration?.intervalSeconds;
  if (typeof interval === "number" && interval > 0)
    copy.spec.duration!.intervalSeconds = Math.max(1, Math.ceil(interval));
  const r = validateExperiment(copy);
  if (r.problems.length > 0)
    throw new TutorialError([
      ...r.problems.map((p) => `${file}: ${formatProblem(p)}`),
      `${file}: the stored experiment is not valid: remove it or use --fresh`,
    ]);
}

/** Reads the stored experiment file itself, naming it when it is truncated or not JSON. */
export function readStoredExperiment(file: string): Experiment | undefined {
  const exp = parsed<Experiment>(file);
  if (exp !== undefined && (exp === null || typeof exp !== "object"))
    throw new TutorialError([`${file}: not an Experiment object: remove it or use --fresh`]);
  return exp;
}
