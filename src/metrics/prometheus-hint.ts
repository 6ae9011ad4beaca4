// Prometheus's own explanation of an answer that jq could not turn into a number. Pure: it runs on
// the jq thread next to the evaluation, so a large answer is parsed there, not on the main thread.

import { isRecord } from "../lib/objects.ts";
/** Prometheus's own explanation of a result jq could not turn into a number, when there is one. */
export function prometheusHint(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  if (body.status === "error") return `Prometheus error ${String(body.errorType)}: ${String(body.error)}`;
  const data = body.data;
  if (body.status !== "success" || !isRecord(data)) return undefined;
  if (data.resultType === "vector" && Array.isArray(data.result)) {
    if (data.result.length === 0) return "Prometheus returned an empty vector (no series matched)";
    const first = data.result[0];
    const v = isRecord(first) && Array.isArray(first.value) ? first.value[1] : undefined;
    if (v === "NaN" || v === "+Inf" || v === "-Inf") return `Prometheus returned ${v}`;
  }
  if (data.resultType === "scalar" && Array.isArray(data.result)) {
    const v = data.result[1];
    if (v === "NaN" || v === "+Inf" || v === "-Inf") return `Prometheus returned ${v}`;
  }
  return undefined;
}
