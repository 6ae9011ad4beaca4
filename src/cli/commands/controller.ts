// `iter8 controller`: runs the Kubernetes controller, its health endpoints and, given a serving certificate, the CRD
// conversion webhook. SIGTERM/SIGINT stop it cleanly: watches end, the Lease is released, and
// actions under way stay recorded as Running for the next leader.

import type { Command } from "commander";
import { DEFAULT_INSTALL_NAMESPACE } from "../../platforms/kubernetes/resources.ts";
import {
  type ControllerProcess,
  type ControllerProcessOptions,
  KubeconfigError,
  ListenError,
  startControllerProcess,
} from "../../platforms/kubernetes/serve.ts";
import { ServingCertError } from "../../platforms/kubernetes/webhook.ts";
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
  combinedStartWrite: string;
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
    .option(
      "--combined-start-write <bool>",
      "write a new experiment's start-up steps (initialised, target acquired, Initializing, Running) in one status write when nothing makes it wait (true|false)",
      "false",
    )
    .action(async (flags: Flags) => {
      await runController(flags);
    });
}

async function runController(flags: Flags): Promise<void> {
  const options = processOptions(flags);
  let controller: ControllerProcess;
  try {
    controller = await startControllerProcess(options);
  } catch (err) {
    throw startupError(err, flags);
  }
  const onSignal = () => controller.stop();
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  await controller.run();
}

/** Every flag checked (a bad one is a usage error, exit 2) before anything is loaded or opened. */
function processOptions(flags: Flags): ControllerProcessOptions {
  const namespaces = flags.namespaces
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    kubeconfig: {
      ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
      ...(flags.context ? { context: flags.context } : {}),
    },
    qps: nonNegativeNumber(flags.kubeQps, "--kube-qps"),
    burst: positiveInt(flags.kubeBurst, "--kube-burst"),
    controller: {
      concurrency: positiveInt(flags.concurrency, "--concurrency"),
      iterationEvents: booleanFlag(flags.iterationEvents, "--iteration-events"),
      combinedStartWrite: booleanFlag(flags.combinedStartWrite, "--combined-start-write"),
      ...(namespaces && namespaces.length > 0 ? { namespaces } : {}),
      installNamespace: flags.installNamespace,
      leaderElect: flags.leaderElect === true,
      leaseDurationMs: positiveInt(flags.leaseDuration, "--lease-duration") * 1000,
      relistSeconds: positiveInt(flags.relistSeconds, "--relist-seconds"),
    },
    health: { host: flags.healthAddress, port: positiveInt(flags.healthPort, "--health-port", 0) },
    ...(flags.webhookCertDir
      ? {
          webhook: {
            certDir: flags.webhookCertDir,
            host: flags.webhookAddress,
            port: positiveInt(flags.webhookPort, "--webhook-port", 0),
          },
        }
      : {}),
  };
}

// Startup failures the user can fix (a bad certificate, no cluster, a taken port) are one line, exit 1.
function startupError(err: unknown, flags: Flags): unknown {
  if (err instanceof ServingCertError)
    return new CliError(
      err.kind === "read"
        ? `cannot read the webhook certificate in ${err.dir}: ${err.message}`
        : `--webhook-cert-dir ${err.dir} ${err.message}`,
    );
  if (err instanceof KubeconfigError) return new CliError(err.message);
  if (err instanceof ListenError) {
    const [what, host, port] =
      err.listener === "health"
        ? ["health endpoints", flags.healthAddress, flags.healthPort]
        : ["conversion webhook", flags.webhookAddress, flags.webhookPort];
    const reason = err.code === "EADDRINUSE" ? "address already in use" : err.message;
    return new CliError(`cannot listen on ${host}:${port} for the ${what}: ${reason}`);
  }
  return err;
}
