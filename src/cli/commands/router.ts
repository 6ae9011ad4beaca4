// `iter8 router`: the local data plane. Routes by the unchanged Istio VirtualService / Knative Service
// objects of a router file (format in src/router/config.ts), or sends everything to one upstream.
// Prints `listening on http://HOST:PORT` (and `admin on ...`) on stdout once ready; SIGHUP re-reads the
// file and swaps the route table (a bad file is reported and the current table kept).

import type { Command } from "commander";
import {
  compileRoutes,
  type ProxyEngine,
  type RouteTable,
  RouteTableError,
  readRouterConfig,
  singleUpstreamTable,
  startRouter,
} from "../../router/index.ts";
import { parseDuration } from "../../router/routes.ts";
import { CliError } from "../errors.ts";

interface Flags {
  listen: string;
  admin?: string;
  file?: string;
  upstream?: string;
  workers: string;
  engine: string;
  upstreamTimeout: string;
}

export function register(program: Command): void {
  program
    .command("router")
    .description(
      "HTTP/1.1 router with Istio VirtualService and Knative Service traffic semantics and per-version metrics",
    )
    .option("--listen <host:port>", "address to serve traffic on (port 0 picks a free one)", "127.0.0.1:8080")
    .option(
      "--admin <host:port>",
      "address of the admin endpoint: /metrics (Prometheus), /stats, /healthz, /routes",
    )
    .option(
      "-f, --file <file>",
      "router file: YAML documents with VirtualService / Knative Service objects and one `upstreams:` mapping",
    )
    .option("--upstream <host:port>", "send every request to this address instead (version label: upstream)")
    .option("--workers <n>", "processes serving the listen socket (node:cluster)", "1")
    .option("--engine <name>", "data path: fast (raw sockets) or node (node:http)", "fast")
    .option("--upstream-timeout <duration>", "longest wait for an upstream's response headers", "30s")
    .action(async (flags: Flags) => {
      if ((flags.file === undefined) === (flags.upstream === undefined)) {
        throw new CliError("give exactly one of -f FILE or --upstream HOST:PORT", 2);
      }
      const listen = hostPort(flags.listen, "--listen");
      const admin = flags.admin === undefined ? undefined : hostPort(flags.admin, "--admin");
      if (!/^\d+$/.test(flags.workers) || Number(flags.workers) < 1 || Number(flags.workers) > 64) {
        throw new CliError(`--workers: must be an integer 1..64 (got ${flags.workers})`, 2);
      }
      if (flags.engine !== "fast" && flags.engine !== "node") {
        throw new CliError(`--engine: must be fast or node (got ${flags.engine})`, 2);
      }
      const timeoutMs = parseDuration(flags.upstreamTimeout);
      if (timeoutMs === null)
        throw new CliError(`--upstream-timeout: not a duration: ${flags.upstreamTimeout}`, 2);
      const load = (): RouteTable => {
        try {
          if (flags.upstream !== undefined) return singleUpstreamTable(flags.upstream);
          const cfg = readRouterConfig(flags.file!);
          return compileRoutes(cfg.objects, cfg.upstreams);
        } catch (err) {
          if (err instanceof RouteTableError) {
            throw new CliError(
              `invalid routes:\n${err.issues.map((i) => `  ${i.object ? `${i.object}: ` : ""}${i.path}: ${i.message}`).join("\n")}`,
              1,
            );
          }
          throw new CliError((err as Error).message, 1);
        }
      };
      const table = load();
      const logger = {
        info: (m: string) => process.stderr.write(`${m}\n`),
        warn: (m: string) => process.stderr.write(`${m}\n`),
        error: (m: string) => process.stderr.write(`${m}\n`),
      };
      let router: Awaited<ReturnType<typeof startRouter>>;
      try {
        router = await startRouter({
          listen,
          ...(admin ? { admin } : {}),
          table,
          workers: Number(flags.workers),
          engine: flags.engine as ProxyEngine,
          upstreamTimeoutMs: timeoutMs,
          logger,
        });
      } catch (err) {
        throw new CliError(`router: ${(err as Error).message}`, 2);
      }
      process.stdout.write(`listening on ${router.url}\n`);
      if (router.adminUrl) process.stdout.write(`admin on ${router.adminUrl}\n`);
      await new Promise<void>((resolve) => {
        const reload = () => {
          try {
            const next = load();
            router.setRoutes(next).then(
              () => logger.info("router: routes reloaded"),
              (err: Error) => logger.error(`router: reload failed: ${err.message}`),
            );
          } catch (err) {
            logger.error(`router: reload failed, keeping the current routes: ${(err as Error).message}`);
          }
        };
        const stop = () => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          process.off("SIGHUP", reload);
          router.close().then(resolve, resolve);
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
        process.on("SIGHUP", reload);
      });
    });
}

function hostPort(value: string, flag: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value.trim());
  if (!m || Number(m[2]) > 65535)
    throw new CliError(`${flag}: expected HOST:PORT (got ${JSON.stringify(value)})`, 2);
  const host = m[1]!.startsWith("[") ? m[1]!.slice(1, -1) : m[1]!;
  return { host, port: Number(m[2]) };
}
