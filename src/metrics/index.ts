// Wiring for platforms: one MetricsProvider that answers every kind of Metric (mock, HTTP backend,
// built-in), configured from options and the environment.

import type { Metric } from "../api/types.ts";
import type { MetricsProvider, ObjectKey } from "../engine/ports.ts";
import { BuiltinMetricsProvider, type VersionStatsSource } from "./builtin-provider.ts";
import { CompositeBuiltinProvider } from "./collected-hists-provider.ts";
import { HttpMetricsProvider } from "./http-provider.ts";
import { ChainSecretSource, EnvSecretSource, FileSecretSource, type SecretSource } from "./secrets.ts";

export type { VersionStatsSnapshot, VersionStatsSource } from "./builtin-provider.ts";
export { BUILTIN_METRICS, BuiltinMetricsProvider, percentileOf, versionLabel } from "./builtin-provider.ts";
export {
  CollectedHistogramsProvider,
  CompositeBuiltinProvider,
  hasCollectedHistogram,
  histogramPercentile,
} from "./collected-hists-provider.ts";
export type { HttpMetricsProviderOptions } from "./http-provider.ts";
export { CLUSTER_PROMETHEUS_URL, HttpMetricsProvider, prometheusHint } from "./http-provider.ts";
export type { SecretRef, SecretSource } from "./secrets.ts";
export {
  ChainSecretSource,
  EnvSecretSource,
  FileSecretSource,
  parseSecrets,
  SecretSourceError,
} from "./secrets.ts";
export { elapsedSeconds, safeSubstitute, versionVariables } from "./template.ts";

export interface LocalMetricsOptions {
  /** The router's metrics (for `provider: iter8` metrics). */
  routerStats?: VersionStatsSource;
  /** Base URL of the Prometheus that replaces the in-cluster one; default `$ITER8_PROMETHEUS_URL`. */
  prometheusUrl?: string;
  /** A YAML/JSON file of Secret objects; default `$ITER8_SECRETS_FILE`. Env secrets are always consulted. */
  secretsFile?: string;
  /** For `sampleSize` references outside the experiment's `status.metrics`. */
  resolveMetric?: (key: ObjectKey) => Promise<Metric | undefined>;
  timeoutMs?: number;
  /** Largest backend response read; default `$ITER8_METRICS_MAX_RESPONSE_BYTES`, else 1 MiB. */
  maxResponseBytes?: number;
  env?: Readonly<Record<string, string | undefined>>;
}

export interface LocalMetrics {
  provider: MetricsProvider;
  /** Present when `routerStats` was given: call `markStart(experiment)` when the experiment starts. */
  builtin?: BuiltinMetricsProvider;
}

/** What both platforms give the one function that composes their metrics port. */
export interface MetricsPortOptions {
  /** Where Metric `spec.secret` references are read (files and env locally, Secrets on a cluster). */
  secrets: SecretSource;
  /** The router's per-version stats; absent on a cluster, where only collected histograms answer. */
  routerStats?: VersionStatsSource;
  /** Replaces the in-cluster Prometheus URL of metrics that use it. */
  prometheusUrl?: string;
  resolveMetric?: (key: ObjectKey) => Promise<Metric | undefined>;
  timeoutMs?: number;
}

/**
 * The metrics port of a platform: mock, HTTP (Prometheus, ...) and built-in (`provider: iter8`)
 * metrics behind one provider. Built-in metrics are the histograms written by `metrics/collect`
 * for a version that has them, else the router's own per-version stats (local runs).
 */
export function composeMetrics(options: MetricsPortOptions): LocalMetrics {
  const builtin =
    options.routerStats === undefined ? undefined : new BuiltinMetricsProvider(options.routerStats);
  const provider = new HttpMetricsProvider({
    secrets: options.secrets,
    builtin: new CompositeBuiltinProvider(builtin),
    ...(options.prometheusUrl === undefined ? {} : { prometheusUrl: options.prometheusUrl }),
    ...(options.resolveMetric === undefined ? {} : { resolveMetric: options.resolveMetric }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  return builtin === undefined ? { provider } : { provider, builtin };
}

/** The provider a local run uses: secrets from a file and the environment, Prometheus from the env. */
export function createLocalMetrics(options: LocalMetricsOptions = {}): LocalMetrics {
  const env = options.env ?? process.env;
  const sources: SecretSource[] = [];
  const file = options.secretsFile ?? env.ITER8_SECRETS_FILE;
  if (file !== undefined && file !== "") sources.push(new FileSecretSource(file));
  sources.push(new EnvSecretSource(env));
  const prometheusUrl = options.prometheusUrl ?? (env.ITER8_PROMETHEUS_URL || undefined);
  return composeMetrics({
    secrets: new ChainSecretSource(sources),
    ...(options.routerStats === undefined ? {} : { routerStats: options.routerStats }),
    ...(prometheusUrl === undefined ? {} : { prometheusUrl }),
    ...(options.resolveMetric === undefined ? {} : { resolveMetric: options.resolveMetric }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...maxResponseBytesOption(options.maxResponseBytes, env.ITER8_METRICS_MAX_RESPONSE_BYTES),
  });
}

function maxResponseBytesOption(
  given: number | undefined,
  fromEnv: string | undefined,
): { maxResponseBytes?: number } {
  if (given !== undefined) return { maxResponseBytes: given };
  if (fromEnv === undefined || fromEnv === "") return {};
  const n = Number(fromEnv);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new RangeError(`ITER8_METRICS_MAX_RESPONSE_BYTES must be a positive integer, got ${fromEnv}`);
  }
  return { maxResponseBytes: n };
}
