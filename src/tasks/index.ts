// Tasks: the in-process TaskRunner, the task registry and the platform hooks.

export { BASH, bashTask, runScriptTask } from "./bash.ts";
export { COLLECTOR_PROVENANCE, collectTask, mergeFortio } from "./collect.ts";
export { candidateWon, recommendedVersion, templateData, versionValues, winnerFound } from "./data.ts";
export { execTask } from "./exec.ts";
export {
  DEFAULT_KNATIVE_TIMING,
  initFromKsvc,
  type KnativeInitTiming,
  KSVC_API_VERSION,
  knativeInitTask,
  ksvcReady,
} from "./knative-init.ts";
export { isTaskName, RUN_TASK, TASK_NAMES, type TaskName } from "./names.ts";
export { defaultBody, httpNotificationTask, NOTIFICATION_TIMEOUT_MS } from "./notification-http.ts";
export { SLACK_API_URL, SLACK_ICON, slackMessage, slackNotificationTask } from "./notification-slack.ts";
export { ProcessError, type ProcessOptions, type ProcessResult, runChecked, runProcess } from "./process.ts";
export { readinessTask, unmetWaitFor } from "./readiness.ts";
export { taskRegistry } from "./registry.ts";
export { InProcessTaskRunner, type TaskRunnerOptions } from "./runner.ts";
export { ANGLE, CURLY, type Delimiters, interpolate, type TemplateData, TemplateError } from "./template.ts";
export type { ObjectRef, TaskContext, TaskImpl, TaskPlatform } from "./types.ts";
