// Child processes of the control plane: logs to files, and a guarantee that none outlives the
// test runner. On Linux each child is started through `setpriv --pdeathsig KILL`, so the kernel
// kills it even if the runner dies by SIGKILL; besides that an 'exit' handler and signal handlers
// kill whatever is still running.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";

const live = new Set<ChildProcess>();
let handlersInstalled = false;

function killAllNow(): void {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
}

const exitHooks = new Set<() => void>();

/** Runs synchronously when the runner exits (normally, on an uncaught error, or on a signal). */
export function onRunnerExit(hook: () => void): () => void {
  installHandlers();
  exitHooks.add(hook);
  return () => exitHooks.delete(hook);
}

function runExitHooks(): void {
  killAllNow();
  for (const hook of exitHooks) {
    try {
      hook();
    } catch {
      // best effort: the process is going away
    }
  }
  exitHooks.clear();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", runExitHooks);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const handler = (): void => {
      runExitHooks();
      // Re-raise with the default disposition so the runner still dies of the signal.
      process.removeListener(sig, handler);
      process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

const SETPRIV = "/usr/bin/setpriv";
const havePdeathsig = process.platform === "linux" && existsSync(SETPRIV);

export interface ManagedProcess {
  readonly name: string;
  readonly logPath: string;
  readonly pid: number;
  /** Resolves with the exit code/signal once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines of its log, for error messages. */
  logTail(lines?: number): string;
}

export function startProcess(name: string, binary: string, args: string[], logPath: string): ManagedProcess {
  installHandlers();
  const fd = openSync(logPath, "a");
  const [cmd, argv] = havePdeathsig
    ? [SETPRIV, ["--pdeathsig", "KILL", "--", binary, ...args]]
    : [binary, args];
  let child: ChildProcess;
  try {
    child = spawn(cmd, argv, { stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
  // Not holding the runner open: a test file that forgets stop() still exits, and the exit hook
  // then kills the child.
  child.unref();
  live.add(child);
  let done = false;
  let lastError: Error | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (done) return;
      done = true;
      live.delete(child);
      resolve({ code, signal });
    };
    child.once("exit", finish);
    // Spawn failures (ENOENT, EACCES) come as 'error' without 'exit'; logTail() reports them.
    child.once("error", (err) => {
      lastError = err;
      finish(null, null);
    });
  });
  const logTail = (lines = 40): string => {
    let text = "";
    try {
      text = readFileSync(logPath, "utf8");
    } catch {}
    const tail = text.split("\n").slice(-lines).join("\n");
    return lastError ? `spawn error: ${lastError.message}\n${tail}` : tail;
  };
  return {
    name,
    logPath,
    pid: child.pid ?? -1,
    exited,
    hasExited: () => done,
    logTail,
    async stop(graceMs = 10_000): Promise<void> {
      if (done) return;
      child.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          if (!done) child.kill("SIGKILL");
          resolve();
        }, graceMs);
      });
      await Promise.race([exited, killed]);
      clearTimeout(timer);
      await exited;
    },
  };
}
