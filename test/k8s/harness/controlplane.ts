// A real kube-apiserver + etcd for integration tests, started the way controller-runtime's envtest
// does it: loopback ports, generated certificates, an
// admin kubeconfig, CRD installation, namespace-per-test isolation and a teardown after which no
// child process or temp dir is left, even when the test runner crashes.
//
// There is no controller-manager, scheduler or kubelet: no garbage collection, namespaces never
// finish deleting, Deployments make no Pods, and no Knative/Istio controller runs.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { type Binaries, resolveBinaries } from "./binaries.ts";
import { makeServingCert, makeTestPki, type TestPki } from "./certs.ts";
import { installCrds } from "./crds.ts";
import { ApiClient, waitFor } from "./http.ts";
import { serviceAccountUsername, writeKubeconfig } from "./kubeconfig.ts";
import { type ManagedProcess, onRunnerExit, startProcess } from "./processes.ts";

export interface ControlPlaneOptions {
  /** Defaults to ITER8_KUBE_APISERVER / ITER8_ETCD, else the build script's cache `env` file. */
  binaries?: Binaries;
  /** How long etcd plus the apiserver may take to become ready (default 90 s: 2 busy cores). */
  startTimeoutMs?: number;
  /** Keep logs here instead of a temp dir removed by a clean stop(). Also ITER8_K8S_LOG_DIR. */
  logDir?: string;
  /** CRD files or directories to install before returning. */
  crds?: string[];
  /** Appended to the kube-apiserver command line. */
  extraApiserverArgs?: string[];
}

export interface ClientConfig {
  kubeconfigPath: string;
  kc: KubeConfig;
}

export interface ControlPlane {
  /** Admin (system:masters) kubeconfig file. */
  kubeconfigPath: string;
  kc: KubeConfig;
  /** https://127.0.0.1:PORT */
  server: string;
  /** The test CA: it signs the apiserver's serving cert; use it as a webhook caBundle. */
  caPem: string;
  logs: { etcd: string; apiserver: string };
  pids: { etcd: number; apiserver: number };
  /** Milliseconds from spawning etcd to the apiserver being ready with namespace `default`. */
  startupMs: number;
  /** Installs CRDs from YAML files/directories; resolves once Established and in discovery. */
  installCRDs(paths: string[]): Promise<string[]>;
  /** Creates a uniquely named namespace (tests isolate by namespace; nothing ever deletes them). */
  createNamespace(prefix?: string): Promise<string>;
  /**
   * A client that authenticates as admin but impersonates system:serviceaccount:NS:NAME, so every
   * request is authorised with exactly that ServiceAccount's RBAC (groups system:serviceaccounts
   * and system:serviceaccounts:NS are added by the apiserver). The ServiceAccount need not exist.
   */
  serviceAccountKubeConfig(namespace: string, name: string): ClientConfig;
  /** An HTTPS serving certificate for 127.0.0.1/localhost signed by the test CA (for webhooks). */
  servingCert(name: string): Promise<{ certPem: string; keyPem: string }>;
  /** Stops the apiserver then etcd (SIGTERM, then SIGKILL) and removes the temp dirs. Stop watches first. */
  stop(): Promise<void>;
}

/** Ports the kernel says are free on 127.0.0.1; all held open together so they are distinct. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const addr = s.address();
    if (addr === null || typeof addr === "string") throw new Error("unexpected server address");
    return addr.port;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** etcd data is rewritten constantly: RAM-backed /dev/shm makes it fast (fsync is off anyway). */
function etcdDataParent(): string {
  return existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
}

/**
 * Temp dirs are named with the runner's pid. A runner killed by SIGKILL cannot clean up (its
 * children die with it through the parent-death signal, but their dirs stay, and /dev/shm is RAM),
 * so each start removes the dirs of runners that no longer exist. Logs are left for reading.
 */
function sweepStaleDirs(parent: string, prefix: string): void {
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return;
  }
  for (const entry of entries) {
    const m = new RegExp(`^${prefix}(\\d+)-`).exec(entry);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processExists(pid)) continue;
    rmSync(join(parent, entry), { recursive: true, force: true });
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

const NAMESPACE_PREFIX = /^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/;

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binaries = opts.binaries ?? resolveBinaries();
  // A port found free can be taken by another process before etcd or the apiserver binds it:
  // start again on fresh ports in that case, and only then.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binaries, opts);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test((err as Error).message)) throw err;
    }
  }
}

async function startOnce(binaries: Binaries, opts: ControlPlaneOptions): Promise<ControlPlane> {
  const startTimeoutMs = opts.startTimeoutMs ?? 90_000;
  const began = Date.now();

  for (const [parent, prefix] of [
    [tmpdir(), "iter8-k8s-"],
    [etcdDataParent(), "iter8-etcd-"],
  ] as const) {
    sweepStaleDirs(parent, prefix);
  }
  const workDir = mkdtempSync(join(tmpdir(), `iter8-k8s-${process.pid}-`));
  const dataDir = mkdtempSync(join(etcdDataParent(), `iter8-etcd-${process.pid}-`));
  const userLogDir = opts.logDir ?? process.env.ITER8_K8S_LOG_DIR;
  const logDir = userLogDir ? userLogDir : mkdtempSync(join(tmpdir(), `iter8-k8s-logs-${process.pid}-`));
  if (userLogDir) mkdirSync(userLogDir, { recursive: true });
  const logs = { etcd: join(logDir, "etcd.log"), apiserver: join(logDir, "kube-apiserver.log") };

  let etcd: ManagedProcess | undefined;
  let apiserver: ManagedProcess | undefined;
  let api: ApiClient | undefined;
  let stopping = false;
  let crashed = false;

  const removeDirs = (keepLogs: boolean): void => {
    rmSync(workDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
    if (!keepLogs && !userLogDir) rmSync(logDir, { recursive: true, force: true });
  };
  // Children are SIGKILLed by processes.ts; this removes what they leave behind (RAM in /dev/shm).
  const unhookExit = onRunnerExit(() => {
    removeDirs(true);
    if (!stopping) process.stderr.write(`control plane logs: ${logs.etcd} ${logs.apiserver}\n`);
  });

  const watchForCrash = (p: ManagedProcess): void => {
    void p.exited.then(({ code, signal }) => {
      if (stopping) return;
      crashed = true;
      process.stderr.write(
        `\n${p.name} exited unexpectedly (code ${code}, signal ${signal}); log: ${p.logPath}\n${p.logTail(30)}\n`,
      );
    });
  };
  const failIfExited = (): string | undefined => {
    for (const p of [etcd, apiserver]) {
      if (p?.hasExited()) return `${p.name} exited; log ${p.logPath}:\n${p.logTail()}`;
    }
    return undefined;
  };

  try {
    const [etcdClientPort, etcdPeerPort, apiPort] = (await freePorts(3)) as [number, number, number];
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const server = `https://127.0.0.1:${apiPort}`;

    // Certificates are made while etcd starts.
    const pkiDone: Promise<TestPki> = makeTestPki(workDir);
    etcd = startProcess(
      "etcd",
      binaries.etcd,
      [
        "--name=iter8-test",
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=iter8-test=${peerUrl}`,
        "--unsafe-no-fsync=true",
      ],
      logs.etcd,
    );
    watchForCrash(etcd);
    const pki = await pkiDone;
    await waitFor(
      `etcd ${etcdUrl}/health`,
      async () => {
        const res = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2_000) });
        const body = (await res.json()) as { health?: string };
        return res.status === 200 && body.health === "true" ? true : undefined;
      },
      { timeoutMs: startTimeoutMs, abortIf: failIfExited },
    );

    apiserver = startProcess(
      "kube-apiserver",
      binaries.apiserver,
      [
        `--etcd-servers=${etcdUrl}`,
        `--cert-dir=${workDir}`,
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        `--secure-port=${apiPort}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--client-ca-file=${pki.caCert}`,
        `--service-account-issuer=${server}/`,
        `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`,
        "--service-cluster-ip-range=10.0.0.0/24",
        "--authorization-mode=RBAC",
        "--disable-admission-plugins=ServiceAccount",
        "--allow-privileged=true",
        ...(opts.extraApiserverArgs ?? []),
      ],
      logs.apiserver,
    );
    watchForCrash(apiserver);
    api = new ApiClient(server, { ca: pki.caPem, cert: pki.adminCertPem, key: pki.adminKeyPem });
    const client = api;
    await waitFor(
      `kube-apiserver ${server}/readyz`,
      async () => ((await client.request("GET", "/readyz")).status === 200 ? true : undefined),
      { timeoutMs: Math.max(1_000, startTimeoutMs - (Date.now() - began)), abortIf: failIfExited },
    );
    await waitFor(
      "namespace default",
      async () =>
        (await client.request("GET", "/api/v1/namespaces/default")).status === 200 ? true : undefined,
      { timeoutMs: Math.max(1_000, startTimeoutMs - (Date.now() - began)), abortIf: failIfExited },
    );

    const kubeconfigPath = join(workDir, "admin.kubeconfig");
    const kc = writeKubeconfig(kubeconfigPath, {
      server,
      caPem: pki.caPem,
      certPem: pki.adminCertPem,
      keyPem: pki.adminKeyPem,
    });
    const startupMs = Date.now() - began;

    let nsCounter = 0;
    let saCounter = 0;
    let stopped: Promise<void> | undefined;
    const cp: ControlPlane = {
      kubeconfigPath,
      kc,
      server,
      caPem: pki.caPem,
      logs,
      pids: { etcd: etcd.pid, apiserver: apiserver.pid },
      startupMs,
      installCRDs: (paths) => installCrds(client, paths),
      async createNamespace(prefix = "test") {
        if (!NAMESPACE_PREFIX.test(prefix))
          throw new Error(
            `namespace prefix ${JSON.stringify(prefix)} must be a DNS label of at most 32 characters`,
          );
        const name = `${prefix}-${++nsCounter}-${Math.random().toString(36).slice(2, 7)}`;
        await client.json(
          "POST",
          "/api/v1/namespaces",
          { apiVersion: "v1", kind: "Namespace", metadata: { name } },
          [201],
        );
        return name;
      },
      serviceAccountKubeConfig(namespace, name) {
        const user = serviceAccountUsername(namespace, name);
        const path = join(workDir, `sa-${++saCounter}-${namespace}-${name}.kubeconfig`);
        return {
          kubeconfigPath: path,
          kc: writeKubeconfig(path, {
            server,
            caPem: pki.caPem,
            certPem: pki.adminCertPem,
            keyPem: pki.adminKeyPem,
            impersonate: user,
            contextName: `sa-${namespace}-${name}`,
          }),
        };
      },
      servingCert: (name) => makeServingCert(pki, name),
      stop() {
        stopped ??= (async () => {
          stopping = true;
          client.close();
          await apiserver?.stop();
          await etcd?.stop();
          const keepLogs = crashed || process.env.ITER8_K8S_KEEP_LOGS === "1";
          if (keepLogs) process.stderr.write(`control plane logs kept: ${logs.etcd} ${logs.apiserver}\n`);
          removeDirs(keepLogs);
          unhookExit();
        })();
        return stopped;
      },
    };
    if (opts.crds && opts.crds.length > 0) await cp.installCRDs(opts.crds);
    return cp;
  } catch (err) {
    stopping = true;
    api?.close();
    await apiserver?.stop(2_000);
    await etcd?.stop(2_000);
    removeDirs(true);
    unhookExit();
    throw new Error(
      `control plane did not start: ${(err as Error).message}\n  logs: ${logs.etcd}\n        ${logs.apiserver}`,
      { cause: err },
    );
  }
}
