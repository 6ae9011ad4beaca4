// The API layer: what other parts import. Types are in ./types.ts.

export {
  CONDITION_FUNCTIONS,
  type Condition,
  type ConditionContext,
  type ConditionFunction,
  ConditionSyntaxError,
  evaluateCondition,
  parseCondition,
} from "./condition.ts";
export {
  type ApiVersionString,
  convertExperiment,
  convertMetric,
  downgradeExperiment,
  downgradeMetric,
  fieldPathToJsonPointer,
  STASH_PREFIX,
} from "./convert.ts";
export {
  DEFAULTS,
  deploymentPattern,
  effectiveSpec,
  intervalSeconds,
  iterationsPerLoop,
  maxCandidateWeight,
  maxCandidateWeightIncrement,
  maxLoops,
  rollbackOnFailure,
  totalIterations,
} from "./defaults.ts";
export {
  InputError,
  type LoadedDocument,
  type LoadOptions,
  loadDocuments,
  MAX_INPUT_BYTES,
  readInput,
} from "./load.ts";
export { childPath, formatPath, formatProblem, pointerToPath, prefixProblems } from "./paths.ts";
export { formatQuantity, isQuantity, parseQuantity, QUANTITY_PATTERN, QuantityError } from "./quantity.ts";
export {
  DEFAULT_INSTALL_NAMESPACE,
  DEFAULT_NAMESPACE,
  type MetricLookup,
  makeRefResolver,
  namespaceOf,
  normaliseExperimentRefs,
  normaliseMetricRefs,
  normaliseRef,
  RefError,
  type ResolverOptions,
  refProblem,
  splitRef,
} from "./refs.ts";
export { type ApiVersionName, experimentSchema, type JsonSchema, metricSchema } from "./schema.ts";
export * from "./types.ts";
export {
  jsonPointerToFieldPath,
  SOURCE_VERSION_ANNOTATION,
  type UpgradeResult,
  upgradeExperiment,
  upgradeMetric,
  V2ALPHA1_JQ_EXPRESSION,
  V2ALPHA1_REQUEST_COUNT,
} from "./upgrade.ts";
export {
  ACTION_NAMES,
  checkStartedExperiment,
  checkVersionCounts,
  KNOWN_TASKS,
  type ValidateOptions,
  type ValidationResult,
  validateExperiment,
  validateMetric,
} from "./validate.ts";
