// The controller's own Prometheus metrics (served at /metrics next to the health endpoints), kept in
// one prom-client registry per controller so that tests and several controllers in one process do
// not share counters. Names and meaning are listed in deploy/controller/README.md.

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { ExperimentHead } from "./informer.ts";
import type { RequestRecord } from "./rest.ts";

export interface ControllerGaugeSources {
  /** Every cached experiment (for experiments by stage). */
  experiments: () => Iterable<Readonly<ExperimentHead>>;
  queueDepth: () => number;
  queueDue: () => number;
  leading: () => boolean;
  throttled: () => number;
}

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly iterations: Counter;
  readonly lateness: Histogram;
  readonly reconciles: Counter<"result">;
  readonly reconcileErrors: Counter;
  readonly reconcileSeconds: Histogram;
  readonly apiRequests: Counter<"verb" | "resource" | "code">;
  readonly apiLatency: Histogram<"verb" | "resource">;
  readonly staleConnections: Counter;
  readonly tooManyRequests: Counter;
  readonly watchEchoes: Counter;
  readonly watchChanges: Counter<"change">;
  readonly events: Counter<"result">;
  #sources: ControllerGaugeSources | undefined;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "iter8_controller_" });
    this.iterations = new Counter({
      name: "iter8_controller_iterations_total",
      help: "Iterations completed (status writes that incremented completedIterations).",
      registers,
    });
    this.lateness = new Histogram({
      name: "iter8_controller_iteration_lateness_seconds",
      help: "How long after its due time (previous iteration + intervalSeconds) an iteration was written.",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    });
    this.reconciles = new Counter({
      name: "iter8_controller_reconciles_total",
      help: "Reconcile passes by result (ok, error).",
      labelNames: ["result"],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: "iter8_controller_reconcile_errors_total",
      help: "Reconcile passes that failed and were retried with backoff.",
      registers,
    });
    this.reconcileSeconds = new Histogram({
      name: "iter8_controller_reconcile_duration_seconds",
      help: "Duration of one reconcile pass.",
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers,
    });
    this.apiRequests = new Counter({
      name: "iter8_controller_api_requests_total",
      help: "Kubernetes API requests by verb, resource and HTTP status (0: no answer).",
      labelNames: ["verb", "resource", "code"],
      registers,
    });
    this.apiLatency = new Histogram({
      name: "iter8_controller_api_request_duration_seconds",
      help: "Kubernetes API request latency by verb and resource (rate-limit wait included).",
      labelNames: ["verb", "resource"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.staleConnections = new Counter({
      name: "iter8_controller_api_stale_connections_total",
      help: "Requests sent again because the API server closed their kept-alive connection under them.",
      registers,
    });
    this.tooManyRequests = new Counter({
      name: "iter8_controller_api_too_many_requests_total",
      help: "Requests sent again after the API server answered 429 Too Many Requests (priority and fairness).",
      registers,
    });
    this.watchEchoes = new Counter({
      name: "iter8_controller_watch_echoes_skipped_total",
      help: "Watch events that were the controller's own writes coming back (not reconciled again).",
      registers,
    });
    this.watchChanges = new Counter({
      name: "iter8_controller_watch_changes_total",
      help: "Changes made by others seen on the watch (added, modified, deleted); each schedules a reconcile.",
      labelNames: ["change"],
      registers,
    });
    this.events = new Counter({
      name: "iter8_controller_events_total",
      help: "Kubernetes Events by result (sent; skipped: repeats and, with --iteration-events=false, iterations; dropped: the send queue was full or the term ended).",
      labelNames: ["result"],
      registers,
    });
    this.#registerGauges();
  }

  /** Gauges read when scraped, from the sources bound later (the cache, the queue, the lease). */
  #registerGauges(): void {
    const registers = [this.registry];
    const self = this;
    new Gauge({
      name: "iter8_controller_experiments",
      help: "Experiments in the controller's cache by stage.",
      labelNames: ["stage"],
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const e of self.#sources?.experiments() ?? []) {
          const stage = e.status?.stage ?? "New";
          counts.set(stage, (counts.get(stage) ?? 0) + 1);
        }
        for (const [stage, n] of counts) this.set({ stage }, n);
      },
    });
    const gauge = (name: string, help: string, read: (s: ControllerGaugeSources) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(self.#sources ? read(self.#sources) : 0);
        },
      });
    gauge("iter8_controller_queue_depth", "Experiments in the work queue (scheduled at a due time).", (s) =>
      s.queueDepth(),
    );
    gauge(
      "iter8_controller_queue_due",
      "Experiments in the work queue whose due time has passed (waiting for a worker).",
      (s) => s.queueDue(),
    );
    gauge(
      "iter8_controller_api_requests_throttled",
      "Kubernetes API requests waiting for the client rate limit (--kube-qps, --kube-burst).",
      (s) => s.throttled(),
    );
    gauge(
      "iter8_controller_leader",
      "1 while this replica is the leader (or runs without leader election), else 0.",
      (s) => (s.leading() ? 1 : 0),
    );
  }

  /** Where the gauges read their values when scraped. */
  bind(sources: ControllerGaugeSources): void {
    this.#sources = sources;
  }

  observeRequest(r: RequestRecord): void {
    this.apiRequests.inc({ verb: r.verb, resource: r.resource, code: String(r.code) });
    if (r.verb !== "watch") this.apiLatency.observe({ verb: r.verb, resource: r.resource }, r.seconds);
  }

  /** The Prometheus text exposition. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
