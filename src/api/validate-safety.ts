// Checks of an Experiment's size and shape beyond its schema, and of the values that end up in
// commands and URLs. Kept apart from validate.ts's rules, which concern meaning.

import { isRecord } from "../lib/objects.ts";

type Obj = Record<string, unknown>;

export interface SafetyProblem {
  path: string;
  message: string;
}

/** A DNS label (RFC 1123), as Kubernetes names are: also safe in URLs and shell words. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Characters that need no quoting in a URL path or query, nor in a shell word. */
const URL_SAFE = /^[A-Za-z0-9._~:/@%+,=-]*$/;

/**
 * Version names that are not DNS labels and variable values that are not URL-safe: they reach
 * task scripts, metric URLs and commands, where only quoting keeps them literal.
 */
export function unsafeNameWarnings(versions: { path: string; v: Obj }[]): SafetyProblem[] {
  const out: SafetyProblem[] = [];
  for (const { path, v } of versions) {
    const name = v["name"];
    if (typeof name === "string" && name !== "" && !(name.length <= 63 && DNS_LABEL.test(name))) {
      out.push({
        path: `${path}.name`,
        message: `${quoted(name)} is not a DNS label (lower-case letters, digits and '-', at most 63); it reaches scripts and URLs`,
      });
    }
    if (!Array.isArray(v["variables"])) continue;
    v["variables"].forEach((variable, j) => {
      if (!isRecord(variable)) return;
      const value = variable["value"];
      if (typeof value === "string" && !URL_SAFE.test(value)) {
        out.push({
          path: `${path}.variables[${j}].value`,
          message: `${quoted(value)} has characters that are not URL-safe; scripts get it shell-quoted, URLs as written`,
        });
      }
    });
  }
  return out;
}

function quoted(s: string): string {
  const short = s.length > 60 ? `${s.slice(0, 60)}…` : s;
  return JSON.stringify(short);
}

/** Deepest nesting of maps and lists accepted anywhere in an object (task inputs included). */
export const MAX_NESTING = 64;
/** The Kubernetes API server (etcd) refuses objects larger than about 1.5 MiB. */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;
/** Node's timers hold at most 2^31-1 ms; a longer interval would fire at once, in a busy loop. */
export const MAX_INTERVAL_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/**
 * The path of the first node nested deeper than `max` levels, or undefined. Iterative, so any
 * depth is measured without using the stack (a recursive check would overflow where the validator
 * itself would).
 */
export function tooDeepPath(root: unknown, max = MAX_NESTING): string | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: root, path: "", depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (value === null || typeof value !== "object") continue;
    if (depth >= max) return path || "(top level)";
    const entries = Array.isArray(value)
      ? value.map((v, i) => [`${path}[${i}]`, v] as const)
      : Object.entries(value).map(([k, v]) => [path === "" ? k : `${path}.${k}`, v] as const);
    for (const [p, v] of entries) stack.push({ value: v, path: p, depth: depth + 1 });
  }
  return undefined;
}

/** Limits an Experiment must keep to be stored and run: its size and its interval. */
export function limitProblems(raw: Obj): SafetyProblem[] {
  const out: SafetyProblem[] = [];
  const bytes = Buffer.byteLength(JSON.stringify(raw), "utf8");
  if (bytes > MAX_OBJECT_BYTES) {
    out.push({
      path: "",
      message: `the object is ${bytes} bytes as JSON; the Kubernetes API server stores at most ${MAX_OBJECT_BYTES} (1.5 MiB)`,
    });
  }
  const spec = isRecord(raw["spec"]) ? raw["spec"] : {};
  const duration = isRecord(spec["duration"]) ? spec["duration"] : {};
  const interval = duration["intervalSeconds"];
  // Beyond int32 the schema's own bound reports it.
  if (typeof interval === "number" && interval > MAX_INTERVAL_SECONDS && interval <= 2 ** 31 - 1) {
    out.push({
      path: "spec.duration.intervalSeconds",
      message: `must be at most ${MAX_INTERVAL_SECONDS} (about 24.8 days, the longest timer Node.js keeps), got ${interval}`,
    });
  }
  return out;
}

/** Task inputs checked by the task implementations (e.g. common/exec needs `cmd`). */
export type TaskInputCheck = (task: string, input: Record<string, unknown>) => string[];

export function taskInputProblems(spec: Obj, check: TaskInputCheck): SafetyProblem[] {
  const out: SafetyProblem[] = [];
  const strategy = isRecord(spec["strategy"]) ? spec["strategy"] : {};
  const actions = isRecord(strategy["actions"]) ? strategy["actions"] : {};
  for (const [action, tasks] of Object.entries(actions)) {
    if (!Array.isArray(tasks)) continue;
    tasks.forEach((t, i) => {
      if (!isRecord(t) || typeof t["task"] !== "string" || t["task"] === "") return;
      const input = t["with"] ?? {};
      if (!isRecord(input)) return; // the schema reports it
      for (const message of check(t["task"], input)) {
        out.push({ path: `spec.strategy.actions.${action}[${i}].with`, message });
      }
    });
  }
  return out;
}
