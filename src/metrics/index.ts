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

/** The provider a local run uses: mock, HTTP (Prometheus, ...) and built-in metrics behind one port. */
export function createLocalMetrics(options: LocalMetricsOptions = {}): LocalMetrics {
  const env = options.env ?? process.env;
  const sources: SecretSource[] = [];
  const file = options.secretsFile ?? env.ITER8_SECRETS_FILE;
  if (file !== undefined && file !== "") sources.push(new FileSecretSource(file));
  sources.push(new EnvSecretSource(env));
  const builtin =
    options.routerStats === undefined ? undefined : new BuiltinMetricsProvider(options.routerStats);
  const prometheusUrl = options.prometheusUrl ?? (env.ITER8_PROMETHEUS_URL || undefined);
  // `provider: iter8` metrics: histograms written by `metrics/collect` win for a version that has
  // them; otherwise the router's own per-version stats answer.
  const provider = new HttpMetricsProvider({
    secrets: new ChainSecretSource(sources),
    builtin: new CompositeBuiltinProvider(builtin),
    ...(prometheusUrl === undefined ? {} : { prometheusUrl }),
    ...(options.resolveMetric === undefined ? {} : { resolveMetric: options.resolveMetric }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...maxResponseBytesOption(options.maxResponseBytes, env.ITER8_METRICS_MAX_RESPONSE_BYTES),
  });
  return builtin === undefined ? { provider } : { provider, builtin };
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
