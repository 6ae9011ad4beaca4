// The real helm and kubectl clients (built by scripts/k8s/*.sh) run against the test API server, and
// the chart rendered by `helm template`, for the install tests and for RBAC that is exactly the chart's.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { resolveTool } from "./harness/binaries.ts";

export const ROOT = join(import.meta.dirname, "..", "..");
export const CHART = join(ROOT, "deploy", "helm", "iter8");

/** helm's cache, config and data directories: throwaway, so tests never read or touch the user's. */
const HELM_HOME = mkdtempSync(join(tmpdir(), "iter8-helm-home-"));
export const HELM_ENV = {
  HELM_CACHE_HOME: join(HELM_HOME, "cache"),
  HELM_CONFIG_HOME: join(HELM_HOME, "config"),
  HELM_DATA_HOME: join(HELM_HOME, "data"),
};

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(bin: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const r = spawnSync(bin, args, {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 120_000,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    env: { ...process.env, ...HELM_ENV, ...opts.env },
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export const helm = (args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) =>
  run(resolveTool("ITER8_HELM"), args, opts);
export const kubectl = (args: string[], opts: { input?: string } = {}) =>
  run(resolveTool("ITER8_KUBECTL"), args, opts);

/** Fails with the command's output unless it exited 0. */
export function ok(r: Run, what: string): Run {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
  return r;
}

export type Obj = Record<string, unknown>;

export function parseDocs(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

/** `helm template` of the chart (optionally only some templates) with `--set` values. */
export function renderChart(opts: { namespace: string; set?: string[]; showOnly?: string[] }): Obj[] {
  const args = ["template", "iter8", CHART, "--namespace", opts.namespace];
  for (const s of opts.set ?? []) args.push("--set", s);
  for (const t of opts.showOnly ?? []) args.push("--show-only", t);
  return parseDocs(ok(helm(args), "helm template").stdout);
}
