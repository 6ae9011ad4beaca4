// Child processes of the benchmark: started in their own process groups, awaited on real events
// (an address printed, a port accepting), and all killed on exit, on error and on Ctrl-C.

import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";

const children = new Set<ChildProcess>();
const cleanups: Array<() => void> = [];

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the whole group: cluster workers, nginx workers
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

/** Kills every child (TERM, then KILL for stragglers) and runs registered cleanups. */
export async function stopAll(): Promise<void> {
  const live = [...children];
  for (const c of live) killGroup(c, "SIGTERM");
  await Promise.race([
    Promise.all(
      live.map((c) =>
        c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once("exit", r)),
      ),
    ),
    new Promise((r) => setTimeout(r, 2000)),
  ]);
  for (const c of live) killGroup(c, "SIGKILL");
  children.clear();
  for (const f of cleanups.splice(0)) f();
}

/** Registers a synchronous cleanup (temp dirs) run by stopAll and on exit. */
export function onCleanup(f: () => void): void {
  cleanups.push(f);
}

let installed = false;
export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`\nbench: ${sig}, stopping everything it started\n`);
    stopAll().finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", () => {
    for (const c of children) killGroup(c, "SIGKILL");
    for (const f of cleanups.splice(0)) f();
  });
}

export interface Started {
  child: ChildProcess;
  failed: () => Error | null;
  stderr: () => string;
  stop: () => Promise<void>;
}

export function start(cmd: string, args: string[], opts: { cwd?: string } = {}): Started {
  const child = spawn(cmd, args, { cwd: opts.cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let err = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => {
    err = (err + d).slice(-4000);
  });
  child.on("exit", () => children.delete(child));
  // A command that cannot start (ENOENT) reports it here rather than by exiting.
  let spawnError: Error | null = null;
  child.on("error", (e) => {
    spawnError = e;
    children.delete(child);
    err += `${cmd}: ${e.message}`;
    child.emit("exit", null, null);
  });
  return {
    child,
    failed: () => spawnError,
    stderr: () => err,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null || spawnError !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      killGroup(child, "SIGTERM");
      const t = setTimeout(() => killGroup(child, "SIGKILL"), 2000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Waits for a line on stdout matching `re` (first capture group returned), or fails on exit/timeout. */
export function waitForLine(s: Started, re: RegExp, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(
      () => finish(new Error(`no ready line after ${timeoutMs} ms: ${s.stderr().trim()}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      out += d.toString();
      for (const line of out.split("\n")) {
        const m = re.exec(line);
        if (m) return finish(null, m[1] ?? m[0]);
      }
    };
    const onExit = (code: number | null) =>
      finish(new Error(`exited (${code}) before ready: ${s.stderr().trim()}`));
    function finish(err: Error | null, value?: string) {
      clearTimeout(timer);
      s.child.stdout!.off("data", onData);
      s.child.off("exit", onExit);
      // Keep draining stdout so a chatty child never blocks on a full pipe.
      s.child.stdout!.resume();
      if (err) reject(err);
      else resolve(value!);
    }
    s.child.stdout!.on("data", onData);
    s.child.once("exit", onExit);
  });
}

/** Waits until host:port accepts TCP connections. */
export async function waitForPort(host: string, port: number, s: Started, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (s.child.exitCode !== null || s.failed() !== null)
      throw new Error(`exited (${s.child.exitCode}) before listening: ${s.stderr().trim()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect({ host, port }, () => {
        sock.destroy();
        resolve(true);
      });
      sock.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} not open after ${timeoutMs} ms: ${s.stderr().trim()}`);
}

/** Runs a command to completion, returning stdout (rejects with stderr on failure). */
export function runToEnd(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = start(cmd, args);
    let out = "";
    s.child.stdout!.setEncoding("utf8");
    s.child.stdout!.on("data", (d: string) => {
      out += d;
    });
    const timer = setTimeout(() => {
      s.stop();
      reject(new Error(`${cmd} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    s.child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${s.stderr().trim()}`));
    });
  });
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** User + system CPU seconds a process has used so far, from /proc/PID/stat. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name), in clock ticks.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
