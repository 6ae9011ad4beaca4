// How the experiment's `common/exec` task reaches the local Helm promotion: the task runs `helm ...`
// from PATH like on a cluster, and the run puts first on that PATH a tiny `helm` executable that
// sends its argv to this run's control endpoint (loopback HTTP) and prints the answer. The promotion
// itself (LocalCluster.helm) happens inside the run, where the router and processes are.

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export interface CommandShim {
  /** Directory to put first on the tasks' PATH. */
  binDir: string;
  /** Environment for tasks: PATH with the shim first. */
  env(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  close(): Promise<void>;
}

function shimScript(command: string, url: string): string {
  // CommonJS (the temp dir has no package.json), no dependencies, exits 1 with the reason on failure.
  return `#!${process.execPath}
const argv = process.argv.slice(2);
fetch(${JSON.stringify(url)}, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ argv }) })
  .then(async (res) => {
    const text = await res.text();
    (res.ok ? process.stdout : process.stderr).write(text);
    process.exitCode = res.ok ? 0 : 1;
  })
  .catch((err) => {
    process.stderr.write(${JSON.stringify(command)} + " (local): the run's control endpoint is unreachable: " + err.message + "\\n");
    process.exitCode = 1;
  });
`;
}

/** Serves `command` (e.g. helm) for child processes: each call runs `handle(argv)` in this process. */
export async function startCommandShim(
  command: string,
  handle: (argv: string[]) => Promise<string>,
): Promise<CommandShim> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let argv: string[];
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { argv?: unknown };
        if (!Array.isArray(body.argv) || body.argv.some((a) => typeof a !== "string"))
          throw new Error("argv");
        argv = body.argv as string[];
      } catch {
        res.writeHead(400).end(`${command} (local): bad request\n`);
        return;
      }
      handle(argv).then(
        (out) => res.writeHead(200, { "content-type": "text/plain" }).end(out),
        (err: Error) =>
          res.writeHead(500, { "content-type": "text/plain" }).end(`${command} (local): ${err.message}\n`),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const binDir = mkdtempSync(join(tmpdir(), "iter8-shim-"));
  const file = join(binDir, command);
  writeFileSync(file, shimScript(command, `http://127.0.0.1:${port}/`));
  chmodSync(file, 0o755);
  return {
    binDir,
    env: (base) => ({ ...base, PATH: `${binDir}${delimiter}${base["PATH"] ?? ""}` }),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      rmSync(binDir, { recursive: true, force: true });
    },
  };
}
