// Confidence bounds by statistical shape; see docs/decisions.md for the methods and sources.
export {
  binomialSequence,
  clopperPearson,
  type ProportionBounds,
  type ProportionMethod,
  proportionBounds,
  showsAbove,
  showsBelow,
} from "./binomial.ts";
export { type MeanBounds, MIN_MEAN_SAMPLES, meanInterval, meanSequence } from "./mean.ts";
export {
  MIN_POSTERIOR_PROBABILITY_FOR_WINNER,
  meanPosterior,
  type Posterior,
  probabilityBest,
  proportionPosterior,
} from "./posterior.ts";
export type { SampleDetails, SampleDistribution } from "./sample.ts";
