// `node bench/history-size.ts [ITERATIONS] [VERSIONS] [METRICS]`: how large an experiment's status
// grows with status.history, for a long run on a virtual clock (the engine as the controller runs
// it, with in-memory ports). Prints the largest status written, the history's share and its shape,
// against the Kubernetes API server's ~1.5 MB object limit. Defaults: 1,000 iterations, 2 versions,
// 4 metrics (the seeds' shape).

import { simulateRun } from "./lib/simulated-status.ts";

const [iterations = 1000, versions = 2, metricCount = 4] = process.argv.slice(2).map(Number);
const API_SERVER_LIMIT = 1.5 * 1024 * 1024;

const started = Date.now();
const { experiment: stored, largestBytes: largest } = await simulateRun(iterations, versions, metricCount);
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
