// A large metrics response against the HTTP metrics provider: how long a 2 MB Prometheus answer
// takes to be evaluated by jq (cap raised to 4 MiB) or refused as too large (default 1 MiB cap), and
// how much the main thread stalls meanwhile: the event loop's worst delay, and the worst latency of
// GETs sent every 10 ms to an HTTP server in the same process (as the router shares a local run's
// process). Run: `node bench/metrics-jq.ts [--json]`.

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Experiment, Metric } from "../src/api/types.ts";
import { HttpMetricsProvider } from "../src/metrics/http-provider.ts";

const ROUNDS = 5;
const SERIES = 22_000; // about 2 MB of vector samples

function prometheusAnswer(): string {
  const result = Array.from({ length: SERIES }, (_, i) => ({
    metric: { revision_name: `sample-app-v${i % 7}`, pod: `pod-${i}` },
    value: [1_700_000_000.123, String(i % 97)],
  }));
  return JSON.stringify({ status: "success", data: { resultType: "vector", result } });
}

const body = prometheusAnswer();
const backend = createServer((_req, res) =>
  res.writeHead(200, { "content-type": "application/json" }).end(body),
);
const pinged = createServer((_req, res) => res.end("ok"));
await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
await new Promise<void>((r) => pinged.listen(0, "127.0.0.1", r));
const backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}/api/v1/query`;
const pingUrl = `http://127.0.0.1:${(pinged.address() as AddressInfo).port}/`;

const experiment = {
  apiVersion: "iter8.tools/v2alpha2",
  kind: "Experiment",
  metadata: { name: "bench", namespace: "default" },
  spec: { target: "t", strategy: { testingPattern: "Canary" } },
  status: { startTime: new Date(Date.now() - 60_000).toISOString(), completedIterations: 0 },
} as unknown as Experiment;
const metric = {
  apiVersion: "iter8.tools/v2alpha2",
  kind: "Metric",
  metadata: { name: "big", namespace: "default" },
  spec: { urlTemplate: backendUrl, jqExpression: "[.data.result[].value[1] | tonumber] | add" },
} as unknown as Metric;

interface Figures {
  reading: string;
  worstMs: number;
  eventLoopMaxMs: number;
  pingMaxMs: number;
}

async function measure(provider: HttpMetricsProvider): Promise<Figures> {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  let pingMax = 0;
  let running = true;
  const pings = (async () => {
    while (running) {
      const t = performance.now();
      await (await fetch(pingUrl)).text();
      pingMax = Math.max(pingMax, performance.now() - t);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  await new Promise((r) => setTimeout(r, 50));
  delay.enable();
  let worst = 0;
  let reading = "";
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    const exp = { ...experiment, status: { ...experiment.status, completedIterations: i } };
    const r = await provider.read({
      experiment: exp,
      metricKey: "default/big",
      metric,
      version: { name: "v1" },
      now: new Date(),
    });
    worst = Math.max(worst, performance.now() - t);
    reading = r.value !== undefined ? `value ${r.value}` : `error: ${r.error}`;
  }
  delay.disable();
  running = false;
  await pings;
  return { reading, worstMs: worst, eventLoopMaxMs: delay.max / 1e6, pingMaxMs: pingMax };
}

// Warm the jq thread (loading the WebAssembly module is a one-time cost of the first query).
await measure(new HttpMetricsProvider({ maxResponseBytes: 8 * 1024 * 1024 }));
const refused = await measure(new HttpMetricsProvider());
const evaluated = await measure(new HttpMetricsProvider({ maxResponseBytes: 4 * 1024 * 1024 }));
backend.close();
pinged.close();

const round = (n: number) => Math.round(n * 10) / 10;
const out = {
  response_bytes: Buffer.byteLength(body),
  refused_worst_ms: round(refused.worstMs),
  refused_event_loop_max_ms: round(refused.eventLoopMaxMs),
  refused_ping_max_ms: round(refused.pingMaxMs),
  evaluated_worst_ms: round(evaluated.worstMs),
  evaluated_event_loop_max_ms: round(evaluated.eventLoopMaxMs),
  evaluated_ping_max_ms: round(evaluated.pingMaxMs),
};
if (process.argv.includes("--json")) process.stdout.write(`${JSON.stringify(out)}\n`);
else {
  process.stdout.write(`response: ${out.response_bytes} bytes, ${ROUNDS} reads each (worst shown)\n`);
  process.stdout.write(
    `default 1 MiB cap: ${refused.reading.slice(0, 90)}…\n  time ${out.refused_worst_ms} ms, event loop max delay ${out.refused_event_loop_max_ms} ms, in-process GET max ${out.refused_ping_max_ms} ms\n`,
  );
  process.stdout.write(
    `4 MiB cap: ${evaluated.reading}\n  time ${out.evaluated_worst_ms} ms, event loop max delay ${out.evaluated_event_loop_max_ms} ms, in-process GET max ${out.evaluated_ping_max_ms} ms\n`,
  );
}
