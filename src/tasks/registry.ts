// The task registry: every task name the runner accepts and its implementation.

import { bashTask } from "./bash.ts";
import { collectTask } from "./collect.ts";
import { execTask } from "./exec.ts";
import { DEFAULT_KNATIVE_TIMING, type KnativeInitTiming, knativeInitTask } from "./knative-init.ts";
import { TASK_NAMES, type TaskName } from "./names.ts";
import { httpNotificationTask } from "./notification-http.ts";
import { slackNotificationTask } from "./notification-slack.ts";
import { readinessTask } from "./readiness.ts";
import type { TaskImpl } from "./types.ts";

export interface RegistryOptions {
  knativeTiming?: KnativeInitTiming;
}

export function taskRegistry(opts: RegistryOptions = {}): ReadonlyMap<TaskName, TaskImpl> {
  const tasks: TaskImpl[] = [
    execTask,
    bashTask,
    readinessTask,
    knativeInitTask(opts.knativeTiming ?? DEFAULT_KNATIVE_TIMING),
    collectTask,
    httpNotificationTask,
    slackNotificationTask,
  ];
  const map = new Map<TaskName, TaskImpl>();
  for (const name of TASK_NAMES) {
    const impl = tasks.find((t) => t.name === name);
    if (!impl) throw new Error(`task ${name} has no implementation`);
    map.set(name, impl);
  }
  return map;
}

/** The `with:` problems of a built-in task (none for names it does not know: validate reports those). */
export function checkTaskInputs(task: string, input: Record<string, unknown>): string[] {
  defaultRegistry ??= taskRegistry();
  const impl = defaultRegistry.get(task as TaskName);
  return impl ? impl.validate(input) : [];
}

let defaultRegistry: ReadonlyMap<TaskName, TaskImpl> | undefined;
