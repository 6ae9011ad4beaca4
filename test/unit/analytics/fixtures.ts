// Builders for the experiments and metric values the analytics tests feed in.
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
  const exp: Experiment = {
    apiVersion: "iter8.tools/v2alpha2",
    kind: "Experiment",
    metadata: { name: "exp", namespace: o.namespace ?? "default" },
    spec: {
      target: "default/sample-app",
      strategy: {
        testingPattern: o.pattern ?? "Canary",
        ...(o.deployment === undefined ? {} : { deploymentPattern: o.deployment }),
        ...(weights === undefined ? {} : { weights }),
      },
      versionInfo: { baseline: { name: baseline }, candidates: candidates.map((name) => ({ name })) },
      criteria: {
        ...(o.objectives === undefined ? {} : { objectives: o.objectives }),
        ...(o.rewards === undefined ? {} : { rewards: o.rewards }),
      },
    },
  };
  if (o.current) exp.status = { currentWeightDistribution: o.current };
  return exp;
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

export const LATENCY = "iter8-knative/mean-latency";
export const ERROR_RATE = "iter8-knative/error-rate";
export const USER_ENGAGEMENT = "iter8-knative/user-engagement";
