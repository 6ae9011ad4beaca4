// Public interface of the sample app (used by `iter8 sample-app`, the local platform and tests).

export { deriveSeed, mulberry32 } from "../lib/random.ts";
export {
  type LatencyModel,
  type LatencySpec,
  latencyModel,
  MAX_P95_OVER_MEAN,
  normalQuantile,
} from "./latency.ts";
export {
  resolveVersion,
  type SampleApp,
  type SampleAppOptions,
  type SampleAppStats,
  startSampleApp,
} from "./server.ts";
