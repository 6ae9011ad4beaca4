// Health endpoints for the controller's probes: /healthz (the process serves) and /readyz (the
// watches have listed once, or the replica is a standby waiting for the Lease), and, given a
// source, /metrics in the Prometheus text format.

import { createServer, type Server } from "node:http";

export type MetricsSource = () => Promise<{ contentType: string; body: string }>;

export async function startHealthServer(
  ready: () => boolean,
  opts: { port: number; host?: string; metrics?: MetricsSource },
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = req.url?.split("?")[0];
    if (path === "/healthz") res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    else if (path === "/readyz") {
      const ok = ready();
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ok\n" : "not ready\n");
    } else if (path === "/metrics" && opts.metrics) {
      opts.metrics().then(
        ({ contentType, body }) => res.writeHead(200, { "content-type": contentType }).end(body),
        (err: unknown) =>
          res.writeHead(500, { "content-type": "text/plain" }).end(`${(err as Error).message ?? err}\n`),
      );
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => resolve());
  });
  const addr = server.address();
  return { server, port: typeof addr === "object" && addr ? addr.port : opts.port };
}
