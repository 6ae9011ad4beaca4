// `iter8 dashboard [--listen 127.0.0.1:PORT] [--token T]`: a live, read-only web view of the
// experiments of the local state directory or of the cluster (chosen like `get`). It listens on
// loopback unless told otherwise, and refuses any other address without a token.

import { isIP } from "node:net";
import type { Command } from "commander";
import { ClusterFeed } from "../../dashboard/cluster-feed.ts";
import { type ExperimentFeed, LocalFeed } from "../../dashboard/feed.ts";
import { DashboardServer } from "../../dashboard/server.ts";
import { withCluster } from "../cluster.ts";
import { CliError } from "../errors.ts";
import { chooseSource, type SourceFlags, sourceOptions } from "../source.ts";

interface DashboardFlags {
  listen: string;
  token?: string;
  namespace?: string;
  allNamespaces?: boolean;
}

const DEFAULT_LISTEN = "127.0.0.1:8089";

export function register(program: Command): void {
  const dashboard = program
    .command("dashboard")
    .description("serve a live, read-only web view of experiments (local state directory or cluster)")
    .option("--listen <host:port>", "address to listen on (port 0: any free port)", DEFAULT_LISTEN)
    .option("--token <token>", "require this token (needed to listen on a non-loopback address)")
    .option("-n, --namespace <namespace>", "cluster namespace to show (default: the context's)")
    .option("-A, --all-namespaces", "show experiments of every namespace (cluster)");
  sourceOptions(dashboard).action(async (flags: DashboardFlags & SourceFlags) => {
    const { host, port } = parseListen(flags.listen);
    if (!isLoopback(host) && !flags.token) {
      throw new CliError(`--listen ${flags.listen} is not a loopback address: set --token to serve it`, 2);
    }
    const source = chooseSource(flags);
    if (source.kind === "local") {
      await serve(
        new LocalFeed(source.stateDir),
        host,
        port,
        flags.token,
        `state directory ${source.stateDir}`,
      );
      return;
    }
    await withCluster(source, async (client) => {
      const scope = {
        namespace: flags.namespace ?? client.contextNamespace,
        ...(flags.allNamespaces ? { allNamespaces: true } : {}),
      };
      const feed = await ClusterFeed.start(client, scope);
      await serve(feed, host, port, flags.token, `cluster ${client.server}`);
    });
  });
}

/** Serves until SIGINT or SIGTERM. */
async function serve(
  feed: ExperimentFeed,
  host: string,
  port: number,
  token: string | undefined,
  what: string,
) {
  const server = new DashboardServer({ feed, ...(token ? { token } : {}) });
  let bound: { port: number };
  try {
    bound = await server.listen(host, port);
  } catch (err) {
    feed.close();
    throw new CliError(`cannot listen on ${host}:${port}: ${(err as Error).message}`);
  }
  const shown = host.includes(":") ? `[${host}]` : host;
  process.stdout.write(`iter8 dashboard for ${what} at http://${shown}:${bound.port}/\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  feed.close();
  await server.close();
}

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || !host || port > 65535) {
    throw new CliError(`--listen ${JSON.stringify(value)}: expected HOST:PORT, e.g. ${DEFAULT_LISTEN}`, 2);
  }
  return { host, port };
}

export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}
