// `node bench/apiserver-writes.ts [--objects 200] [--seconds 15] [--concurrency 64] [--json]`: what
// the real kube-apiserver + etcd of the k8s tests can absorb on this machine, with no controller:
// status writes of a realistic Experiment (the status the engine writes after 10 iterations on two
// versions and four metrics, simulated on a virtual clock), of a minimal one for comparison,
// VirtualService weight PATCHes, and an iteration's pair of writes (PATCH, then status PUT) per
// object. Each object has one writer, which sends its next write when the last one is answered,
// so the figure is throughput at saturation. bench/controller-scale's N experiments at interval I need
// N / I iterations per second: this says whether the API server alone can take that many.

import { experimentsPath } from "../src/platforms/kubernetes/resources.ts";
import { KubeClient } from "../src/platforms/kubernetes/rest.ts";
import { canaryOn, twoRouteVirtualService } from "../test/k8s/experiments.ts";
import { apply, startEnv } from "../test/k8s/support.ts";
import { cpuSecondsOf } from "./lib/procs.ts";
import { simulateRun } from "./lib/simulated-status.ts";

interface Args {
  objects: number;
  seconds: number;
  concurrency: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { objects: 200, seconds: 15, concurrency: 64, json: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === "--json") {
      a.json = true;
      continue;
    }
    const key = { "--objects": "objects", "--seconds": "seconds", "--concurrency": "concurrency" }[flag] as
      | "objects"
      | "seconds"
      | "concurrency"
      | undefined;
    const v = Number(argv[++i]);
    if (!key || !Number.isFinite(v) || v <= 0) {
      process.stderr.write(
        `apiserver-writes: bad flag ${flag} ${argv[i] ?? ""}\nusage: node bench/apiserver-writes.ts [--objects N] [--seconds S] [--concurrency C] [--json]\n`,
      );
      process.exit(2);
    }
    a[key] = Math.round(v);
  }
  return a;
}

type Obj = Record<string, unknown> & { metadata: { resourceVersion?: string } };

const args = parseArgs(process.argv.slice(2));
const log = (msg: string) => process.stderr.write(`[apiserver-writes] ${msg}\n`);

const realistic = (await simulateRun(10, 2, 4)).experiment.status!;
const minimal = { stage: "Running", completedIterations: 1 };

log("starting the control plane");
const env = await startEnv();
const ns = await env.cp.createNamespace("writes");
// The admin's client certificate: no impersonation, a socket per writer.
const client = new KubeClient(env.cp.kc, { maxSockets: args.concurrency });
const names = Array.from({ length: args.objects }, (_, i) => `exp-${i}`);
log(`creating ${args.objects} Experiments and VirtualServices`);
const current = new Map<string, Obj>();
for (const name of names) {
  await apply(env.admin, env.discovery, twoRouteVirtualService(ns, `vs-${name}`));
  current.set(
    name,
    await client.request<Obj>("POST", experimentsPath(ns), {
      body: canaryOn(ns, name, `vs-${name}`, 10, 10),
    }),
  );
}

const vsPath = (name: string) =>
  `/apis/networking.istio.io/v1beta1/namespaces/${ns}/virtualservices/vs-${name}`;
let tick = 0;
const patchWeights = (name: string) =>
  client.request("PATCH", vsPath(name), {
    body: [{ op: "replace", path: "/spec/http/0/route/0/weight", value: tick++ % 100 }],
    contentType: "application/json-patch+json",
  });
const putStatus = async (name: string, status: unknown) => {
  // The answer carries the new resourceVersion: the next write needs no read.
  current.set(
    name,
    await client.request<Obj>("PUT", experimentsPath(ns, name, "status"), {
      body: { ...current.get(name)!, status },
    }),
  );
};

/** Completed operations per second over `seconds`, each object's writer one at a time. */
async function rate(label: string, op: (name: string) => Promise<unknown>): Promise<number> {
  const cpuBefore = cpuSecondsOf(env.cp.pids.apiserver);
  let done = 0;
  let failed = 0;
  const started = Date.now();
  const until = started + args.seconds * 1000;
  await Promise.all(
    names.map(async (name) => {
      while (Date.now() < until) {
        try {
          await op(name);
          done++;
        } catch (err) {
          if (failed++ === 0) log(`${label}: ${String(err).slice(0, 300)}`);
        }
      }
    }),
  );
  const elapsed = (Date.now() - started) / 1000;
  const perSecond = done / elapsed;
  const cpu = (100 * (cpuSecondsOf(env.cp.pids.apiserver) - cpuBefore)) / elapsed;
  log(
    `${label}: ${perSecond.toFixed(0)} per s, kube-apiserver at ${cpu.toFixed(0)} % CPU${failed > 0 ? ` (${failed} failed)` : ""}`,
  );
  return Math.round(perSecond);
}

const bytes = (x: unknown) => JSON.stringify(x).length;
const objectBytes = bytes({ ...current.get(names[0]!)!, status: realistic });
const results = {
  objects: args.objects,
  seconds: args.seconds,
  statusBytes: bytes(realistic),
  objectBytes,
  statusPutPerSecond: await rate(`status PUT (${bytes(realistic)} B status)`, (n) => putStatus(n, realistic)),
  minimalStatusPutPerSecond: await rate("status PUT (minimal status)", (n) => putStatus(n, minimal)),
  weightPatchPerSecond: await rate("VirtualService PATCH", patchWeights),
  iterationsPerSecond: await rate("iteration (PATCH, then status PUT)", async (n) => {
    await patchWeights(n);
    await putStatus(n, realistic);
  }),
};
client.close();
await env.stop();
if (args.json) process.stdout.write(`${JSON.stringify(results)}\n`);
else {
  process.stdout.write(
    `status of ${results.statusBytes} B (object ${results.objectBytes} B): ${results.statusPutPerSecond} status PUTs/s; minimal status: ${results.minimalStatusPutPerSecond}/s; VirtualService PATCH: ${results.weightPatchPerSecond}/s; iterations (PATCH + status PUT): ${results.iterationsPerSecond}/s\n`,
  );
}
