// Entry point of a router worker process (node:cluster): receives its route table and options from the
// primary over IPC, serves the shared listen socket, and answers route swaps and metric requests.

import type { DataPlane, ProxyEngine, ProxyOptions } from "./dataplane.ts";
import { makeDataPlane } from "./engines.ts";
import { MetricsStore } from "./metrics.ts";
import { compileRoutes } from "./routes.ts";

export type ToWorker =
  | {
      t: "init";
      source: { objects: unknown[]; upstreams: Record<string, string> };
      engine: ProxyEngine;
      listen: { host: string; port: number };
      options: Omit<ProxyOptions, "metrics" | "logger" | "random">;
    }
  | { t: "routes"; seq: number; source: { objects: unknown[]; upstreams: Record<string, string> } }
  | { t: "metrics"; seq: number }
  | { t: "close" };

export type FromWorker =
  | { t: "ready"; port: number }
  | { t: "fatal"; message: string }
  | { t: "routes-ok"; seq: number }
  | { t: "routes-error"; seq: number; message: string }
  | { t: "metrics"; seq: number; state: ReturnType<MetricsStore["state"]> };

const metrics = new MetricsStore();
let proxy: DataPlane | null = null;

function send(msg: FromWorker): void {
  process.send?.(msg);
}

process.on("message", (msg: ToWorker) => {
  switch (msg.t) {
    case "init": {
      try {
        proxy = makeDataPlane(msg.engine, compileRoutes(msg.source.objects, msg.source.upstreams), {
          ...msg.options,
          metrics,
        });
      } catch (err) {
        send({ t: "fatal", message: (err as Error).message });
        return;
      }
      const server = proxy.server;
      server.once("error", (err) => send({ t: "fatal", message: err.message }));
      server.listen({ host: msg.listen.host, port: msg.listen.port }, () => {
        const addr = server.address();
        send({ t: "ready", port: typeof addr === "object" && addr ? addr.port : msg.listen.port });
      });
      return;
    }
    case "routes": {
      try {
        proxy?.setTable(compileRoutes(msg.source.objects, msg.source.upstreams));
        send({ t: "routes-ok", seq: msg.seq });
      } catch (err) {
        send({ t: "routes-error", seq: msg.seq, message: (err as Error).message });
      }
      return;
    }
    case "metrics":
      send({ t: "metrics", seq: msg.seq, state: metrics.state() });
      return;
    case "close":
      if (proxy) proxy.close().then(() => process.exit(0));
      else process.exit(0);
      return;
  }
});

// The primary going away must not leave orphaned workers serving.
process.on("disconnect", () => process.exit(0));
