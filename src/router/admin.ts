// The router's admin endpoint: /metrics (Prometheus text, Knative names), /stats (JSON snapshots per
// version), /healthz, /routes (what the current table contains).

import * as http from "node:http";
import type { RouterMetrics, VersionSnapshot } from "./metrics.ts";
import type { RouteTable } from "./routes.ts";

export function createAdminServer(metrics: RouterMetrics, table: () => RouteTable): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(405, "text/plain; charset=utf-8", "method not allowed\n");
      return;
    }
    if (path === "/healthz") {
      send(200, "text/plain; charset=utf-8", "ok\n");
      return;
    }
    if (path === "/metrics" || path === "/stats") {
      metrics.sync().then(
        () => {
          if (path === "/metrics")
            send(200, "text/plain; version=0.0.4; charset=utf-8", metrics.toPrometheus());
          else {
            const versions: Record<string, VersionSnapshot> = {};
            for (const v of metrics.versions()) versions[v] = metrics.snapshot(v)!;
            send(200, "application/json", `${JSON.stringify({ versions })}\n`);
          }
        },
        (err: Error) => send(500, "text/plain; charset=utf-8", `metrics unavailable: ${err.message}\n`),
      );
      return;
    }
    if (path === "/routes") {
      const t = table();
      send(
        200,
        "application/json",
        `${JSON.stringify({ versions: t.versions, upstreams: t.upstreams.map((u) => u.key), source: t.source })}\n`,
      );
      return;
    }
    send(404, "text/plain; charset=utf-8", "not found: try /metrics, /stats, /healthz, /routes\n");
  });
}
