// Structural JSON schemas of the status fields the engine keeps for crash-safe progress
// (`status.actions`, `status.retry`; their types are in src/engine/status.ts). They are part of the
// Experiment's status schema, hence of the CRD: without them a Kubernetes API server prunes these
// fields and a restarted controller could not resume actions or retries.

const str = (description: string) => ({ type: "string" as const, description });
const time = (description: string) => ({ type: "string" as const, format: "date-time", description });

const taskOutcome = {
  type: "object" as const,
  properties: {
    task: str("Task name (common/exec, ...) or run."),
    skipped: { type: "boolean" as const, description: "Skipped because its if: condition was false." },
    ok: { type: "boolean" as const, description: "The task succeeded." },
    output: str("The task's output (tail)."),
    error: str("Why the task failed."),
    durationMs: { type: "integer" as const, description: "How long the task ran, in milliseconds." },
  },
  required: ["task", "skipped", "ok", "output", "durationMs"],
};

export const ENGINE_STATUS_PROPERTIES = {
  actions: {
    type: "array" as const,
    description: "Launches of the start, loop and finish actions, recorded before each launch.",
    items: {
      type: "object" as const,
      properties: {
        id: str("start, loop-<k> or finish."),
        action: {
          type: "string" as const,
          enum: ["start", "loop", "finish"],
          description: "The action run.",
        },
        kind: {
          type: "string" as const,
          enum: ["start", "loop", "finish", "rollback"],
          description: "Why it ran: finish runs for a normal end and for a rollback.",
        },
        loop: { type: "integer" as const, description: "For loop actions: the loop that completed." },
        state: {
          type: "string" as const,
          enum: ["Running", "Succeeded", "Failed"],
          description: "Outcome so far.",
        },
        attempts: {
          type: "integer" as const,
          description: "Launches so far (relaunched after an engine restart).",
        },
        startedAt: time("When the last launch started."),
        finishedAt: time("When the action finished."),
        tasks: { type: "array" as const, description: "Per-task outcomes.", items: taskOutcome },
        progress: {
          type: "array" as const,
          description: "Each task's start and completion, recorded as they happen.",
          items: {
            type: "object" as const,
            properties: {
              index: { type: "integer" as const, description: "Index in the action's task list." },
              task: str("Task name or run."),
              state: {
                type: "string" as const,
                enum: ["Started", "Completed"],
                description: "Started or Completed.",
              },
              attempt: { type: "integer" as const, description: "The launch that recorded it." },
            },
            required: ["index", "task", "state", "attempt"],
          },
        },
        error: str("Why the action failed."),
      },
      required: ["id", "action", "kind", "state", "attempts", "startedAt"],
    },
  },
  retry: {
    type: "object" as const,
    description: "A step being retried with backoff (weights not applied or not observable).",
    properties: {
      op: { type: "string" as const, enum: ["weights", "observe"], description: "The step being retried." },
      attempts: { type: "integer" as const, description: "Failed attempts so far." },
      lastError: str("Why the last attempt failed."),
      notBefore: time("Earliest time of the next attempt."),
    },
    required: ["op", "attempts", "lastError", "notBefore"],
  },
};
