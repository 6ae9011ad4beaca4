// The local ExperimentStore: a state directory with one JSON file per experiment
// (`experiments/<namespace>.<name>.json`), written atomically (temporary file + rename) with
// `metadata.resourceVersion` bumped on every write and checked against the caller's copy, like the
// Kubernetes API server does. Other processes (`iter8 get experiments`, `iter8 describe NAME`) read
// the same files while a run writes them; a reader sees either the old or the new file, never half.
// Metrics come from the Metric manifests the run loaded (the tutorial's plus the installed set).

import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { join } from "node:path";
import { namespaceOf } from "../../api/refs.ts";
import type { Experiment, Metric } from "../../api/types.ts";
import { ConflictError, type ExperimentStore, type ObjectKey } from "../../engine/ports.ts";

/** `--state-dir`, else `$ITER8_STATE_DIR`, else `$XDG_STATE_HOME/iter8`, else `~/.local/state/iter8`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env["ITER8_STATE_DIR"]) return env["ITER8_STATE_DIR"];
  if (env["XDG_STATE_HOME"]) return join(env["XDG_STATE_HOME"], "iter8");
  return join(homedir(), ".local", "state", "iter8");
}

const FILE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function experimentFileName(key: ObjectKey): string {
  const base = `${key.namespace}.${key.name}`;
  if (!FILE_NAME.test(key.namespace) || !FILE_NAME.test(key.name))
    throw new Error(`experiment ${key.namespace}/${key.name}: namespace and name must be DNS names`);
  return `${base}.json`;
}

/** Writes `data` to `path` so that readers see the old or the new content, never a mix. */
export function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export function readJson<T>(path: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  return JSON.parse(text) as T;
}

/** Reads the experiments of a state directory (for `get` and `describe` in another terminal). */
export function listStoredExperiments(stateDir: string): Experiment[] {
  const dir = join(stateDir, "experiments");
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: Experiment[] = [];
  for (const f of names.filter((n) => n.endsWith(".json")).sort()) {
    try {
      const e = readJson<Experiment>(join(dir, f));
      if (e) out.push(e);
    } catch {
      // A file removed or replaced between readdir and read: skip it this time.
    }
  }
  return out;
}

export interface FileStoreOptions {
  stateDir: string;
  metrics?: Metric[];
  /** Called after every successful write with the stored experiment. */
  onWrite?: (exp: Experiment) => void;
}

export class FileExperimentStore implements ExperimentStore {
  readonly dir: string;
  readonly #metrics: Metric[];
  readonly #onWrite: FileStoreOptions["onWrite"];

  constructor(opts: FileStoreOptions) {
    this.dir = join(opts.stateDir, "experiments");
    mkdirSync(this.dir, { recursive: true });
    this.#metrics = opts.metrics ?? [];
    this.#onWrite = opts.onWrite;
  }

  pathOf(key: ObjectKey): string {
    return join(this.dir, experimentFileName(key));
  }

  async get(key: ObjectKey): Promise<Experiment | undefined> {
    return readJson<Experiment>(this.pathOf(key));
  }

  async list(): Promise<Experiment[]> {
    return listStoredExperiments(join(this.dir, ".."));
  }

  /** A local state directory holds a handful of experiments: a scan is the index. */
  async listByTarget(target: string): Promise<Experiment[]> {
    return (await this.list()).filter((e) => e.spec?.target === target);
  }

  /** Creates or replaces the experiment (a fresh run); resourceVersion starts at 1 or continues. */
  async put(exp: Experiment): Promise<Experiment> {
    const key = keyOf(exp);
    const old = await this.get(key);
    const next = structuredClone(exp);
    next.metadata.resourceVersion = String(Number(old?.metadata.resourceVersion ?? 0) + 1);
    writeAtomic(this.pathOf(key), `${JSON.stringify(next, null, 2)}\n`);
    return next;
  }

  async updateStatus(exp: Experiment): Promise<Experiment> {
    return this.#update(exp, (stored) => {
      if (exp.status === undefined) delete stored.status;
      else stored.status = structuredClone(exp.status);
    });
  }

  async updateSpec(exp: Experiment): Promise<Experiment> {
    return this.#update(exp, (stored) => {
      stored.spec = structuredClone(exp.spec);
      if (exp.metadata.annotations) stored.metadata.annotations = { ...exp.metadata.annotations };
    });
  }

  async #update(exp: Experiment, change: (stored: Experiment) => void): Promise<Experiment> {
    const key = keyOf(exp);
    const stored = await this.get(key);
    if (!stored) throw new Error(`experiment ${key.namespace}/${key.name} not found`);
    if (stored.metadata.resourceVersion !== exp.metadata.resourceVersion) {
      throw new ConflictError(
        `experiment ${key.namespace}/${key.name}: resourceVersion ${exp.metadata.resourceVersion} is stale (stored ${stored.metadata.resourceVersion})`,
      );
    }
    change(stored);
    stored.metadata.resourceVersion = String(Number(stored.metadata.resourceVersion ?? 0) + 1);
    writeAtomic(this.pathOf(key), `${JSON.stringify(stored, null, 2)}\n`);
    this.#onWrite?.(structuredClone(stored));
    return stored;
  }

  async getMetric(key: ObjectKey): Promise<Metric | undefined> {
    const m = this.#metrics.find((x) => x.metadata.name === key.name && namespaceOf(x) === key.namespace);
    return m === undefined ? undefined : structuredClone(m);
  }
}

export function keyOf(exp: Experiment): ObjectKey {
  return { namespace: namespaceOf(exp), name: exp.metadata.name };
}

// ---- Liveness of a run ---------------------------------------------------------------------------
// `iter8 local run` beats `runs/<namespace>.<name>.runner.json` (pid, host, time) while it runs and
// removes it when it stops. Another terminal judges an unfinished experiment "interrupted" when no
// live runner beats for it: same host, the pid must exist and the beat be recent (a reused pid has no
// recent beat); another host (a shared directory), the beat must be recent.

export interface RunnerBeat {
  pid: number;
  host: string;
  /** RFC 3339. */
  beatAt: string;
  intervalMs: number;
  /** The tutorial directory the run was started with. */
  dir: string;
}

export function runnerFilePath(stateDir: string, key: ObjectKey): string {
  return join(stateDir, "runs", experimentFileName(key).replace(/\.json$/, ".runner.json"));
}

/** Starts beating for `key`; the returned function stops and removes the beat. */
export function startHeartbeat(stateDir: string, key: ObjectKey, dir: string, intervalMs = 2000): () => void {
  const path = runnerFilePath(stateDir, key);
  mkdirSync(join(stateDir, "runs"), { recursive: true });
  const beat = () => {
    const record: RunnerBeat = {
      pid: process.pid,
      host: hostname(),
      beatAt: new Date().toISOString(),
      intervalMs,
      dir,
    };
    try {
      writeAtomic(path, `${JSON.stringify(record)}\n`);
    } catch {
      // A full or vanished state directory: the run goes on; readers will call it interrupted.
    }
  };
  beat();
  const timer = setInterval(beat, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    rmSync(path, { force: true });
  };
}

export interface RunnerLiveness {
  alive: boolean;
  /** The tutorial directory to resume with, when known. */
  dir?: string;
  beat?: RunnerBeat;
}

/** Whether a live `iter8 local run` is running `key` (see above). */
export function runnerLiveness(stateDir: string, key: ObjectKey, now = Date.now()): RunnerLiveness {
  let beat: RunnerBeat | undefined;
  try {
    beat = readJson<RunnerBeat>(runnerFilePath(stateDir, key));
  } catch {
    beat = undefined; // half-written by another host's writer: judge by the run record
  }
  const record = readJson<{ tutorial?: string; pid?: number }>(
    join(stateDir, "runs", experimentFileName(key)),
  );
  const dir = beat?.dir ?? record?.tutorial;
  const withDir = (alive: boolean): RunnerLiveness => ({
    alive,
    ...(dir ? { dir } : {}),
    ...(beat ? { beat } : {}),
  });
  if (!beat) return withDir(false);
  const fresh = now - Date.parse(beat.beatAt) < 3 * beat.intervalMs + 5000;
  if (beat.host !== hostname()) return withDir(fresh);
  return withDir(fresh && pidAlive(beat.pid));
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
