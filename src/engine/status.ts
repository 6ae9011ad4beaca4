// Status bookkeeping: conditions and messages exactly as the original controller records them,
// plus the engine's own progress records. Everything the engine needs to resume after
// a restart lives in the experiment's status; nothing is kept only in memory.

import type {
  Condition,
  ConditionStatus,
  ConditionType,
  Experiment,
  ExperimentStatus,
  Stage,
} from "../api/types.ts";
import { STAGES } from "../api/types.ts";
import type { ActionName, TaskOutcome } from "./ports.ts";

/** Why an action was launched: `finish` runs both for a normal end and for a rollback. */
export type ActionKind = "start" | "loop" | "finish" | "rollback";

export type ActionState = "Running" | "Succeeded" | "Failed";

/**
 * One launch of an action, written to status *before* the action runs, so a restarted engine knows
 * an action was under way (and relaunches it) instead of launching it twice or forgetting it.
 */
export interface ActionRecord {
  /** `start`, `loop-<k>` or `finish`: each runs at most once to success per experiment. */
  id: string;
  action: ActionName;
  kind: ActionKind;
  /** For loop actions: the loop that just completed (1-based). */
  loop?: number;
  state: ActionState;
  /** Launches so far (a launch interrupted by an engine restart is relaunched). */
  attempts: number;
  startedAt: string;
  finishedAt?: string;
  /** Per-task outcomes (output kept for describe/logs). */
  tasks?: TaskOutcome[];
  /**
   * Each task's start and completion, written as they happen (before a task starts, after it
   * ends), so a relaunch skips completed tasks and knows which one was interrupted.
   */
  progress?: TaskProgress[];
  error?: string;
}

export interface TaskProgress {
  /** Index in the action's task list. */
  index: number;
  task: string;
  state: "Started" | "Completed";
  /** Launch (attempt) that recorded it. */
  attempt: number;
}

/** A step being retried with backoff (a failed weight change, an unreadable target object). */
export interface RetryState {
  /** `weights`: applying an iteration's weights; `observe`: reading them on entering Running. */
  op: "weights" | "observe";
  attempts: number;
  lastError: string;
  /** Earliest time of the next attempt (RFC 3339). */
  notBefore: string;
}

/**
 * Fields the engine adds to `ExperimentStatus` (the CRD schema and api types must keep them):
 * `actions` and `retry`.
 */
export interface EngineStatus extends ExperimentStatus {
  actions?: ActionRecord[];
  retry?: RetryState;
}

export function engineStatus(exp: Experiment): EngineStatus {
  return (exp.status ?? {}) as EngineStatus;
}

export function getCondition(exp: Experiment, type: ConditionType): Condition | undefined {
  return exp.status?.conditions?.find((c) => c.type === type);
}

export function conditionIs(exp: Experiment, type: ConditionType, status: ConditionStatus): boolean {
  return getCondition(exp, type)?.status === status;
}

export function isCompleted(exp: Experiment): boolean {
  return conditionIs(exp, "Completed", "True");
}

export function stageIndex(stage: Stage | undefined): number {
  return stage === undefined ? -1 : STAGES.indexOf(stage);
}

/** A recorded event: the Kubernetes controller turns these into Events; the local runner may print. */
export interface EngineEvent {
  reason: string;
  message: string;
}

/**
 * The status being built during one reconcile pass, with the events it recorded. Nothing is
 * published until the status write succeeds.
 */
export class StatusDraft {
  readonly status: EngineStatus;
  readonly events: EngineEvent[] = [];
  readonly now: Date;

  constructor(exp: Experiment, now: Date) {
    this.status = structuredClone(engineStatus(exp));
    this.now = now;
  }

  get nowText(): string {
    return this.now.toISOString();
  }

  /**
   * As in Iter8 v2's MarkCondition: `status.message` is always rewritten; the condition (and its
   * transition time) changes, and an event is recorded, only when status, reason or message changed.
   */
  mark(type: ConditionType, status: ConditionStatus, reason: string, message = ""): void {
    this.status.message = message ? `${reason}: ${message}` : reason;
    this.status.conditions ??= [];
    const conditions = this.status.conditions;
    let cond = conditions.find((c) => c.type === type);
    if (!cond) {
      cond = { type, status };
      conditions.push(cond);
    } else if (cond.status === status && cond.reason === reason && (cond.message ?? "") === message) {
      return;
    }
    cond.status = status;
    cond.reason = reason;
    cond.message = message;
    cond.lastTransitionTime = this.nowText;
    this.events.push({ reason, message });
  }

  /** Progress events are written into the Completed condition with status False. */
  progress(reason: string, message: string): void {
    this.mark("Completed", "False", reason, message);
  }

  advanceStage(stage: Stage, record = true): void {
    if (stageIndex(this.status.stage) >= stageIndex(stage)) return;
    this.status.stage = stage;
    if (record) this.progress("StageAdvanced", `Advanced to ${stage}`);
  }

  action(id: string): ActionRecord | undefined {
    return this.status.actions?.find((a) => a.id === id);
  }

  putAction(record: ActionRecord): void {
    this.status.actions ??= [];
    const list = this.status.actions;
    const i = list.findIndex((a) => a.id === record.id);
    if (i >= 0) list[i] = record;
    else list.push(record);
  }
}

/** First sight of an experiment. */
export function initialiseStatus(draft: StatusDraft): void {
  const t = draft.nowText;
  const s = draft.status;
  s.conditions = [
    { type: "Completed", status: "False", lastTransitionTime: t },
    { type: "Failed", status: "False", lastTransitionTime: t },
    { type: "TargetAcquired", status: "False", lastTransitionTime: t },
  ];
  s.initTime = t;
  s.lastUpdateTime = t;
  s.stage = "Waiting";
  s.completedIterations = 0;
  draft.progress("ExperimentInitialized", "Experiment status initialized");
}

/**
 * End the experiment: advance to Completed and set Completed=True with the end
 * message, so the final `status.message` is `ExperimentCompleted: <message>`.
 */
export function endExperiment(draft: StatusDraft, message: string): void {
  draft.advanceStage("Completed");
  delete draft.status.retry;
  draft.mark("Completed", "True", "ExperimentCompleted", message);
}

/** Fail: Failed=True with a reason-specific message, then end the experiment. */
export function failExperiment(
  draft: StatusDraft,
  reason: string,
  message: string,
  endMessage = "Experiment failed",
): void {
  draft.mark("Failed", "True", reason, message);
  endExperiment(draft, endMessage);
}

/** `Start`, `Loop`, `Finish`, `Rollback`: the handler type as the messages spell it. */
export function kindTitle(kind: ActionKind): string {
  return kind.charAt(0).toUpperCase() + kind.slice(1);
}

/** Milliseconds until a pending retry is due, if one is pending and not yet due. */
export function retryDue(draft: StatusDraft): number | undefined {
  const retry = draft.status.retry;
  if (!retry) return undefined;
  const wait = Date.parse(retry.notBefore) - draft.now.getTime();
  return wait > 0 ? wait : undefined;
}
