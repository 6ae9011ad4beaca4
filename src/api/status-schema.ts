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

/**
 * A history entry: one JSON text, which the API server stores without walking it (validating and
 * pruning a status costs it per JSON node, and each iteration writes the whole history); objects
 * that earlier releases wrote are kept as they are.
 */
const anyEntry = {
  description: "A history entry: JSON text (this release) or an object (earlier releases).",
  "x-kubernetes-preserve-unknown-fields": true as const,
};

/**
 * `status.history` (type ExperimentHistory in src/api/types.ts, kept by src/engine/history.ts):
 * bounded to 20 detailed records plus at most 400 compact ones, whatever the number of iterations.
 */
export const HISTORY_STATUS_PROPERTIES = {
  history: {
    type: "object" as const,
    description: "Per-iteration record: full detail for the latest iterations, a compact series before.",
    properties: {
      versions: {
        type: "array" as const,
        description: "Version order of compact entries.",
        items: { type: "string" as const },
      },
      metrics: {
        type: "array" as const,
        description: "Metric order of compact entries.",
        items: { type: "string" as const },
      },
      recent: {
        type: "array" as const,
        description:
          'The latest iterations, oldest first, each one JSON text: {"i": iteration (completedIterations after it), "t": time, "w": observed weights per version, "a": weights asked for when they differ from w ([] for none), "v", "n", "lo", "hi", "e": values, sample sizes, confidence bounds and why a value is missing, each [metric][version] with null for none, "o": outcome letters per version (s/v/i, one per objective), "winner", "r": why the weights changed}. Objects written by earlier releases (the same form unencoded, or full records) are still read.',
        items: anyEntry,
      },
      older: {
        type: "array" as const,
        description:
          "Earlier iterations, oldest first (every stride-th once downsampled), each one JSON text of the compact form: i, t, w, v, o, winner as in recent.",
        items: anyEntry,
      },
      stride: {
        type: "integer" as const,
        description: "Spacing of the compact series (1 = every iteration).",
      },
    },
    required: ["versions", "metrics", "recent"],
  },
};
