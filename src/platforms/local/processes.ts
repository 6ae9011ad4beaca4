// The versions' processes: each Knative revision runs as the local command its image maps to, on a
// free loopback port (the `PORT` variable, as Knative sets it), with the container's env. Ready once
// it answers HTTP. No process outlives the run: each runs under a small shell watchdog reading a pipe
// from this process; when the pipe closes (stop, or this process dies even by SIGKILL) the watchdog
// terminates it.

import type { ChildProcess } from "node:child_process";
import { freePort, signalGroup, spawnSupervised } from "./supervise.ts";

export { freePort } from "./supervise.ts";

/** argv as the lab writes it: a leading `iter8` is this iter8 (same node, same entry point). */
export function resolveCommand(argv: string[]): string[] {
  if (argv[0] !== "iter8") return argv;
  const entry = process.env["ITER8_ENTRY"] ?? process.argv[1];
  if (!entry) throw new Error("cannot tell how this iter8 was started (no entry script)");
  return [process.execPath, ...process.execArgv, entry, ...argv.slice(1)];
}

export interface VersionProcessOptions {
  revision: string;
  argv: string[];
  env: Record<string, string>;
  /** Working directory (the lab's directory). */
  cwd?: string;
  /** The port to serve on (a restart keeps its address); default a free one. */
  port?: number;
  readyTimeoutMs?: number;
  onLog?: (line: string) => void;
  /** Called once if the process exits without being stopped, with its exit status and last lines. */
  onExit?: (reason: string) => void;
}

export const DEFAULT_READY_TIMEOUT_MS = 20_000;

export class VersionProcess {
  readonly revision: string;
  readonly address: string;
  readonly pid: number | undefined;
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  #ready = false;
  #exitCode: number | null | undefined;
  #stopping: Promise<void> | undefined;
  readonly #tail: string[] = [];
  #onExit: ((reason: string) => void) | undefined;

  constructor(revision: string, address: string, child: ChildProcess, onLog?: (line: string) => void) {
    this.revision = revision;
    this.address = address;
    this.#child = child;
    this.pid = child.pid;
    this.#exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.#exitCode = code;
        this.#ready = false;
        resolve(code);
        if (this.#stopping === undefined)
          this.#onExit?.(
            `exited with ${code === null ? `signal ${signal}` : `status ${code}`}${this.#lastLines()}`,
          );
      });
      child.once("error", () => {
        this.#exitCode = null;
        resolve(null);
      });
    });
    let partial = "";
    const collect = (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const l of lines) {
        this.#tail.push(l);
        if (this.#tail.length > 20) this.#tail.shift();
        onLog?.(l);
      }
    };
    child.stdout?.setEncoding("utf8").on("data", collect);
    child.stderr?.setEncoding("utf8").on("data", collect);
  }

  /** Reports an exit that was not asked for (set once the process is ready). */
  watchExit(onExit: (reason: string) => void): void {
    this.#onExit = onExit;
    if (this.#exitCode !== undefined && this.#stopping === undefined) onExit(`exited${this.#lastLines()}`);
  }

  #lastLines(): string {
    const tail = this.#tail.join(" | ").trim();
    return tail ? `: ${tail}` : "";
  }

  get ready(): boolean {
    return this.#ready && this.#exitCode === undefined;
  }

  /** Resolves once the process answers HTTP on its port. */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#exitCode !== undefined)
        throw new Error(
          `version ${this.revision}: its process exited with status ${this.#exitCode}${this.#lastLines()}`,
        );
      try {
        const res = await fetch(`http://${this.address}/`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        this.#ready = true;
        return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(
          `version ${this.revision}: no HTTP answer on ${this.address} after ${timeoutMs} ms: does it listen on $PORT (${this.address.split(":").pop()} here)? (a slow start: raise readyTimeout in the lab or --ready-timeout)`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#child.stdin?.end();
      signalGroup(this.#child, "SIGTERM");
      const killer = setTimeout(() => signalGroup(this.#child, "SIGKILL"), 3000);
      await this.#exited;
      clearTimeout(killer);
    })();
    return this.#stopping;
  }
}

export async function startVersionProcess(opts: VersionProcessOptions): Promise<VersionProcess> {
  const port = opts.port ?? (await freePort());
  const argv = resolveCommand(opts.argv);
  const child = spawnSupervised(argv, {
    name: `iter8-${opts.revision}`,
    env: { ...process.env, ...opts.env, PORT: String(port) },
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
  });
  const p = new VersionProcess(opts.revision, `127.0.0.1:${port}`, child, opts.onLog);
  try {
    await p.waitReady(opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  } catch (e) {
    await p.stop();
    throw e;
  }
  if (opts.onExit) p.watchExit(opts.onExit);
  return p;
}
