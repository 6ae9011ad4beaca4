// Public interface of the load generator (used by `iter8 load`, the `metrics/collect` task and the
// local platform's traffic generators).

export { formatDuration, parseDuration } from "./duration.ts";
export { formatProgress, formatResult } from "./format.ts";
export {
  type FortioBucket,
  type FortioHistogram,
  type FortioResult,
  mergeFortioResults,
  toFortioResult,
} from "./fortio.ts";
export {
  DEFAULT_CONNECTIONS,
  DEFAULT_QPS,
  DEFAULT_TIMEOUT_MS,
  type LoadOptions,
  LoadOptionsError,
  normalizeLoadOptions,
} from "./options.ts";
export type {
  LatencyBucket,
  LatencySummary,
  LoadProgress,
  LoadResult,
  PacingSummary,
  StopReason,
} from "./recorder.ts";
export { type LoadHandle, type ProgressListener, runLoad, startLoad } from "./runner.ts";
