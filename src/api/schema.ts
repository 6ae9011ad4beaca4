// JSON Schemas of Experiment and Metric (v2alpha2 and v2alpha1), written so that they are valid
// Kubernetes *structural* schemas: the Kubernetes deployment emits them verbatim as the CRDs'
// `openAPIV3Schema`, and `validate` runs them with ajv. Rules that keep them structural:
// no `$ref`; every node has a `type` unless it is `x-kubernetes-int-or-string` or
// `x-kubernetes-preserve-unknown-fields`; `properties` and `additionalProperties` never together;
// `anyOf` only in the int-or-string form; no `additionalProperties: false` (unknown fields are
// rejected by the validator's own stricter copy, see validate.ts).

import { QUANTITY_PATTERN } from "./quantity.ts";
import { ENGINE_STATUS_PROPERTIES, HISTORY_STATUS_PROPERTIES } from "./status-schema.ts";
import { DEPLOYMENT_PATTERNS, STAGES, TESTING_PATTERNS } from "./types.ts";

/** The subset of Kubernetes `JSONSchemaProps` these schemas use. */
export interface JsonSchema {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  description?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  required?: string[];
  items?: JsonSchema;
  enum?: readonly (string | number | boolean)[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  pattern?: string;
  format?: string;
  anyOf?: JsonSchema[];
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-map-type"?: "atomic" | "granular";
}

export type ApiVersionName = "v2alpha2" | "v2alpha1";

// ---- building blocks -----------------------------------------------------------------------------

function str(description?: string, extra: JsonSchema = {}): JsonSchema {
  return { type: "string", ...(description ? { description } : {}), ...extra };
}
function nonEmpty(description?: string): JsonSchema {
  return str(description, { minLength: 1 });
}
function int32(description: string, minimum?: number, maximum?: number): JsonSchema {
  return {
    type: "integer",
    format: "int32",
    description,
    ...(minimum !== undefined ? { minimum } : {}),
    ...(maximum !== undefined ? { maximum } : {}),
  };
}
function bool(description?: string): JsonSchema {
  return { type: "boolean", ...(description ? { description } : {}) };
}
function time(description: string): JsonSchema {
  return { type: "string", format: "date-time", description };
}
function oneOf(values: readonly string[], description?: string): JsonSchema {
  return { type: "string", enum: [...values], ...(description ? { description } : {}) };
}
function obj(
  properties: Record<string, JsonSchema>,
  required: string[] = [],
  description?: string,
  extra: JsonSchema = {},
): JsonSchema {
  return {
    type: "object",
    ...(description ? { description } : {}),
    properties,
    ...(required.length > 0 ? { required } : {}),
    ...extra,
  };
}
function list(items: JsonSchema, description?: string): JsonSchema {
  return { type: "array", ...(description ? { description } : {}), items };
}
function mapOf(values: JsonSchema, description?: string): JsonSchema {
  return { type: "object", ...(description ? { description } : {}), additionalProperties: values };
}
function anyObject(description: string): JsonSchema {
  return { type: "object", description, "x-kubernetes-preserve-unknown-fields": true };
}
function anyJson(description: string): JsonSchema {
  return { description, "x-kubernetes-preserve-unknown-fields": true };
}
/** A user-written Kubernetes quantity: an integer or a string such as "0.01" or "10m". */
function quantity(description: string): JsonSchema {
  return {
    description,
    "x-kubernetes-int-or-string": true,
    anyOf: [{ type: "integer" }, { type: "string" }],
    pattern: QUANTITY_PATTERN,
  };
}
/**
 * A quantity written by the engine into status. Any JSON value is accepted by the API server so that
 * non-integer numbers can be stored as numbers; the validator checks that it is a number or a quantity.
 */
function statusQuantity(description: string): JsonSchema {
  return anyJson(description);
}

const namedValue = obj({ name: nonEmpty(), value: str() }, ["name", "value"]);

const weightObjRef = obj(
  {
    apiVersion: str(),
    kind: str(),
    namespace: str("Defaults to the experiment's namespace."),
    name: str(),
    fieldPath: str(
      "Where the weight lives, e.g. .spec.traffic[0].percent (v2alpha1: /spec/traffic/0/percent).",
    ),
    uid: str(),
    resourceVersion: str(),
  },
  [],
  "The object and field holding this version's traffic weight.",
);

const weights = obj(
  {
    maxCandidateWeight: int32("Upper bound of any candidate's weight (default 100).", 0, 100),
    maxCandidateWeightIncrement: int32(
      "Largest increase of a candidate's weight per iteration (default 10).",
      0,
      100,
    ),
  },
  [],
  "Limits on traffic shifting.",
);

function objective(): JsonSchema {
  return obj(
    {
      metric: nonEmpty("Metric reference: name or namespace/name."),
      upperLimit: quantity("Largest acceptable value (inclusive)."),
      lowerLimit: quantity("Smallest acceptable value (inclusive)."),
      rollback_on_failure: bool(
        "Roll back when this objective fails (default: deploymentPattern is BlueGreen).",
      ),
    },
    ["metric"],
  );
}

const reward = obj(
  {
    metric: nonEmpty("Metric reference: name or namespace/name."),
    preferredDirection: oneOf(["High", "Low"], "Whether higher or lower values are better."),
  },
  ["metric", "preferredDirection"],
);

function versionDetail(v1: boolean): JsonSchema {
  return obj(
    {
      name: nonEmpty("Version name, unique within the experiment."),
      variables: list(namedValue, "Values interpolated into metric queries and tasks."),
      ...(v1 ? { tags: mapOf(str(), "Early v2alpha1 form of variables.") } : {}),
      weightObjRef,
    },
    ["name"],
  );
}

function versionInfo(v1: boolean): JsonSchema {
  return obj(
    { baseline: versionDetail(v1), candidates: list(versionDetail(v1)) },
    ["baseline"],
    "The versions compared; may be filled in by a start task.",
  );
}

const duration = (v1: boolean): JsonSchema =>
  obj(
    {
      intervalSeconds: int32("Seconds between iterations (default 20).", 1),
      iterationsPerLoop: int32("Iterations per loop (default 15).", 1),
      maxLoops: int32("Number of loops (default 1).", 1),
      ...(v1 ? { maxIterations: int32("Early v2alpha1 name of iterationsPerLoop.", 1) } : {}),
    },
    [],
    "How long the experiment runs.",
  );

function metricInfo(): JsonSchema {
  return obj(
    {
      name: nonEmpty("namespace/name of the metric."),
      metricObj: anyObject("The Metric object as read when the experiment started."),
    },
    ["name", "metricObj"],
  );
}

function analysisPiece(data: JsonSchema): JsonSchema {
  return obj({ provenance: str(), timestamp: time("When this piece was computed."), message: str(), data }, [
    "provenance",
    "timestamp",
    "data",
  ]);
}

const versionWeight = obj({ name: nonEmpty(), value: int32("Weight in percent.", 0, 100) }, [
  "name",
  "value",
]);

const number = (description: string): JsonSchema => ({ type: "number", description });

/** What the data say about one objective for one version (docs/decisions.md). */
const objectiveEvidence = obj(
  {
    objective: int32("Index in spec.criteria.objectives.", 0),
    metric: str("namespace/name."),
    value: number("The point value."),
    sampleSize: number("Observations behind the value."),
    limit: number("The objective's limit."),
    direction: oneOf(["upper", "lower"], "upperLimit or lowerLimit."),
    shape: oneOf(["ratio", "percentile", "mean", "none"], "The metric's statistical shape."),
    confidence: number("Confidence of the bounds; absent: no interval."),
    lower: number("One-sided lower confidence bound."),
    upper: number("One-sided upper confidence bound."),
    method: str("How the bounds were computed."),
    outcome: oneOf(["satisfied", "violated", "inconclusive"], "The verdict at this confidence."),
    reason: str("Why, and what more data would decide."),
  },
  ["objective", "metric", "limit", "direction", "shape", "outcome"],
);

function analysis(v1: boolean): JsonSchema {
  const versionValue = obj({
    max: statusQuantity("Largest value seen."),
    min: statusQuantity("Smallest value seen."),
    value: statusQuantity("The metric's value; absent when it could not be read."),
    sampleSize: statusQuantity("Observations behind the value."),
  });
  const aggregated = obj({
    max: statusQuantity("Largest value over versions."),
    min: statusQuantity("Smallest value over versions."),
    data: mapOf(versionValue, "Keyed by version name."),
  });
  return obj(
    {
      ...(v1
        ? {}
        : {
            aggregatedBuiltinHists: analysisPiece(anyJson("Built-in latency/error histograms per version.")),
          }),
      aggregatedMetrics: analysisPiece(mapOf(aggregated, "Keyed by metric (namespace/name).")),
      versionAssessments: analysisPiece(mapOf(list(bool()), "Per version: one flag per objective.")),
      winnerAssessment: analysisPiece(
        obj({ winnerFound: bool(), winner: str(), bestVersions: list(str()) }, ["winnerFound"]),
      ),
      weights: analysisPiece(list(versionWeight)),
      evidence: analysisPiece(mapOf(list(objectiveEvidence), "Per version: one entry per objective.")),
    },
    [],
    "The latest analysis.",
  );
}

function status(v1: boolean): JsonSchema {
  return obj(
    {
      conditions: list(
        obj(
          {
            type: oneOf(["Completed", "Failed", "TargetAcquired"]),
            status: oneOf(["True", "False", "Unknown"]),
            lastTransitionTime: time("When the condition last changed."),
            reason: str(),
            message: str(),
          },
          ["type", "status"],
        ),
      ),
      initTime: time("When the experiment was first seen."),
      startTime: time("When the first iteration ran."),
      ...(v1 ? { endTime: time("When the experiment ended (v2alpha1 only).") } : {}),
      lastUpdateTime: time("When the last iteration completed."),
      stage: oneOf(STAGES, "Waiting, Initializing, Running, Finishing or Completed."),
      completedIterations: int32("Iterations completed so far.", 0),
      currentWeightDistribution: list(versionWeight, "Weights observed on the target."),
      analysis: analysis(v1),
      ...(v1
        ? { recommendedBaseline: str("v2alpha1 name of versionRecommendedForPromotion.") }
        : {
            versionRecommendedForPromotion: str("The winner if one was found, else the baseline."),
            metrics: list(metricInfo(), "The Metric objects the experiment uses."),
          }),
      message: str("Latest event: Reason or Reason: message."),
      extraIterations: int32("Iterations added while the evidence was inconclusive (criteria.strength).", 0),
      ...ENGINE_STATUS_PROPERTIES,
      ...HISTORY_STATUS_PROPERTIES,
    },
    [],
    "Observed state, written by iter8.",
    // Only the controller writes status, always whole: as one atom the API server tracks a single
    // managed field for it instead of one per leaf, which is most of its work on each status write.
    { "x-kubernetes-map-type": "atomic" },
  );
}

function taskSpec(v1: boolean): JsonSchema {
  if (v1) {
    return obj(
      {
        library: nonEmpty("Task library, e.g. knative or common."),
        task: nonEmpty("Task name within the library, e.g. init-experiment."),
        with: anyObject("Task inputs."),
      },
      ["library", "task"],
    );
  }
  return obj({
    task: str("Task name, e.g. common/exec. Exactly one of task and run."),
    run: str("A bash script. Exactly one of task and run."),
    if: str("Condition, e.g. CandidateWon() or not WinnerFound()."),
    with: anyObject("Task inputs."),
    idempotent: bool("Safe to run again when an engine restart interrupted it."),
  });
}

function strategy(v1: boolean): JsonSchema {
  return obj(
    {
      testingPattern: oneOf(TESTING_PATTERNS, "Canary, A/B, A/B/N or Conformance."),
      deploymentPattern: oneOf(DEPLOYMENT_PATTERNS, "Progressive (default), FixedSplit or BlueGreen."),
      actions: mapOf(list(taskSpec(v1)), "Task lists keyed by action: start, loop, finish."),
      ...(v1
        ? {
            handlers: obj(
              { start: str(), finish: str(), rollback: str(), failure: str() },
              [],
              "v2alpha1 handler names (dropped on upgrade).",
            ),
          }
        : {}),
      weights: v1
        ? obj({
            ...weights.properties,
            algorithm: str("Early v2alpha1 field, ignored."),
            weightDistribution: list(int32("Weight.", 0, 100), "Early v2alpha1 field, ignored."),
          })
        : weights,
    },
    ["testingPattern"],
    "How the experiment tests and deploys.",
  );
}

function criteria(v1: boolean): JsonSchema {
  return obj(
    {
      requestCount: str("Metric reference counting requests."),
      ...(v1 ? { reward } : { rewards: list(reward, "A/B and A/B/N: exactly one; otherwise none.") }),
      objectives: list(objective(), "Limits every version must meet."),
      indicators: list(nonEmpty(), "Metrics that are only measured and reported."),
      ...(v1
        ? {}
        : {
            strength: anyJson(
              "Decisions with stated error rates: {confidence: 0.95, minSamples, earlyStop, maxExtraIterations}; other JSON is ignored as in v2alpha2.",
            ),
          }),
    },
    [],
    "What is measured and required.",
  );
}

function experimentSpec(v1: boolean): JsonSchema {
  return obj(
    {
      target: nonEmpty("Lock key: experiments with the same target never run at the same time."),
      versionInfo: versionInfo(v1),
      strategy: strategy(v1),
      criteria: criteria(v1),
      duration: duration(v1),
      ...(v1 ? { metrics: list(metricInfo(), "Filled by the v2alpha1 controller.") } : {}),
    },
    ["target", "strategy"],
  );
}

function root(spec: JsonSchema, statusSchema?: JsonSchema): JsonSchema {
  return obj(
    {
      apiVersion: str(),
      kind: str(),
      metadata: { type: "object" },
      spec,
      ...(statusSchema ? { status: statusSchema } : {}),
    },
    ["spec"],
  );
}

function metricSpec(v1: boolean): JsonSchema {
  if (v1) {
    return obj(
      {
        description: str(),
        units: str(),
        provider: nonEmpty("Metrics backend (v2alpha1: prometheus)."),
        type: oneOf(["counter", "gauge"], "counter or gauge (default gauge)."),
        sampleSize: obj(
          { namespace: str(), name: nonEmpty() },
          ["name"],
          "Metric counting the observations.",
        ),
        params: list(namedValue, "Query parameters; values may use $name, $revision, $interval."),
      },
      ["provider"],
    );
  }
  return obj({
    description: str("Shown by kubectl get metrics."),
    units: str("Shown after the metric name by describe."),
    provider: str("Informational; iter8 means a built-in metric."),
    type: oneOf(["Counter", "Gauge"], "Counter or Gauge (default Gauge)."),
    sampleSize: str("Metric reference (name or namespace/name) counting the observations."),
    params: list(namedValue, "HTTP query parameters; values are templates ($name, $elapsedTime, ...)."),
    method: oneOf(["GET", "POST"], "GET (default) or POST."),
    body: str("JSON body template for POST."),
    urlTemplate: str("URL of the metrics backend."),
    headerTemplates: list(namedValue, "HTTP headers."),
    authType: oneOf(["Basic", "Bearer", "APIKey"]),
    secret: str("Secret (name or namespace/name) with values for the URL and headers."),
    jqExpression: str("jq program extracting the number from the response."),
    mock: list(obj({ name: nonEmpty("Version name."), level: quantity("Mocked level.") }, ["name", "level"])),
  });
}

/** The openAPIV3Schema of the Experiment CRD (spec and status) for one API version. */
export function experimentSchema(version: ApiVersionName): JsonSchema {
  const v1 = version === "v2alpha1";
  return root(experimentSpec(v1), status(v1));
}

/** The openAPIV3Schema of the Metric CRD (no status) for one API version. */
export function metricSchema(version: ApiVersionName): JsonSchema {
  return root(metricSpec(version === "v2alpha1"));
}
