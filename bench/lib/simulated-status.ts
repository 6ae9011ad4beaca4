// A long experiment run by the real engine on a virtual clock, with in-memory ports (as the
// controller runs it, without a cluster): the status it would write, for benchmarks that need a
// realistic one (its size, or what storing it costs an API server).

import type { Experiment, Metric, VersionWeight } from "../../src/api/types.ts";
import { Engine } from "../../src/engine/engine.ts";
import type {
  ActionName,
  ActionResult,
  Clock,
  ExperimentStore,
  MetricQuery,
  ObjectKey,
  WeightField,
} from "../../src/engine/ports.ts";

export interface SimulatedRun {
  /** The experiment as last written. */
  experiment: Experiment;
  /** The largest object written, as JSON bytes. */
  largestBytes: number;
}

/** Runs `iterations` iterations over `versions` versions and `metricCount` metrics. */
export async function simulateRun(
  iterations: number,
  versions: number,
  metricCount: number,
): Promise<SimulatedRun> {
  let now = Date.parse("2026-01-01T00:00:00Z");
  const clock: Clock = {
    now: () => new Date(now),
    sleep: async (ms) => {
      now += ms;
    },
  };

  const names = Array.from({ length: versions }, (_, i) => `v${i + 1}`);
  const metrics: Metric[] = Array.from({ length: metricCount }, (_, i) => ({
    apiVersion: "iter8.tools/v2alpha2",
    kind: "Metric",
    metadata: { name: `metric-${i}`, namespace: "bench" },
    spec: { provider: "prometheus", urlTemplate: "http://unused", jqExpression: "." },
  }));
  let stored: Experiment = {
    apiVersion: "iter8.tools/v2alpha2",
    kind: "Experiment",
    metadata: { name: "long", namespace: "bench", resourceVersion: "1" },
    spec: {
      target: "bench/app",
      strategy: { testingPattern: versions > 2 ? "A/B/N" : "Canary", deploymentPattern: "Progressive" },
      criteria: {
        objectives: metrics
          .slice(0, Math.max(1, metricCount - 1))
          .map((m) => ({ metric: `bench/${m.metadata.name}`, upperLimit: 1000 })),
        ...(versions > 2
          ? {
              rewards: [{ metric: `bench/${metrics[0]!.metadata.name}`, preferredDirection: "Low" as const }],
            }
          : {}),
      },
      duration: { intervalSeconds: 60, iterationsPerLoop: iterations, maxLoops: 1 },
      versionInfo: {
        baseline: { name: names[0]!, weightObjRef: { kind: "App", name: "app", fieldPath: ".w[0]" } },
        candidates: names.slice(1).map((name, i) => ({
          name,
          weightObjRef: { kind: "App", name: "app", fieldPath: `.w[${i + 1}]` },
        })),
      },
    },
  };
  let largest = 0;
  const store: ExperimentStore = {
    get: async () => structuredClone(stored),
    list: async () => [structuredClone(stored)],
    listByTarget: async (target) => (stored.spec.target === target ? [structuredClone(stored)] : []),
    updateStatus: async (e) => {
      stored = {
        ...structuredClone(e),
        metadata: { ...e.metadata, resourceVersion: String(Number(e.metadata.resourceVersion) + 1) },
      };
      largest = Math.max(largest, JSON.stringify(stored).length);
      return structuredClone(stored);
    },
    updateSpec: async (e) => {
      stored = structuredClone(e);
      return stored;
    },
    getMetric: async (k: ObjectKey) => metrics.find((m) => m.metadata.name === k.name),
  };
  let weights: VersionWeight[] = names.map((name, i) => ({ name, value: i === 0 ? 100 : 0 }));
  const engine = new Engine({
    store,
    clock,
    actuator: {
      readFields: async (fields: readonly WeightField[]) =>
        fields.map((f) => weights.find((w) => w.name === f.version)?.value),
      writeFields: async (writes) => {
        weights = writes.map((w) => ({ name: w.field.version, value: w.value }));
      },
    },
    metrics: {
      read: async (q: MetricQuery) => ({
        value: 10 + (now % 997) / 10 + q.version.name.length,
        sampleSize: 1000,
      }),
    },
    tasks: {
      run: async (_a: ActionName, experiment: Experiment): Promise<ActionResult> => ({
        ok: true,
        tasks: [],
        effects: {},
        experiment,
      }),
    },
  });

  const key = { namespace: "bench", name: "long" };
  for (let step = 0; step < iterations * 3 + 100; step++) {
    const r = await engine.reconcile(key);
    if (r.done) break;
    if (r.pending) await r.pending;
    now += r.requeueAfterMs ?? 0;
  }
  engine.close();
  return { experiment: stored, largestBytes: largest };
}
