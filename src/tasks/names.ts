// The task names the runner knows. Kept free of imports so the API validator can use the
// list without loading the task implementations: an unknown task fails validation, not mid-run.

export const TASK_NAMES = [
  "common/exec",
  "common/bash",
  "common/readiness",
  "knative/init-experiment",
  "metrics/collect",
  "notification/http",
  "notification/slack",
] as const;

export type TaskName = (typeof TASK_NAMES)[number];

/** An action entry with `run:` instead of `task:` is reported under this name. */
export const RUN_TASK = "run";

export function isTaskName(name: string): name is TaskName {
  return (TASK_NAMES as readonly string[]).includes(name);
}

/**
 * Tasks that may run again after an engine restart interrupted them: they only read (readiness,
 * init-experiment, which recomputes the same versionInfo) or notify (a repeated message is harmless,
 * a lost one is not). Commands, scripts and metrics/collect (it adds to the histograms) are not;
 * `idempotent: true` on a task entry declares one of those safe to re-run.
 */
export const IDEMPOTENT_TASKS: readonly string[] = [
  "common/readiness",
  "knative/init-experiment",
  "notification/http",
  "notification/slack",
];
