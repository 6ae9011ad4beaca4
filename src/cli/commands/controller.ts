// `iter8 controller`: runs the Kubernetes controller, its health endpoints and, given a serving certificate, the CRD
// conversion webhook. SIGTERM/SIGINT stop it cleanly: watches end, the Lease is released, and
// actions under way stay recorded as Running for the next leader.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { createSecureContext } from "node:tls";
import type { Command } from "commander";
import { Controller, jsonLogger } from "../../platforms/kubernetes/controller.ts";
import { ControllerMetrics } from "../../platforms/kubernetes/controller-metrics.ts";
import { startHealthServer } from "../../platforms/kubernetes/health.ts";
import { kubeClient } from "../../platforms/kubernetes/kubeconfig.ts";
import { DEFAULT_INSTALL_NAMESPACE } from "../../platforms/kubernetes/resources.ts";
import {
  type ConversionWebhook,
  readServingCert,
  serveConversionWebhook,
} from "../../platforms/kubernetes/webhook.ts";
import { CliError } from "../errors.ts";

interface Flags {
  kubeconfig?: string;
  context?: string;
  namespaces?: string;
  installNamespace: string;
  leaderElect?: boolean;
  leaseDuration: string;
  healthPort: string;
  healthAddress: string;
  webhookPort: string;
  webhookAddress: string;
  webhookCertDir?: string;
  relistSeconds: string;
  concurrency: string;
  kubeQps: string;
  kubeBurst: string;
  iterationEvents: string;
}

function booleanFlag(value: string, flag: string): boolean {
  if (value === "true") return true;
  if (value === "false") return false;
  throw new CliError(`${flag} must be true or false, got ${JSON.stringify(value)}`, 2);
}

function nonNegativeNumber(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0)
    throw new CliError(`${flag} must be a number >= 0, got ${JSON.stringify(value)}`, 2);
  return n;
}

function positiveInt(value: string, flag: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new CliError(`${flag} must be an integer >= ${min}, got ${JSON.stringify(value)}`, 2);
  return n;
}

export function register(program: Command): void {
  program
    .command("controller")
    .description("run the Kubernetes controller: watch Experiments and run them on the cluster")
    .option("--kubeconfig <file>", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)")
    .option("--context <name>", "kubeconfig context")
    .option("--namespaces <a,b>", "watch only these namespaces (default: all)")
    .option(
      "--install-namespace <ns>",
      "namespace iter8 is installed in (bare metric names, Lease)",
      DEFAULT_INSTALL_NAMESPACE,
    )
    .option("--leader-elect", "take the leader.iter8.tools Lease before acting (for several replicas)")
    .option("--lease-duration <seconds>", "Lease duration", "15")
    .option("--health-port <port>", "port of /healthz, /readyz and /metrics (0 = any)", "8081")
    .option("--health-address <addr>", "address of the health endpoints", "0.0.0.0")
    .option("--webhook-port <port>", "port of the conversion webhook (HTTPS)", "9443")
    .option("--webhook-address <addr>", "address of the conversion webhook", "0.0.0.0")
    .option("--webhook-cert-dir <dir>", "directory with tls.crt and tls.key; serves the conversion webhook")
    .option("--relist-seconds <seconds>", "restart every watch from a fresh LIST this often", "300")
    .option("--concurrency <n>", "experiments reconciled at the same time", "64")
    .option("--kube-qps <n>", "Kubernetes API requests per second after the burst (0 = no limit)", "200")
    .option("--kube-burst <n>", "Kubernetes API requests allowed at once before --kube-qps applies", "400")
    .option("--iteration-events <bool>", "record a Kubernetes Event for every iteration (true|false)", "true")
    .action(async (flags: Flags) => {
      await runController(flags);
    });
}

async function runController(flags: Flags): Promise<void> {
  const namespaces = flags.namespaces
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  // The certificate is checked before anything listens, so a bad one leaves nothing open.
  const certDir = flags.webhookCertDir;
  const pems =
    certDir && webhookCertsPresent(certDir) ? readCerts(certDir, () => readServingCert(certDir)) : undefined;
  const concurrency = positiveInt(flags.concurrency, "--concurrency");
  const qps = nonNegativeNumber(flags.kubeQps, "--kube-qps");
  const burst = positiveInt(flags.kubeBurst, "--kube-burst");
  const iterationEvents = booleanFlag(flags.iterationEvents, "--iteration-events");
  const metrics = new ControllerMetrics();
  let client: ReturnType<typeof kubeClient>;
  try {
    client = kubeClient(
      {
        ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
        ...(flags.context ? { context: flags.context } : {}),
      },
      // A worker makes one request at a time; Events and action tasks add a few more.
      {
        qps,
        burst,
        maxSockets: Math.max(16, 2 * concurrency),
        onRequest: (r) => metrics.observeRequest(r),
        onStaleConnection: () => metrics.staleConnections.inc(),
      },
    );
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err));
  }
  const controller = new Controller({
    client,
    concurrency,
    iterationEvents,
    metrics,
    ...(namespaces && namespaces.length > 0 ? { namespaces } : {}),
    installNamespace: flags.installNamespace,
    leaderElect: flags.leaderElect === true,
    leaseDurationMs: positiveInt(flags.leaseDuration, "--lease-duration") * 1000,
    relistSeconds: positiveInt(flags.relistSeconds, "--relist-seconds"),
  });
  const health = await listening("health endpoints", flags.healthAddress, flags.healthPort, () =>
    startHealthServer(() => controller.ready, {
      metrics: () => metrics.text(),
      port: positiveInt(flags.healthPort, "--health-port", 0),
      host: flags.healthAddress,
    }),
  ).catch((err: unknown) => {
    client.close();
    throw err;
  });
  let webhook: ConversionWebhook | undefined;
  if (certDir && !pems) {
    jsonLogger.warn("conversion webhook off: no tls.crt and tls.key (restart once the Secret exists)", {
      dir: certDir,
    });
  } else if (certDir && pems) {
    webhook = await listening("conversion webhook", flags.webhookAddress, flags.webhookPort, () =>
      serveConversionWebhook({
        client,
        certDir,
        pems,
        port: positiveInt(flags.webhookPort, "--webhook-port", 0),
        host: flags.webhookAddress,
        installNamespace: flags.installNamespace,
      }),
    ).catch((err: unknown) => {
      health.server.close();
      client.close();
      throw err;
    });
  }
  // Logged once everything listens, so that a startup error stays the only line.
  jsonLogger.info("health endpoints", { port: health.port });
  const onSignal = () => {
    void controller.stop();
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  await controller.start();
  webhook?.stopReloading();
  // Keep-alive connections (the API server's to the webhook, probes) would hold the process open.
  for (const server of [health.server, webhook?.server]) {
    server?.close();
    server?.closeAllConnections();
  }
  client.close();
  jsonLogger.info("controller stopped");
}

// Startup failures the user can fix (a taken port, a bad certificate) are one line and exit 1.

/** Starts a listener; a taken or forbidden port becomes a CliError naming the flag's address. */
async function listening<T>(what: string, host: string, port: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL")
      throw new CliError(
        `cannot listen on ${host}:${port} for the ${what}: ${code === "EADDRINUSE" ? "address already in use" : (err as Error).message}`,
      );
    throw err;
  }
}

/**
 * An empty certificate directory is an optional Secret volume whose Secret does not exist (the
 * plain manifests): the controller runs without the webhook. A directory that does not exist, or
 * only one of the two files, is a mistake.
 */
function webhookCertsPresent(dir: string): boolean {
  if (!existsSync(dir)) throw new CliError(`--webhook-cert-dir ${dir} does not exist`);
  const crt = existsSync(join(dir, "tls.crt"));
  const key = existsSync(join(dir, "tls.key"));
  if (crt !== key)
    throw new CliError(
      `--webhook-cert-dir ${dir} has ${crt ? "tls.crt but no tls.key" : "tls.key but no tls.crt"}`,
    );
  return crt;
}

/** Reads (and lets TLS parse) the serving certificate: an unreadable or invalid one is a CliError. */
function readCerts<T extends { certPem: string; keyPem: string }>(dir: string, read: () => T): T {
  try {
    const pems = read();
    createSecureContext({ cert: pems.certPem, key: pems.keyPem });
    return pems;
  } catch (err) {
    throw new CliError(`cannot read the webhook certificate in ${dir}: ${(err as Error).message}`);
  }
}
