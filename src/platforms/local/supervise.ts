// Child processes that never outlive iter8. Each runs under a small shell watchdog that reads a pipe
// from this process: when the pipe closes (a clean stop, or iter8 dying even by SIGKILL, which no
// exit handler sees) the watchdog stops the child (TERM, then KILL after 5 s) and removes the child's
// scratch directory if one was named.

import { type ChildProcess, type StdioOptions, spawn } from "node:child_process";
import { createServer } from "node:net";

const WATCHDOG = `
exec 3<&0
"$@" </dev/null &
child=$!
(
  while read -r _ <&3; do :; done
  kill -TERM "$child" 2>/dev/null
  i=0
  while kill -0 "$child" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$child" 2>/dev/null
  if [ -n "$ITER8_WATCHDOG_CLEANUP" ]; then rm -rf "$ITER8_WATCHDOG_CLEANUP"; fi
) &
wait "$child"
`;

export interface SuperviseOptions {
  /** Shown as the watchdog's $0 in `ps`, e.g. `iter8-sample-app-v1`. */
  name: string;
  env?: NodeJS.ProcessEnv;
  /** stdout and stderr handling; stdin is always the watchdog's pipe. */
  output?: ["pipe" | "ignore", "pipe" | "ignore"];
  /** A directory the watchdog removes once the child is gone. */
  cleanupDir?: string;
  /** Working directory of the child (default: this process's). */
  cwd?: string;
}

/** Spawns `argv` under the watchdog, in its own process group (see `signalGroup`). */
export function spawnSupervised(argv: string[], opts: SuperviseOptions): ChildProcess {
  const [out, err] = opts.output ?? ["pipe", "pipe"];
  const stdio: StdioOptions = ["pipe", out, err];
  const env = { ...(opts.env ?? process.env) };
  if (opts.cleanupDir !== undefined) env["ITER8_WATCHDOG_CLEANUP"] = opts.cleanupDir;
  const child = spawn("/bin/sh", ["-c", WATCHDOG, opts.name, ...argv], {
    stdio,
    env,
    detached: true,
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
  });
  // Last resort for a normal exit of iter8 that skipped stop(): signal the whole group.
  const onExit = () => signalGroup(child, "SIGTERM");
  process.once("exit", onExit);
  child.once("exit", () => process.removeListener("exit", onExit));
  return child;
}

/** Signals the child's process group (the watchdog and what it runs); a no-op once it has exited. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** A loopback port that was free a moment ago (callers retry if another process takes it first). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
