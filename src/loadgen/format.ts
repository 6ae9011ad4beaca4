// Human-readable rendering of load results and progress, for `iter8 load`.

import { formatDuration } from "./duration.ts";
import type { LatencySummary, LoadProgress, LoadResult } from "./recorder.ts";

export function formatResult(r: LoadResult): string {
  const lines: string[] = [];
  const rate = r.qps > 0 ? `${r.qps} qps target` : "max rate";
  const bound =
    r.requestsLimit !== null
      ? `${r.requestsLimit} requests`
      : r.durationMs !== null
        ? formatDuration(r.durationMs)
        : "until stopped";
  lines.push(`${r.method} ${r.url}: ${r.connections} connections, ${rate}, ${bound}`);
  lines.push(
    `Requests: ${r.answered} answered of ${r.sent} sent in ${formatDuration(r.elapsedMs)} ` +
      `(${fix(r.actualQps, 1)} req/s)` +
      (r.errorCount > 0 ? `, ${r.errorCount} failed without a response` : "") +
      (r.dropped > 0 ? `, ${r.dropped} dropped (due, but no connection free in time)` : "") +
      (r.cancelled > 0 ? `, ${r.cancelled} cancelled` : "") +
      (r.stopReason === "aborted" || r.stopReason === "stopped" ? ` [${r.stopReason}]` : ""),
  );
  const codes = Object.entries(r.statusCodes).map(([c, n]) => `${c}: ${n}`);
  lines.push(`Status codes: ${codes.length > 0 ? codes.join(", ") : "none"}`);
  const errs = Object.entries(r.errors).map(([k, n]) => `${k}: ${n}`);
  if (errs.length > 0) lines.push(`Failed requests (no response): ${errs.join(", ")}`);
  const from = r.qps > 0 ? "from intended send time" : "from send time";
  lines.push(`Latency (ms, ${from}):`);
  lines.push(latencyLine(r.answeredLatencyMs));
  if (r.errorCount > 0)
    lines.push(`  (answered requests only: the ${r.errorCount} failed are not in these figures)`);
  if (r.serviceTimeMs !== null && r.serviceTimeMs.count > 0) {
    lines.push("Service time (ms, from actual send time):");
    lines.push(latencyLine(r.serviceTimeMs));
  }
  if (r.pacing !== null) {
    const p = r.pacing;
    lines.push(
      `Pacing: sent at ${fix(p.sendRate, 2)}/s for ${p.targetQps}/s (error ${fix(p.errorPct, 2)} %), ` +
        `lateness p50 ${fix(p.latenessMs.p50, 3)} ms, p99 ${fix(p.latenessMs.p99, 3)} ms, ` +
        `inter-send jitter ${fix(p.interSendJitterMs, 3)} ms`,
    );
  }
  lines.push(`Bytes: ${r.bytesSent} sent, ${r.bytesReceived} received`);
  return `${lines.join("\n")}\n`;
}

function latencyLine(l: LatencySummary): string {
  if (l.count === 0) return "  (no request answered)";
  return (
    `  min ${fix(l.min, 3)}  mean ${fix(l.mean, 3)}  stdev ${fix(l.stdev, 3)}  max ${fix(l.max, 3)}\n` +
    `  p50 ${fix(l.p50, 3)}  p75 ${fix(l.p75, 3)}  p90 ${fix(l.p90, 3)}  p95 ${fix(l.p95, 3)}  ` +
    `p99 ${fix(l.p99, 3)}  p99.9 ${fix(l.p99_9, 3)}`
  );
}

export function formatProgress(p: LoadProgress): string {
  return (
    `${formatDuration(Math.round(p.elapsedMs))}: ${p.completed} done, ${fix(p.recentQps, 0)} req/s, ` +
    `p50 ${fix(p.p50Ms, 2)} ms, p99 ${fix(p.p99Ms, 2)} ms, ${p.errorCount} errors, ${p.non2xx} non-2xx`
  );
}

function fix(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}
