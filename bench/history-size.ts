// `node bench/history-size.ts [ITERATIONS] [VERSIONS] [METRICS]`: how large an experiment's status
// grows with status.history, for a long run on a virtual clock (the engine as the controller runs
// it, with in-memory ports). Prints the largest status written, the history's share and its shape,
// against the Kubernetes API server's ~1.5 MB object limit. Defaults: 1,000 iterations, 2 versions,
// 4 metrics (the seeds' shape).

import type { Experiment, Metric, VersionWeight } from "../src/api/types.ts";
import { Engine } from "../src/engine/engine.ts";
import type {
  ActionName,
  ActionResult,
  Clock,
  ExperimentStore,
  MetricQuery,
  ObjectKey,
  WeightField,
} from "../src/engine/ports.ts";

const [iterations = 1000, versions = 2, metricCount = 4] = process.argv.slice(2).map(Number);
const API_SERVER_LIMIT = 1.5 * 1024 * 1024;

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
        ? { rewards: [{ metric: `bench/${metrics[0]!.metadata.name}`, preferredDirection: "Low" as const }] }
        : {}),
    },
    duration: { intervalSeconds: 60, iterationsPerLoop: iterations, maxLoops: 1 },
    versionInfo: {
      baseline: { name: names[0]!, weightObjRef: { kind: "App", name: "app", fieldPath: ".w[0]" } },
      candidates: names
        .slice(1)
        .map((name, i) => ({ name, weightObjRef: { kind: "App", name: "app", fieldPath: `.w[${i + 1}]` } })),
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

const started = Date.now();
const key = { namespace: "bench", name: "long" };
for (let step = 0; step < iterations * 3 + 100; step++) {
  const r = await engine.reconcile(key);
  if (r.done) break;
  if (r.pending) await r.pending;
  now += r.requeueAfterMs ?? 0;
}
engine.close();
const h = stored.status?.history;
const historyBytes = JSON.stringify(h ?? {}).length;
const figures = {
  iterations: stored.status?.completedIterations,
  versions,
  metrics: metricCount,
  largest_object_bytes: largest,
  history_bytes: historyBytes,
  history_recent: h?.recent.length,
  history_older: h?.older?.length ?? 0,
  history_stride: h?.stride ?? 1,
  share_of_api_server_limit_pct: Number(((100 * largest) / API_SERVER_LIMIT).toFixed(1)),
  elapsed_s: Number(((Date.now() - started) / 1000).toFixed(1)),
};
process.stdout.write(
  `${figures.iterations} iterations, ${versions} versions, ${metricCount} metrics: largest object ${(largest / 1024).toFixed(1)} KiB (${figures.share_of_api_server_limit_pct} % of the API server's 1.5 MiB), history ${(historyBytes / 1024).toFixed(1)} KiB = ${figures.history_recent} detailed + ${figures.history_older} compact records (stride ${figures.history_stride})\n${JSON.stringify(figures)}\n`,
);
