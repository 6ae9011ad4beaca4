// The experiment engine: lifecycle, iterations, actions, target locking.

export { ENGINE_STATUS_PROPERTIES } from "../api/status-schema.ts";
export { systemClock } from "./clock.ts";
export {
  Engine,
  type EngineLogger,
  type EngineOptions,
  type ReconcileResult,
  type RetryPolicy,
} from "./engine.ts";
export {
  criteriaRefs,
  readAllMetrics,
  resolvedKey,
  resolveMetrics,
  withResolvedCriteria,
} from "./metrics.ts";
export * from "./ports.ts";
export { effectiveSpecOf, SOURCE_VERSION_ANNOTATION, sourceVersionOf } from "./spec.ts";
export {
  type ActionKind,
  type ActionRecord,
  type ActionState,
  type EngineEvent,
  type EngineStatus,
  engineStatus,
  getCondition,
  isCompleted,
  type RetryState,
} from "./status.ts";
export { compareQueueOrder, contenders, keyOf, keyText, mayAcquire, nextInQueue } from "./target.ts";
export { allVersions, movesTraffic } from "./weights.ts";
