// Helpers for the local platform's end-to-end tests: the built CLI as a real process, its output
// streamed so tests can act on a line (e.g. SIGKILL after iteration 3), and an orphan check that
// finds every process still carrying the run's marker variable in its environment.

import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../../../", import.meta.url));
export const examples = join(root, "examples");

/** Newest modification time of the files under `dir` (0 when it does not exist). */
function newest(dir: string): number {
  let max = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else max = Math.max(max, statSync(p).mtimeMs);
    }
  };
  if (statSync(dir, { throwIfNoEntry: false })) walk(dir);
  return max;
}

/**
 * Builds the CLI unless dist/ is newer than every source file (tsc emits even when other parts of
 * the tree have type errors; this test needs this part built).
 */
export function buildOnce(): void {
  if (newest(join(root, "dist")) > newest(join(root, "src"))) return;
  const started = Date.now();
  const r = spawnSync("npm", ["run", "build"], { cwd: root, encoding: "utf8", timeout: 180_000 });
  const emitted = statSync(join(root, "dist/platforms/local/run.js"), { throwIfNoEntry: false });
  if (r.status !== 0 && !(emitted && emitted.mtimeMs >= started - 1000))
    throw new Error(`npm run build failed:\n${r.stdout}\n${r.stderr}`);
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `iter8-local-test-${prefix}-`));
}

/** A copy of an example directory, to change a manifest or the lab file. */
export function copyExample(name: string): string {
  const dir = tempDir(name);
  cpSync(join(examples, name), dir, { recursive: true });
  return dir;
}

export interface CliRun {
  pid: number;
  marker: string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  /** Resolves when stdout has a line matching `re` (rejects if the process exits first). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  kill(signal: NodeJS.Signals): void;
}

let seq = 0;
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const marker = `iter8-test-${process.pid}-${++seq}-${Date.now()}`;
  const child = spawn(join(root, "bin/iter8"), args, {
    cwd: root,
    env: { ...process.env, ...env, ITER8_TEST_MARKER: marker, ITER8_PROGRAM_NAME: "iter8" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  child.stdout.setEncoding("utf8").on("data", (c: string) => {
    out += c;
    for (const l of [...listeners]) l();
  });
  child.stderr.setEncoding("utf8").on("data", (c: string) => {
    err += c;
  });
  // 'exit' can come before the last output has been read from the pipes (a loaded machine shows
  // it): the run counts as exited once both pipes have ended too, or 2 s after the exit if a
  // process the run left behind still holds one open.
  const ended = (stream: NodeJS.ReadableStream) =>
    new Promise<void>((resolve) => stream.once("end", resolve).once("close", resolve));
  const pipesEnded = Promise.all([ended(child.stdout), ended(child.stderr)]);
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      const settle = () => {
        for (const l of [...listeners]) l();
        resolve(code ?? signal ?? -1);
      };
      const cap = setTimeout(settle, 2000);
      void pipesEnded.then(() => {
        clearTimeout(cap);
        settle();
      });
    });
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });
  return {
    pid: child.pid!,
    marker,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(re, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(re);
          if (m) {
            cleanup();
            resolve(m);
          } else if (done) {
            cleanup();
            reject(new Error(`exited before ${re}:\n${out}\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${re} within ${timeoutMs} ms:\n${out}\n${err}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    kill(signal) {
      child.kill(signal);
    },
  };
}

/** Runs the CLI to completion. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const run = startCli(args, env);
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr(), marker: run.marker };
}

/** Pids of live processes whose environment carries `marker` (started by that CLI run). */
export function processesWithMarker(marker: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const env = readFileSync(`/proc/${p}/environ`, "latin1");
      const stat = readFileSync(`/proc/${p}/stat`, "latin1");
      if (/\) Z /.test(stat)) continue; // a zombie is gone, only not yet reaped
      if (env.includes(`ITER8_TEST_MARKER=${marker}\0`)) out.push(Number(p));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return out;
}

/**
 * Waits until no process carries `marker` (the watchdogs stop children within a few seconds of the
 * parent's exit), bounded by `timeoutMs`; returns the survivors.
 */
export async function orphansAfter(marker: string, timeoutMs = 8000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = processesWithMarker(marker);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

/** (iteration, weights) from the printed progress lines. */
export function iterationLines(
  stdout: string,
): Array<{ iteration: number; weights: Record<string, number> }> {
  const out: Array<{ iteration: number; weights: Record<string, number> }> = [];
  for (const line of stdout.split("\n")) {
    const m = /\sRunning\s+(\d+)\s+((?:\w+=\d+\s?)*)\s+IterationUpdate: Completed (Iteration|Loop)/.exec(
      line,
    );
    if (!m) continue;
    const iteration = Number(m[1]);
    if (out.some((x) => x.iteration === iteration)) continue;
    const weights: Record<string, number> = {};
    for (const w of m[2]!.trim().split(/\s+/).filter(Boolean)) {
      const [k, v] = w.split("=");
      weights[k!] = Number(v);
    }
    out.push({ iteration, weights });
  }
  return out;
}
