// Experiments and Metrics for engine tests, shaped like the seed tutorials.

import type { Experiment, Metric, VersionDetail } from "../../../src/api/types.ts";
import type { Engine, ReconcileResult } from "../../../src/engine/engine.ts";
import type { ObjectKey } from "../../../src/engine/ports.ts";
import {
  experimentFixture,
  knativeObjectives,
  knativeTrafficRef,
  metricFixture,
  version as versionFixture,
} from "../../support/experiments.ts";
import type { FakeClock } from "./fakes.ts";

export function metric(ns: string, name: string, sampleSize?: string): Metric {
  return metricFixture(`${ns}/${name}`, {
    provider: "prometheus",
    jqExpression: ".data.result[0].value[1] | tonumber",
    urlTemplate: "http://prom",
    ...(sampleSize ? { sampleSize } : {}),
  });
}

export const KNATIVE_METRICS: Metric[] = [
  metric("iter8-knative", "request-count"),
  metric("iter8-knative", "mean-latency", "iter8-knative/request-count"),
  metric("iter8-knative", "error-rate", "iter8-knative/request-count"),
  metric("iter8-knative", "95th-percentile-tail-latency", "iter8-knative/request-count"),
];

/** A version with its variables (a list even when empty), at `default/sample-app`'s traffic `index`. */
export function version(
  name: string,
  index: number | undefined,
  vars: Record<string, string> = {},
): VersionDetail {
  return versionFixture(
    name,
    vars,
    index === undefined ? undefined : knativeTrafficRef("sample-app", index, "default"),
  );
}

/** Iter8 v2's worked example: Canary, Progressive, 10 s interval, 3 iterations, two objectives, finish action. */
export function traceExperiment(name = "exp"): Experiment {
  return experimentFixture({
    name,
    target: "default/sample-app",
    deploymentPattern: "Progressive",
    actions: { finish: [{ task: "common/exec", with: { cmd: "true" } }] },
    criteria: { objectives: knativeObjectives() },
    duration: { intervalSeconds: 10, iterationsPerLoop: 3, maxLoops: 1 },
    versions: [
      version("sample-app-v1", 0, { promote: "baseline" }),
      version("sample-app-v2", 1, { promote: "candidate" }),
    ],
  });
}

export function keyOf(exp: Experiment): ObjectKey {
  return { namespace: exp.metadata.namespace ?? "default", name: exp.metadata.name };
}

export interface DriveLog {
  results: ReconcileResult[];
}

/**
 * Drives experiments with reconcile alone, like a controller would: waits for running actions,
 * and advances the fake clock to the earliest requested requeue when nothing is due.
 */
export async function drive(
  engine: Engine,
  clock: FakeClock,
  keys: ObjectKey[],
  opts: { maxSteps?: number; until?: () => boolean } = {},
): Promise<void> {
  const due = new Map<string, number>(keys.map((k) => [`${k.namespace}/${k.name}`, clock.ms]));
  const done = new Set<string>();
  for (let step = 0; step < (opts.maxSteps ?? 2000); step++) {
    if (opts.until?.()) return;
    if (done.size === keys.length) return;
    const ready = keys.filter((k) => {
      const id = `${k.namespace}/${k.name}`;
      return !done.has(id) && (due.get(id) ?? 0) <= clock.ms;
    });
    if (ready.length === 0) {
      const next = Math.min(
        ...keys
          .filter((k) => !done.has(`${k.namespace}/${k.name}`))
          .map((k) => due.get(`${k.namespace}/${k.name}`)!),
      );
      clock.advance(next - clock.ms);
      continue;
    }
    for (const k of ready) {
      const id = `${k.namespace}/${k.name}`;
      const r = await engine.reconcile(k);
      if (r.done) done.add(id);
      else if (r.pending) {
        await r.pending;
        due.set(id, clock.ms);
      } else due.set(id, clock.ms + (r.requeueAfterMs ?? 0));
    }
  }
  throw new Error("drive: experiments did not complete within the step limit");
}
