// Shared setup of the controller integration tests: one real control plane with the Knative Service
// and Istio VirtualService test CRDs and iter8's own CRDs (conversion webhook served from this
// process with a test-CA certificate), the chart's RBAC (rendered by helm), mock Metrics, and helpers to apply the seed
// manifests, play Knative's controller, run controllers as the iter8-controller ServiceAccount and
// wait on what they write.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import type { Server } from "node:https";
import { createServer as createTcpServer, type Socket, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { parseAllDocuments, stringify } from "yaml";
import type { Experiment } from "../../src/api/types.ts";
import type { EngineLogger } from "../../src/engine/engine.ts";
import { Controller, type ControllerOptions } from "../../src/platforms/kubernetes/controller.ts";
import { startConversionServer } from "../../src/platforms/kubernetes/conversion.ts";
import { experimentCrd, metricCrd } from "../../src/platforms/kubernetes/crds.ts";
import { Discovery } from "../../src/platforms/kubernetes/discovery.ts";
import { experimentsPath } from "../../src/platforms/kubernetes/resources.ts";
import { isNotFound, KubeClient, MERGE_PATCH, resourcePath } from "../../src/platforms/kubernetes/rest.ts";
import { metricFixture } from "../support/experiments.ts";
import { asObj } from "./experiments.ts";
import { type ControlPlane, startControlPlane } from "./harness/controlplane.ts";
import { waitFor } from "./harness/http.ts";
import { renderChart } from "./tools.ts";

export const ROOT = join(import.meta.dirname, "..", "..");
export const SEEDS = join(ROOT, "test", "fixtures", "seeds");
export const INSTALL_NS = "iter8-system";
export const SA = { namespace: INSTALL_NS, name: "iter8-controller" };

export type Obj = Record<string, unknown>;

export function readYaml(path: string): Obj[] {
  return parseAllDocuments(readFileSync(path, "utf8"))
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

export interface TestEnv {
  cp: ControlPlane;
  admin: KubeClient;
  discovery: Discovery;
  webhook: Server;
  /** Conversion reviews answered by this process. */
  conversions: { count: number };
  stop(): Promise<void>;
}

/** Mock Metrics under the names the seeds use; values by version name. */
export function mockMetrics(
  namespace: string,
  levels: Record<string, Record<string, number | string>>,
): Obj[] {
  const gauge = (name: string, description: string) =>
    asObj(
      metricFixture(`${namespace}/${name}`, {
        description,
        type: name === "request-count" ? "Counter" : "Gauge",
        provider: "mock",
        mock: Object.entries(levels[name] ?? {}).map(([version, level]) => ({ name: version, level })),
      }),
    );
  return [
    gauge("request-count", "Number of requests"),
    gauge("mean-latency", "Mean latency"),
    gauge("95th-percentile-tail-latency", "95th percentile tail latency"),
    gauge("error-rate", "Fraction of requests with error responses"),
  ];
}

/** Levels whose mock values always meet the seeds' objectives (Gauge values stay within 2 x level). */
export const GOOD_LEVELS = {
  "request-count": { current: 10, candidate: 10 },
  "mean-latency": { current: 20, candidate: 20 },
  "95th-percentile-tail-latency": { current: 40, candidate: 40 },
  "error-rate": { current: "0.004", candidate: "0.004" },
};

export async function startEnv(): Promise<TestEnv> {
  const cp = await startControlPlane({ crds: [join(ROOT, "deploy", "test-crds")] });
  const admin = new KubeClient(cp.kc);
  const discovery = new Discovery(admin, { refreshMs: 0 });
  const cert = await cp.servingCert("iter8-webhook");
  const conversions = { count: 0 };
  const { server, port } = await startConversionServer({ certPem: cert.certPem, keyPem: cert.keyPem });
  server.on("request", () => conversions.count++);
  const dir = mkdtempSync(join(tmpdir(), "iter8-crds-"));
  const client = { url: `https://127.0.0.1:${port}/convert`, caBundlePem: cp.caPem };
  writeFileSync(join(dir, "experiments.yaml"), stringify(experimentCrd(client)));
  writeFileSync(join(dir, "metrics.yaml"), stringify(metricCrd(client)));
  await cp.installCRDs([dir]);
  for (const ns of [INSTALL_NS, "iter8-knative"]) {
    await admin.request("POST", "/api/v1/namespaces", { body: { metadata: { name: ns } } });
  }
  // Exactly the chart's RBAC (`helm template`; the same rules as deploy/rbac/rbac.yaml).
  for (const o of renderChart({ namespace: INSTALL_NS, showOnly: ["templates/rbac.yaml"] }))
    await apply(admin, discovery, o);
  for (const ns of [INSTALL_NS, "iter8-knative"]) {
    for (const m of mockMetrics(ns, GOOD_LEVELS)) await apply(admin, discovery, m);
  }
  return {
    cp,
    admin,
    discovery,
    webhook: server,
    conversions,
    async stop() {
      admin.close();
      server.close();
      await cp.stop();
    },
  };
}

async function pathOf(discovery: Discovery, obj: Obj, namespace?: string, name?: string): Promise<string> {
  const r = await discovery.forKind(String(obj["apiVersion"]), String(obj["kind"]));
  const md = (obj["metadata"] ?? {}) as Obj;
  const ns = r.namespaced ? ((md["namespace"] as string | undefined) ?? namespace ?? "default") : undefined;
  return resourcePath(String(obj["apiVersion"]), r.plural, ns, name);
}

/** Creates the object, or replaces it if it exists (namespace defaults to `namespace`). */
export async function apply(
  client: KubeClient,
  discovery: Discovery,
  obj: Obj,
  namespace?: string,
): Promise<Obj> {
  const md = (obj["metadata"] ?? {}) as Obj;
  const body = { ...obj, metadata: { ...md, ...(md["namespace"] || !namespace ? {} : { namespace }) } };
  try {
    return await client.request("POST", await pathOf(discovery, body, namespace), { body });
  } catch (err) {
    if (!(err as { status?: number }).status || (err as { status: number }).status !== 409) throw err;
    const path = await pathOf(discovery, body, namespace, String(md["name"]));
    const current = await client.get<Obj>(path);
    const rv = (current["metadata"] as Obj)["resourceVersion"];
    return client.request("PUT", path, {
      body: { ...body, metadata: { ...(body["metadata"] as Obj), resourceVersion: rv } },
    });
  }
}

export async function remove(
  client: KubeClient,
  discovery: Discovery,
  obj: Obj,
  namespace?: string,
): Promise<void> {
  const md = (obj["metadata"] ?? {}) as Obj;
  try {
    await client.request("DELETE", await pathOf(discovery, obj, namespace, String(md["name"])));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Plays Knative's controller: marks the Service Ready with the given traffic status. */
export async function markKsvcReady(
  client: KubeClient,
  namespace: string,
  name: string,
  traffic: Obj[],
): Promise<void> {
  const now = new Date().toISOString();
  const cond = (type: string) => ({ type, status: "True", lastTransitionTime: now });
  await client.request(
    "PATCH",
    resourcePath("serving.knative.dev/v1", "services", namespace, name, "status"),
    {
      contentType: MERGE_PATCH,
      body: {
        status: {
          observedGeneration: 1,
          conditions: [cond("ConfigurationsReady"), cond("Ready"), cond("RoutesReady")],
          latestCreatedRevisionName: traffic.at(-1)?.["revisionName"],
          latestReadyRevisionName: traffic.at(-1)?.["revisionName"],
          url: `http://${name}.${namespace}.example.com`,
          address: { url: `http://${name}.${namespace}.svc.cluster.local` },
          traffic,
        },
      },
    },
  );
}

/** The seed's experiment with only `spec.duration.intervalSeconds` shortened (to keep tests fast). */
export function fastSeed(file: string, intervalSeconds = 1): Obj {
  const exp = readYaml(join(SEEDS, file))[0]!;
  const spec = exp["spec"] as Obj;
  spec["duration"] = { ...(spec["duration"] as Obj), intervalSeconds };
  return exp;
}

export async function getExperiment(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<Experiment> {
  return client.get<Experiment>(experimentsPath(namespace, name));
}

export function condition(exp: Experiment, type: string) {
  return exp.status?.conditions?.find((c) => c.type === type);
}

export async function waitForExperiment(
  client: KubeClient,
  namespace: string,
  name: string,
  what: string,
  pred: (e: Experiment) => boolean,
  timeoutMs = 60_000,
): Promise<Experiment> {
  return waitFor(
    `experiment ${namespace}/${name}: ${what}`,
    async () => {
      const e = await getExperiment(client, namespace, name);
      return pred(e) ? e : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

export const completed = (e: Experiment) => condition(e, "Completed")?.status === "True";

/** Every distinct value of `pick(object)` seen on a watch, in order (the test's view of writes). */
export function recordChanges<T>(
  client: KubeClient,
  path: string,
  name: string,
  pick: (o: Obj) => T,
  opts: { keepRepeats?: boolean } = {},
): { values: T[]; stop(): void } {
  const values: T[] = [];
  const ac = new AbortController();
  const push = (o: Obj) => {
    const v = pick(o);
    if (opts.keepRepeats || values.length === 0 || JSON.stringify(values.at(-1)) !== JSON.stringify(v)) {
      values.push(v);
    }
  };
  void (async () => {
    while (!ac.signal.aborted) {
      try {
        await client.watch<Obj>(
          path,
          { fieldSelector: `metadata.name=${name}` },
          (ev) => push(ev.object),
          ac.signal,
        );
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  })();
  return { values, stop: () => ac.abort() };
}

/** Messages the controller wrote into status.message, in order, seen through a watch. */
export function recordMessages(client: KubeClient, namespace: string, name: string) {
  return recordChanges(client, experimentsPath(namespace), name, (o) => {
    const st = (o["status"] ?? {}) as Obj;
    return {
      stage: st["stage"] as string | undefined,
      iterations: st["completedIterations"] as number | undefined,
      message: st["message"] as string | undefined,
    };
  });
}

export const quietLogger: EngineLogger = {
  debug() {},
  info() {},
  warn: (msg, f) => {
    if (process.env["ITER8_TEST_LOG"]) process.stderr.write(`WARN ${msg} ${JSON.stringify(f)}\n`);
  },
  error: (msg, f) => process.stderr.write(`ERROR ${msg} ${JSON.stringify(f)}\n`),
};

/** A controller that authenticates as the chart's ServiceAccount (exactly its RBAC). */
export function controllerAsServiceAccount(
  env: TestEnv,
  opts: Partial<ControllerOptions> = {},
): {
  controller: Controller;
  client: KubeClient;
} {
  const { kc } = env.cp.serviceAccountKubeConfig(SA.namespace, SA.name);
  const client = new KubeClient(kc);
  const controller = new Controller({
    client,
    installNamespace: INSTALL_NS,
    logger: process.env["ITER8_TEST_LOG"]
      ? {
          ...quietLogger,
          info: (m, f) => process.stderr.write(`INFO ${m} ${JSON.stringify(f)}\n`),
        }
      : quietLogger,
    knativeTiming: { attempts: 5, intervalMs: 500 },
    relistSeconds: 30,
    ...opts,
  });
  return { controller, client };
}

/**
 * A TCP proxy in front of the API server that a test can cut (drop every connection and refuse new
 * ones) and restore, with a ServiceAccount client that goes through it.
 */
export async function cuttableProxy(env: TestEnv): Promise<{
  client: KubeClient;
  cut(): void;
  restore(): void;
  close(): void;
}> {
  const upstream = new URL(env.cp.server);
  const sockets = new Set<Socket>();
  let open = true;
  const proxy = createTcpServer((downstream) => {
    if (!open) {
      downstream.destroy();
      return;
    }
    const up = tcpConnect(Number(upstream.port), upstream.hostname);
    for (const s of [downstream, up]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    downstream.pipe(up).pipe(downstream);
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  const port = (proxy.address() as { port: number }).port;
  const { kc } = env.cp.serviceAccountKubeConfig(SA.namespace, SA.name);
  const viaProxy = new KubeConfig();
  viaProxy.loadFromOptions({
    clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${port}` })),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  const destroyAll = () => {
    for (const s of sockets) s.destroy();
  };
  return {
    client: new KubeClient(viaProxy),
    cut() {
      open = false;
      destroyAll();
    },
    restore() {
      open = true;
    },
    close() {
      proxy.close();
      destroyAll();
    },
  };
}
