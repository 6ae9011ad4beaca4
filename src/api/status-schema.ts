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

const num = (description: string) => ({ type: "number" as const, description });
const versionWeights = (description: string) => ({
  type: "array" as const,
  description,
  items: {
    type: "object" as const,
    properties: { name: str("Version name."), value: num("Weight (percent).") },
    required: ["name", "value"],
  },
});
const iterationValue = {
  type: "object" as const,
  properties: {
    value: num("The metric's value."),
    sampleSize: num("Observations behind the value."),
    lower: num("Lower confidence bound (decision evidence)."),
    upper: num("Upper confidence bound (decision evidence)."),
    error: str("Why there is no value."),
  },
};

/** A [metric][version] grid of numbers, strings and nulls: kept as it is, not walked by the schema. */
const grid = (description: string) => ({
  description,
  "x-kubernetes-preserve-unknown-fields": true as const,
});

const compactIteration = {
  i: { type: "integer" as const, description: "Iteration (completedIterations after it)." },
  t: time("When it completed."),
  w: {
    type: "array" as const,
    description: "Observed weights per version.",
    items: { type: "number" as const },
  },
  v: grid("Values [metric][version]; null where unreadable."),
  o: {
    type: "array" as const,
    description: "Outcome letters per version (s/v/i), one per objective.",
    items: { type: "string" as const },
  },
  winner: str("Winner found in this iteration."),
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
          "The latest iterations, oldest first: the compact form of older entries plus a (weights asked, when they differ from w; [] for none), n (sample sizes), lo and hi (confidence bounds), e (why a value is missing), all [metric][version], and r (why the weights changed). Objects written by earlier releases hold full records here (iteration, time, values, weights, observed, outcomes, winner, reason).",
        items: {
          type: "object" as const,
          properties: {
            ...compactIteration,
            a: {
              type: "array" as const,
              description: "Weights asked for per version, when they differ from w ([]: none asked).",
              items: { type: "number" as const },
            },
            n: grid("Sample sizes [metric][version]; null where none."),
            lo: grid("Lower confidence bounds [metric][version]; null where none."),
            hi: grid("Upper confidence bounds [metric][version]; null where none."),
            e: grid("Why a value is missing [metric][version]; null where it is not."),
            r: str("Why the weights changed (or did not)."),
            // Full records, as earlier releases wrote them.
            iteration: {
              type: "integer" as const,
              description: "completedIterations after it (full records).",
            },
            time: time("When the iteration completed (full records)."),
            weights: versionWeights("Weights the engine asked for (full records)."),
            observed: versionWeights("Weights read back from the target (full records)."),
            values: {
              type: "object" as const,
              description: "Metric -> version -> reading (full records).",
              additionalProperties: {
                type: "object" as const,
                additionalProperties: iterationValue,
              },
            },
            outcomes: {
              type: "object" as const,
              description: "Version -> outcome of each objective (full records).",
              additionalProperties: {
                type: "array" as const,
                items: { type: "string" as const, enum: ["satisfied", "violated", "inconclusive"] },
              },
            },
            reason: str("Why the weights changed (full records)."),
          },
        },
      },
      older: {
        type: "array" as const,
        description: "Earlier iterations, compact, oldest first (every stride-th once downsampled).",
        items: {
          type: "object" as const,
          properties: compactIteration,
          required: ["i", "t"],
        },
      },
      stride: {
        type: "integer" as const,
        description: "Spacing of the compact series (1 = every iteration).",
      },
    },
    required: ["versions", "metrics", "recent"],
  },
};
