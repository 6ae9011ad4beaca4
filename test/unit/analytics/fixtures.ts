// Builders for the experiments and metric values the analytics tests feed in (the experiments on
// the shared builder, named `default/exp` on `default/sample-app` as the Iter8 v2 trace has them).
import type {
  AggregatedMetricsData,
  DeploymentPattern,
  Experiment,
  Objective,
  Quantity,
  Reward,
  TestingPattern,
  VersionWeight,
} from "../../../src/api/types.ts";
import { experimentFixture } from "../../support/experiments.ts";

export interface ExperimentOptions {
  pattern?: TestingPattern | undefined;
  deployment?: DeploymentPattern | undefined;
  versions?: string[] | undefined;
  objectives?: Objective[] | undefined;
  rewards?: Reward[] | undefined;
  maxCandidateWeight?: number | undefined;
  maxCandidateWeightIncrement?: number | undefined;
  current?: VersionWeight[] | undefined;
  namespace?: string | undefined;
}

export function experiment(o: ExperimentOptions = {}): Experiment {
  const [baseline = "v1", ...candidates] = o.versions ?? ["sample-app-v1", "sample-app-v2"];
  const weights =
    o.maxCandidateWeight === undefined && o.maxCandidateWeightIncrement === undefined
      ? undefined
      : {
          ...(o.maxCandidateWeight === undefined ? {} : { maxCandidateWeight: o.maxCandidateWeight }),
          ...(o.maxCandidateWeightIncrement === undefined
            ? {}
            : { maxCandidateWeightIncrement: o.maxCandidateWeightIncrement }),
        };
  return experimentFixture({
    name: "exp",
    namespace: o.namespace,
    target: "default/sample-app",
    testingPattern: o.pattern,
    deploymentPattern: o.deployment,
    weights,
    // A candidates list even when there is only the baseline, and criteria even when empty.
    versionInfo: { baseline: { name: baseline }, candidates: candidates.map((name) => ({ name })) },
    criteria: {
      ...(o.objectives === undefined ? {} : { objectives: o.objectives }),
      ...(o.rewards === undefined ? {} : { rewards: o.rewards }),
    },
    status: o.current === undefined ? undefined : { currentWeightDistribution: o.current },
  });
}

/** `{metric: {version: value}}` → aggregated metrics; `undefined` values become entries without a value. */
export function metricsOf(
  values: Record<string, Record<string, Quantity | undefined>>,
): AggregatedMetricsData {
  const data: AggregatedMetricsData = {};
  for (const [metric, byVersion] of Object.entries(values)) {
    data[metric] = { data: {} };
    for (const [version, value] of Object.entries(byVersion)) {
      data[metric].data[version] = value === undefined ? {} : { value };
    }
  }
  return data;
}

export function weightsOf(names: string[], values: number[]): VersionWeight[] {
  return names.map((name, i) => ({ name, value: values[i]! }));
}

export { ERROR_RATE, MEAN_LATENCY as LATENCY } from "../../support/experiments.ts";
export const USER_ENGAGEMENT = "iter8-knative/user-engagement";
