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
