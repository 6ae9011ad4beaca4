// `metrics/collect`: sends load to each version in turn with the
// built-in load generator and accumulates Fortio-shaped latency histograms and return codes into
// `status.analysis.aggregatedBuiltinHists`, so the built-in metrics can be computed and
// repeated runs in a loop action add up.

import type { Experiment } from "../api/types.ts";
import { errorText } from "../lib/errors.ts";
import {
  type FortioHistogram,
  type FortioResult,
  parseDuration,
  runLoad,
  toFortioResult,
} from "../loadgen/index.ts";
import { sendRequest } from "./http.ts";
import {
  type Input,
  InputError,
  optBool,
  optList,
  optNumber,
  optObject,
  optString,
  problemsOf,
} from "./inputs.ts";
import type { TaskImpl } from "./types.ts";

export const COLLECTOR_PROVENANCE = "Builtin metrics collector";

interface CollectVersion {
  name: string;
  url: string;
  headers: Record<string, string>;
}

interface CollectInput {
  numQueries?: number;
  timeMs?: number;
  qps: number;
  connections: number;
  payloadStr?: string;
  payloadURL?: string;
  contentType?: string;
  loadOnly: boolean;
  versions: CollectVersion[];
}

function readInput(input: Input): CollectInput {
  const versions = (optList(input, "versions") ?? []).map((v, i): CollectVersion => {
    const o = v as Record<string, unknown>;
    if (!v || typeof v !== "object") throw new InputError(`with.versions[${i}] must be a map`);
    if (typeof o["name"] !== "string" || o["name"] === "")
      throw new InputError(`with.versions[${i}].name is required`);
    if (typeof o["url"] !== "string" || !/^https?:\/\//.test(o["url"])) {
      throw new InputError(`with.versions[${i}].url must be an http URL, got ${JSON.stringify(o["url"])}`);
    }
    const headers: Record<string, string> = {};
    const h = optObject(o, "headers");
    for (const [k, val] of Object.entries(h ?? {})) {
      if (typeof val !== "string") throw new InputError(`with.versions[${i}].headers.${k} must be a string`);
      headers[k] = val;
    }
    return { name: o["name"], url: o["url"], headers };
  });
  if (versions.length === 0) throw new InputError("with.versions needs at least one version");
  const time = optString(input, "time");
  const out: CollectInput = {
    qps: optNumber(input, "qps", 8, { min: 0 }),
    connections: optNumber(input, "connections", 4, { min: 1, integer: true }),
    loadOnly: optBool(input, "loadOnly", false),
    versions,
  };
  const n =
    input["numQueries"] === undefined
      ? undefined
      : optNumber(input, "numQueries", 0, { min: 1, integer: true });
  if (n !== undefined) out.numQueries = n;
  else if (time !== undefined) {
    try {
      out.timeMs = parseDuration(time, "time");
    } catch (err) {
      throw new InputError(`with.time: ${errorText(err)}`);
    }
  } else out.numQueries = 100;
  const payloadStr = optString(input, "payloadStr");
  if (payloadStr !== undefined) out.payloadStr = payloadStr;
  const payloadURL = optString(input, "payloadURL");
  if (payloadURL !== undefined) out.payloadURL = payloadURL;
  const contentType = optString(input, "contentType");
  if (contentType !== undefined) out.contentType = contentType;
  return out;
}

function mergeHistogram(a: FortioHistogram, b: FortioHistogram): FortioHistogram {
  const count = a.Count + b.Count;
  const sum = a.Sum + b.Sum;
  return {
    Count: count,
    Min: a.Count === 0 ? b.Min : b.Count === 0 ? a.Min : Math.min(a.Min, b.Min),
    Max: Math.max(a.Max, b.Max),
    Sum: sum,
    Avg: count > 0 ? sum / count : 0,
    Data: [...a.Data, ...b.Data],
  };
}

/** Adds one run's result to what earlier runs collected for a version. */
export function mergeFortio(previous: FortioResult | undefined, next: FortioResult): FortioResult {
  if (!previous?.DurationHistogram) return next;
  const RetCodes: Record<string, number> = { ...(previous.RetCodes ?? {}) };
  for (const [code, n] of Object.entries(next.RetCodes)) RetCodes[code] = (RetCodes[code] ?? 0) + n;
  return { DurationHistogram: mergeHistogram(previous.DurationHistogram, next.DurationHistogram), RetCodes };
}

function store(exp: Experiment, version: string, result: FortioResult, now: Date): void {
  exp.status ??= {};
  exp.status.analysis ??= {};
  const analysis = exp.status.analysis;
  const previous = analysis.aggregatedBuiltinHists?.data as Record<string, FortioResult> | undefined;
  const data: Record<string, FortioResult> = { ...(previous ?? {}) };
  data[version] = mergeFortio(data[version], result);
  analysis.aggregatedBuiltinHists = { provenance: COLLECTOR_PROVENANCE, timestamp: now.toISOString(), data };
}

export const collectTask: TaskImpl = {
  name: "metrics/collect",
  effects: ["aggregatedBuiltinHists"],
  validate: (input) => problemsOf(() => readInput(input)),
  timeoutMs: (input) => {
    const r = readInput(input);
    const perVersion = r.timeMs ?? (r.qps > 0 ? ((r.numQueries ?? 100) / r.qps) * 1000 : 300_000);
    return r.versions.length * perVersion + 30_000;
  },
  async run(ctx, input) {
    const r = readInput(input);
    let body: string | undefined = r.payloadStr;
    if (r.payloadURL) {
      const res = await sendRequest({
        url: r.payloadURL,
        method: "GET",
        headers: {},
        timeoutMs: 10_000,
        signal: ctx.signal,
      });
      body = res.body;
    }
    const versionNames = new Set(
      [ctx.experiment.spec.versionInfo?.baseline, ...(ctx.experiment.spec.versionInfo?.candidates ?? [])]
        .filter((v) => v !== undefined)
        .map((v) => v.name),
    );
    for (const v of r.versions) {
      const opts: Parameters<typeof runLoad>[0] = {
        url: v.url,
        headers: v.headers,
        qps: r.qps,
        connections: r.connections,
      };
      if (r.numQueries !== undefined) opts.requests = r.numQueries;
      else opts.duration = r.timeMs!;
      if (body !== undefined) opts.body = body;
      if (r.contentType !== undefined) opts.contentType = r.contentType;
      const result = await runLoad(opts, ctx.signal);
      if (ctx.signal.aborted) throw new Error(`load for version ${v.name} was cancelled`);
      const fortio = toFortioResult(result);
      ctx.log(
        `version ${v.name}: ${fortio.DurationHistogram.Count} responses, codes ${JSON.stringify(fortio.RetCodes)}${versionNames.has(v.name) ? "" : " (pseudo version)"}\n`,
      );
      if (!r.loadOnly) store(ctx.experiment, v.name, fortio, ctx.clock.now());
    }
    ctx.log("metrics collection completed for all versions\n");
  },
};
