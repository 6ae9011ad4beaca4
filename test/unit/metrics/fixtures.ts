// Shared builders for metrics tests: an experiment with two versions and Metric objects.

import type { Experiment, Metric, MetricSpec, VersionDetail } from "../../../src/api/types.ts";
import type { MetricQuery } from "../../../src/engine/ports.ts";
import { experimentFixture, metricFixture, metricInfo, version } from "../../support/experiments.ts";

export const START = "2026-01-01T00:00:00Z";

export function experiment(
  overrides: { completedIterations?: number; metrics?: Metric[]; startTime?: string } = {},
): Experiment {
  return experimentFixture({
    name: "canary",
    namespace: "shop",
    metadata: { uid: "u-1" },
    target: "shop/sample-app",
    versions: [
      version("current", { revision: "sample-app-v1" }),
      version("candidate", { revision: "sample-app-v2" }),
    ],
    status: {
      startTime: overrides.startTime ?? START,
      completedIterations: overrides.completedIterations ?? 0,
      metrics: (overrides.metrics ?? []).map((m) => metricInfo(m)),
    },
  });
}

export function metric(name: string, spec: MetricSpec, namespace = "iter8-knative"): Metric {
  return metricFixture(`${namespace}/${name}`, spec);
}

export function baseline(e: Experiment): VersionDetail {
  return e.spec.versionInfo!.baseline;
}

export function candidate(e: Experiment): VersionDetail {
  return e.spec.versionInfo!.candidates![0]!;
}

/** A query `seconds` after the experiment's start. */
export function query(e: Experiment, m: Metric, version: VersionDetail, seconds: number): MetricQuery {
  return {
    experiment: e,
    metricKey: `${m.metadata.namespace}/${m.metadata.name}`,
    metric: m,
    version,
    now: new Date(Date.parse(e.status!.startTime!) + seconds * 1000),
  };
}
