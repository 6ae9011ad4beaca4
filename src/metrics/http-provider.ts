// Reads a Metric resource's value for one version: mock
// metrics are computed, `provider: iter8` metrics go to the built-in provider, everything else is an
// HTTP query (Prometheus, New Relic, ...) whose JSON response is reduced to a number by jq.
//
// Every backend problem becomes `{error}` naming the metric, the version and the cause; nothing is
// thrown, and failures are not cached, so the next read asks the backend again.

import { DEFAULT_INSTALL_NAMESPACE, namespaceOf } from "../api/refs.ts";
import type { Metric } from "../api/types.ts";
import type { MetricQuery, MetricReading, MetricsProvider, ObjectKey } from "../engine/ports.ts";
import { jqResponseNumber, snippet } from "./jq.ts";

export { prometheusHint } from "./prometheus-hint.ts";

import { mockValue, type Random, seededRandom } from "./mock.ts";
import type { SecretRef, SecretSource } from "./secrets.ts";
import { elapsedSeconds, safeSubstitute, versionVariables } from "./template.ts";

/** The Prometheus address the sample metrics use in a cluster (deploy/metrics/iter8-knative.yaml). */
export const CLUSTER_PROMETHEUS_URL = "http://prometheus-operated.iter8-system:9090";
/** Where bare secret names fall back to, as in the original (the analytics' namespace). */

export interface HttpMetricsProviderOptions {
  /** Credentials for metrics with `spec.secret`. Without it such metrics are unavailable. */
  secrets?: SecretSource;
  /** Per-request timeout; default 5000 ms, as the original analytics. */
  timeoutMs?: number;
  /** Answers `provider: iter8` metrics (the router's built-in metrics). */
  builtin?: MetricsProvider;
  /**
   * Finds the Metric named by a `sampleSize` reference when it is not in the experiment's
   * `status.metrics` (e.g. `ExperimentStore.getMetric`).
   */
  resolveMetric?: (key: ObjectKey) => Promise<Metric | undefined>;
  /** Randomness for mock Gauges; default a generator seeded with 17, so runs are reproducible. */
  random?: Random;
  /**
   * Sends queries addressed to `CLUSTER_PROMETHEUS_URL` to this base URL instead, so the sample
   * metrics work unchanged against a local Prometheus (the local platform passes its server's URL;
   * `ITER8_PROMETHEUS_URL` is the user-facing way to set it).
   */
  prometheusUrl?: string;
  /** Namespace for bare secret names when the Metric's own namespace has no such secret. */
  installNamespace?: string;
  /**
   * Largest response body read from a backend; a larger one is a "response too large" reading.
   * Default `DEFAULT_MAX_RESPONSE_BYTES` (1 MiB).
   */
  maxResponseBytes?: number;
  /** Longest one jq evaluation may run (on the jq thread). Default 2 s. */
  jqTimeoutMs?: number;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
/** Same-origin redirects followed per query; a redirect to another origin is never followed. */
const MAX_REDIRECTS = 5;

type Outcome = { value: number } | { error: string };

/** Experiments whose current-iteration values are kept (the product aims at 1,000 concurrent ones). */
const MAX_CACHED_EXPERIMENTS = 2000;

export class HttpMetricsProvider implements MetricsProvider {
  readonly #secrets: SecretSource | undefined;
  readonly #timeoutMs: number;
  readonly #builtin: MetricsProvider | undefined;
  readonly #resolveMetric: ((key: ObjectKey) => Promise<Metric | undefined>) | undefined;
  readonly #random: Random;
  readonly #prometheusUrl: string | undefined;
  readonly #installNamespace: string;
  readonly #maxResponseBytes: number;
  readonly #jqTimeoutMs: number | undefined;
  /** Per experiment: the iteration the cached values belong to, and the values (successes only). */
  readonly #cache = new Map<string, { iteration: number; values: Map<string, Promise<Outcome>> }>();

  constructor(options: HttpMetricsProviderOptions = {}) {
    this.#secrets = options.secrets;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    if (!(this.#timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${options.timeoutMs}`);
    this.#builtin = options.builtin;
    this.#resolveMetric = options.resolveMetric;
    this.#random = options.random ?? seededRandom(17);
    this.#prometheusUrl = options.prometheusUrl?.replace(/\/+$/, "");
    this.#installNamespace = options.installNamespace ?? DEFAULT_INSTALL_NAMESPACE;
    this.#maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    if (!(this.#maxResponseBytes > 0))
      throw new RangeError(`maxResponseBytes must be > 0, got ${options.maxResponseBytes}`);
    this.#jqTimeoutMs = options.jqTimeoutMs;
  }

  async read(query: MetricQuery): Promise<MetricReading> {
    try {
      return await this.#read(query);
    } catch (e) {
      // Defensive: a bug or an unexpected backend shape must not crash the engine's iteration.
      return {
        error: describe(query.metricKey, query.version.name, `unexpected failure: ${(e as Error).message}`),
      };
    }
  }

  async #read(query: MetricQuery): Promise<MetricReading> {
    const { metric, metricKey, version } = query;
    if (metric.spec.provider === "iter8" && metric.spec.mock === undefined) {
      if (this.#builtin === undefined) {
        return {
          error: describe(
            metricKey,
            version.name,
            "built-in (provider: iter8) metrics are not available here",
          ),
        };
      }
      return this.#builtin.read(query);
    }
    const main = await this.#cached(query, metricKey, metric);
    if ("error" in main) return { error: describe(metricKey, version.name, main.error) };
    const reading: MetricReading = { value: main.value };
    // A sample size is evidence next to the value; failing to get one never costs the value.
    const sampleSize = await this.#sampleSize(query).catch(() => undefined);
    if (sampleSize !== undefined) reading.sampleSize = sampleSize;
    return reading;
  }

  /** The referenced `sampleSize` metric's value for the same version, when it can be read. */
  async #sampleSize(query: MetricQuery): Promise<number | undefined> {
    const ref = query.metric.spec.sampleSize;
    if (ref === undefined) return undefined;
    const key = qualify(ref, namespaceOf(query.metric));
    const sampleMetric = await this.#findMetric(query, key);
    if (sampleMetric === undefined) return undefined;
    if (sampleMetric.spec.provider === "iter8" && sampleMetric.spec.mock === undefined) {
      const r = await this.#builtin?.read({
        ...query,
        metricKey: `${key.namespace}/${key.name}`,
        metric: sampleMetric,
      });
      return r?.value;
    }
    const out = await this.#cached(query, `${key.namespace}/${key.name}`, sampleMetric);
    return "value" in out ? out.value : undefined;
  }

  async #findMetric(query: MetricQuery, key: ObjectKey): Promise<Metric | undefined> {
    const name = `${key.namespace}/${key.name}`;
    const known = query.experiment.status?.metrics?.find((m) => m.name === name);
    if (known !== undefined) return known.metricObj;
    return this.#resolveMetric?.(key);
  }

  /** One backend evaluation per (experiment, iteration, metric, version); failures are retried. */
  #cached(query: MetricQuery, metricKey: string, metric: Metric): Promise<Outcome> {
    const exp = query.experiment;
    const expKey = `${namespaceOf(exp)}/${exp.metadata.name}/${exp.metadata.uid ?? ""}/${exp.status?.startTime ?? ""}`;
    const iteration = exp.status?.completedIterations ?? 0;
    let entry = this.#cache.get(expKey);
    if (entry === undefined || entry.iteration !== iteration) {
      entry = { iteration, values: new Map() };
      this.#cache.delete(expKey); // re-inserted last: the map's order is least recently advanced first
      this.#cache.set(expKey, entry);
      // Finished experiments are never read again; keep only the most recently active ones.
      for (const oldest of this.#cache.keys()) {
        if (this.#cache.size <= MAX_CACHED_EXPERIMENTS) break;
        this.#cache.delete(oldest);
      }
    }
    const values = entry.values;
    const key = `${metricKey}\u0000${query.version.name}`;
    const hit = values.get(key);
    if (hit !== undefined) return hit;
    const pending = this.#evaluate(query, metric).catch((e: unknown) => ({
      error: `unexpected failure: ${(e as Error).message}`,
    }));
    values.set(key, pending);
    void pending.then((r) => {
      if ("error" in r && values.get(key) === pending) values.delete(key);
    });
    return pending;
  }

  async #evaluate(query: MetricQuery, metric: Metric): Promise<Outcome> {
    const elapsed = elapsedSeconds(query.experiment.status?.startTime, query.now);
    if (elapsed === undefined)
      return { error: "the experiment has no valid status.startTime to measure from" };
    if (metric.spec.mock !== undefined) return mockValue(metric, query.version.name, elapsed, this.#random);
    const vars = versionVariables(query.experiment, query.version, elapsed);
    const request = await this.#buildRequest(metric, vars);
    if ("error" in request) return request;
    return this.#send(metric, request);
  }

  async #buildRequest(metric: Metric, vars: Record<string, string>): Promise<Request | { error: string }> {
    const spec = metric.spec;
    if (spec.urlTemplate === undefined || spec.urlTemplate === "")
      return { error: "the Metric has no urlTemplate" };
    if (spec.jqExpression === undefined || spec.jqExpression === "")
      return { error: "the Metric has no jqExpression" };
    let secret: Record<string, string> | undefined;
    if (spec.secret !== undefined && spec.secret !== "") {
      const found = await this.#secret(spec.secret, namespaceOf(metric));
      if ("error" in found) return found;
      secret = found.data;
    } else if (spec.authType !== undefined) {
      return { error: `authType ${spec.authType} needs spec.secret` };
    }

    let urlText = secret === undefined ? spec.urlTemplate : safeSubstitute(spec.urlTemplate, secret);
    if (this.#prometheusUrl !== undefined && urlText.startsWith(CLUSTER_PROMETHEUS_URL)) {
      urlText = this.#prometheusUrl + urlText.slice(CLUSTER_PROMETHEUS_URL.length);
    }
    let url: URL;
    try {
      url = new URL(urlText);
    } catch {
      return { error: `urlTemplate gives an invalid URL: ${snippet(urlText)}` };
    }
    for (const p of spec.params ?? []) url.searchParams.append(p.name, safeSubstitute(p.value, vars));

    const headers = new Headers();
    const interpolateHeaders =
      secret !== undefined && (spec.authType === "Bearer" || spec.authType === "APIKey");
    for (const h of spec.headerTemplates ?? []) {
      const value = interpolateHeaders ? safeSubstitute(h.value, secret as Record<string, string>) : h.value;
      try {
        headers.append(h.name, value);
      } catch {
        return { error: `headerTemplates entry ${JSON.stringify(h.name)} is not a valid HTTP header` };
      }
    }
    if (spec.authType === "Basic") {
      const { username, password } = secret ?? {};
      if (username === undefined || password === undefined) {
        return { error: `authType Basic needs username and password in secret ${spec.secret}` };
      }
      headers.set("Authorization", `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`);
    }

    const method = spec.method ?? "GET";
    if (method === "POST") {
      const body = safeSubstitute(spec.body ?? "", vars);
      try {
        JSON.parse(body);
      } catch (e) {
        return { error: `body is not valid JSON after interpolation: ${(e as Error).message}` };
      }
      // As Python requests' `json=` did for the original: a Content-Type from headerTemplates wins.
      if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
      return makeRequest(url, { method, headers, body });
    }
    return makeRequest(url, { method: "GET", headers });
  }

  async #secret(
    ref: string,
    metricNamespace: string,
  ): Promise<{ data: Record<string, string> } | { error: string }> {
    if (this.#secrets === undefined)
      return { error: `secret ${ref} is needed but no secret source is configured` };
    const candidates: SecretRef[] = ref.includes("/")
      ? [{ namespace: ref.slice(0, ref.indexOf("/")), name: ref.slice(ref.indexOf("/") + 1) }]
      : [
          { namespace: metricNamespace, name: ref },
          { namespace: this.#installNamespace, name: ref },
        ];
    try {
      for (const c of candidates) {
        const data = await this.#secrets.get(c);
        if (data !== undefined) return { data };
      }
    } catch (e) {
      return { error: `cannot read secret ${ref}: ${(e as Error).message}` };
    }
    return { error: `secret ${candidates.map((c) => `${c.namespace}/${c.name}`).join(" or ")} not found` };
  }

  async #send(metric: Metric, request: Request): Promise<Outcome> {
    const where = `${request.method} ${endpoint(request.url)}`;
    let response: Response;
    let body: Uint8Array;
    const signal = AbortSignal.timeout(this.#timeoutMs);
    try {
      const answered = await fetchSameOrigin(request, signal);
      if ("error" in answered) return { error: `${where}: ${answered.error}` };
      response = answered.response;
      const read = await readCapped(response, this.#maxResponseBytes);
      if (read === undefined) {
        return {
          error: `${where}: response too large (over ${formatBytes(this.#maxResponseBytes)}, the maxResponseBytes limit); not evaluated`,
        };
      }
      body = read;
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      if (err.name === "TimeoutError") return { error: `${where} timed out after ${this.#timeoutMs} ms` };
      const cause = err.cause?.code ?? err.cause?.message ?? err.message;
      return { error: `${where} failed: backend unreachable (${cause})` };
    }
    if (response.status < 200 || response.status > 299) {
      const text = Buffer.from(body).toString("utf8");
      return { error: `${where} answered HTTP ${response.status}: ${snippet(text) || "(empty body)"}` };
    }
    // Parsing, jq and the Prometheus hint all run on the jq thread: the body is handed over, not copied.
    const jqOptions = this.#jqTimeoutMs === undefined ? {} : { timeoutMs: this.#jqTimeoutMs };
    const out = await jqResponseNumber(body, metric.spec.jqExpression as string, jqOptions);
    if ("notJson" in out) {
      return { error: `${where} answered with a body that is not JSON: ${out.notJson || "(empty body)"}` };
    }
    return out;
  }
}

/**
 * Sends `request`, following redirects only within its origin (scheme, host and port): the request
 * carries credentials from a Secret (Authorization, API-key headers, a key in the URL), which must
 * never reach another host, and an answer from another host must not decide an objective.
 */
async function fetchSameOrigin(
  request: Request,
  signal: AbortSignal,
): Promise<{ response: Response } | { error: string }> {
  const origin = new URL(request.url).origin;
  let current = request;
  for (let hop = 0; ; hop++) {
    const response = await fetch(current.clone(), { signal, redirect: "manual" });
    const location = response.headers.get("location");
    if (response.status < 300 || response.status > 399 || location === null) return { response };
    await response.body?.cancel();
    let next: URL;
    try {
      next = new URL(location, current.url);
    } catch {
      return { error: `answered HTTP ${response.status} with an invalid Location; not followed` };
    }
    if (next.origin !== origin) {
      return {
        error: `answered HTTP ${response.status}, a redirect to another origin (${next.origin}); not followed, so no credentials leave ${origin}`,
      };
    }
    if (hop >= MAX_REDIRECTS) return { error: `more than ${MAX_REDIRECTS} redirects; not followed` };
    // As browsers do: 303 (and 301/302 after a POST) turn into a GET without a body.
    const keepsMethod = response.status === 307 || response.status === 308 || current.method === "GET";
    current = keepsMethod
      ? new Request(next, {
          method: current.method,
          headers: current.headers,
          ...(current.method === "GET" ? {} : { body: await current.clone().text() }),
        })
      : new Request(next, { method: "GET", headers: current.headers });
  }
}

/** The body, or undefined when it is longer than `max` bytes (reading stops there). */
async function readCapped(response: Response, max: number): Promise<Uint8Array | undefined> {
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel();
    return undefined;
  }
  if (response.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > max) return undefined; // leaving the loop cancels the stream
    chunks.push(chunk);
  }
  // A buffer of its own (not Node's shared pool): it is transferred to the jq thread.
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

function makeRequest(url: URL, init: RequestInit): Request | { error: string } {
  try {
    return new Request(url, init);
  } catch (e) {
    return { error: `cannot build a request for ${endpoint(url.toString())}: ${(e as Error).message}` };
  }
}

/** `ns/name` or a bare name (in `namespace`) as an object key. */
export function qualify(ref: string, namespace: string): ObjectKey {
  const i = ref.indexOf("/");
  return i < 0 ? { namespace, name: ref } : { namespace: ref.slice(0, i), name: ref.slice(i + 1) };
}

function describe(metricKey: string, version: string, reason: string): string {
  return `metric ${metricKey} for version ${version}: ${reason}`;
}

/**
 * The endpoint, for messages: they end up in status, so no query string (which may carry a key
 * from a secret) and no user info; the query itself is in the Metric for anyone who needs it.
 */
function endpoint(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url;
  }
}
