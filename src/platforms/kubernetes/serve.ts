// `iter8 controller` as a process: the rate-limited client, the Controller, its health endpoints
// (/healthz, /readyz, /metrics) and, given a serving certificate, the conversion webhook. Started so
// that a failing step leaves nothing open (the certificate is checked before anything listens), and
// closed in full once the controller stops: watches end, the Lease is released, and actions under
// way stay recorded as Running for the next leader.

import { Controller, type ControllerOptions, jsonLogger } from "./controller.ts";
import { ControllerMetrics } from "./controller-metrics.ts";
import { startHealthServer } from "./health.ts";
import { type KubeconfigFlags, kubeClient } from "./kubeconfig.ts";
import type { KubeClient } from "./rest.ts";
import { type ConversionWebhook, loadServingCert, serveConversionWebhook } from "./webhook.ts";

export interface ControllerProcessOptions {
  kubeconfig: KubeconfigFlags;
  /** Kubernetes API requests per second after the burst (0: no limit), and the burst. */
  qps: number;
  burst: number;
  controller: Omit<ControllerOptions, "client" | "metrics"> & { installNamespace: string };
  health: { host: string; port: number };
  /** Serve the conversion webhook with the certificate of `certDir` (none there: warn, serve none). */
  webhook?: { certDir: string; host: string; port: number };
}

/** The kubeconfig could not be loaded (no cluster configured, a bad file, an unknown context). */
export class KubeconfigError extends Error {
  override readonly name = "KubeconfigError";
}

/** A listener could not bind: the port is taken, or the address forbidden or not local. */
export class ListenError extends Error {
  override readonly name = "ListenError";
  readonly listener: "health" | "webhook";
  readonly code: string;
  constructor(listener: "health" | "webhook", code: string, message: string) {
    super(message);
    this.listener = listener;
    this.code = code;
  }
}

const LISTEN_CODES = new Set(["EADDRINUSE", "EACCES", "EADDRNOTAVAIL"]);

export interface ControllerProcess {
  /** Runs the controller until `stop()`, then closes the listeners and the client. */
  run(): Promise<void>;
  stop(): void;
}

/**
 * Loads the certificate, connects and starts listening; throws `ServingCertError`,
 * `KubeconfigError` or `ListenError` for what the user can fix, having closed what it opened.
 */
export async function startControllerProcess(opts: ControllerProcessOptions): Promise<ControllerProcess> {
  const certDir = opts.webhook?.certDir;
  const pems = certDir ? loadServingCert(certDir) : undefined;
  const metrics = new ControllerMetrics();
  const client = connect(opts, metrics);
  const controller = new Controller({ ...opts.controller, client, metrics });
  // What is open so far, closed in reverse order when a later listener fails.
  const opened: Array<() => void> = [() => client.close()];
  const listen = async <T>(listener: "health" | "webhook", start: () => Promise<T>): Promise<T> => {
    try {
      return await start();
    } catch (err) {
      for (const close of opened.reverse()) close();
      const code = (err as NodeJS.ErrnoException).code;
      if (code && LISTEN_CODES.has(code)) throw new ListenError(listener, code, (err as Error).message);
      throw err;
    }
  };
  const health = await listen("health", () =>
    startHealthServer(() => controller.ready, { metrics: () => metrics.text(), ...opts.health }),
  );
  opened.push(() => health.server.close());
  let webhook: ConversionWebhook | undefined;
  if (opts.webhook && !pems) {
    jsonLogger.warn("conversion webhook off: no tls.crt and tls.key (restart once the Secret exists)", {
      dir: opts.webhook.certDir,
    });
  } else if (opts.webhook && pems) {
    const { certDir, host, port } = opts.webhook;
    const { installNamespace } = opts.controller;
    webhook = await listen("webhook", () =>
      serveConversionWebhook({ client, certDir, pems, port, host, installNamespace }),
    );
  }
  // Logged once everything listens, so that a startup error stays the only line.
  jsonLogger.info("health endpoints", { port: health.port });
  return {
    stop: () => void controller.stop(),
    run: async () => {
      await controller.start();
      webhook?.stopReloading();
      // Keep-alive connections (the API server's to the webhook, probes) would hold the process open.
      for (const server of [health.server, webhook?.server]) {
        server?.close();
        server?.closeAllConnections();
      }
      client.close();
      jsonLogger.info("controller stopped");
    },
  };
}

const MAX_SOCKETS = 128;

function connect(opts: ControllerProcessOptions, metrics: ControllerMetrics): KubeClient {
  const concurrency = opts.controller.concurrency ?? 16;
  try {
    return kubeClient(opts.kubeconfig, {
      qps: opts.qps,
      burst: opts.burst,
      // A worker makes one request at a time; Events and action tasks add a few more. Past about
      // 128 in flight the API server's priority and fairness queues start answering 429 and each
      // new connection is one more TLS handshake for it, so more workers share the sockets.
      maxSockets: Math.min(MAX_SOCKETS, Math.max(16, 2 * concurrency)),
      onRequest: (r) => metrics.observeRequest(r),
      onStaleConnection: () => metrics.staleConnections.inc(),
      onTooManyRequests: () => metrics.tooManyRequests.inc(),
    });
  } catch (err) {
    throw new KubeconfigError(err instanceof Error ? err.message : String(err));
  }
}
