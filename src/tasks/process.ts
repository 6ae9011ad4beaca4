// Child processes for tasks: argv only (no shell unless the caller runs one explicitly), combined
// output captured (tail kept), and the whole process group killed on timeout or abort so a script's
// children do not outlive the task.

import { spawn } from "node:child_process";

export interface ProcessOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Grace period between SIGTERM and SIGKILL. Default 2 s. */
  killGraceMs?: number;
  /** Most output kept (the tail). Default 256 KiB. */
  maxOutputBytes?: number;
}

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  timedOut: boolean;
  aborted: boolean;
}

export class ProcessError extends Error {
  override readonly name = "ProcessError";
  readonly result: ProcessResult | undefined;
  constructor(message: string, result?: ProcessResult) {
    super(message);
    this.result = result;
  }
}

export function runProcess(cmd: string, args: string[], opts: ProcessOptions): Promise<ProcessResult> {
  const maxBytes = opts.maxOutputBytes ?? 256 * 1024;
  const grace = opts.killGraceMs ?? 2000;
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new ProcessError(`${cmd}: not started, the task was cancelled`));
      return;
    }
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      // Own process group, so a timeout can kill everything the command started.
      detached: true,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    const collect = (b: Buffer) => {
      chunks.push(b);
      size += b.length;
      while (size > maxBytes && chunks.length > 1) {
        size -= chunks.shift()!.length;
        truncated = true;
      }
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);

    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // Already gone.
      }
    };
    const stop = () => {
      killGroup("SIGTERM");
      killTimer ??= setTimeout(() => killGroup("SIGKILL"), grace);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, opts.timeoutMs);
    const onAbort = () => {
      aborted = true;
      stop();
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });

    const cleanup = () => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener("abort", onAbort);
    };
    child.on("error", (err) => {
      cleanup();
      reject(new ProcessError(`cannot run ${cmd}: ${err.message}`));
    });
    // A finished script's background children may keep the pipes open: stop reading shortly after exit
    // rather than waiting for them (on timeout or abort they are killed with the group).
    let drainTimer: NodeJS.Timeout | undefined;
    child.on("exit", () => {
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 200);
    });
    child.on("close", (exitCode, signal) => {
      cleanup();
      if (drainTimer) clearTimeout(drainTimer);
      if (timedOut || aborted) killGroup("SIGKILL");
      let output = Buffer.concat(chunks).toString("utf8");
      if (truncated) output = `[... output truncated ...]\n${output}`;
      resolve({ exitCode, signal, output, timedOut, aborted });
    });
  });
}

/** Runs a command and throws a ProcessError unless it exits 0. */
export async function runChecked(cmd: string, args: string[], opts: ProcessOptions): Promise<ProcessResult> {
  const result = await runProcess(cmd, args, opts);
  if (result.timedOut) throw new ProcessError(`${cmd} timed out after ${opts.timeoutMs / 1000}s`, result);
  if (result.aborted) throw new ProcessError(`${cmd} was cancelled`, result);
  if (result.exitCode !== 0) {
    const how = result.exitCode === null ? `killed by ${result.signal}` : `exit code ${result.exitCode}`;
    throw new ProcessError(`${cmd} failed (${how})`, result);
  }
  return result;
}
