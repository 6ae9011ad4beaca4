// Task template interpolation: the Go-template subset the
// task docs and samples use, with `{{ }}` (common/exec, common/bash) or `@< >@` (run,
// notification/http) delimiters. Values are inserted verbatim: never HTML-escaped. A missing key
// renders as the empty string.
//
// Supported actions inside the delimiters:
//   .key.sub.path        a value from the data (objects and lists are rendered as JSON)
//   .Secret "key"        a key of the task's secret (also `.Secret 'key'`, as the docs wrote it)
//   .                    the whole data, as JSON
//   raw EXPR             EXPR's value as is, where the caller quotes values (shell scripts)
// Anything else (pipelines, functions, control structures) is rejected with an error naming it.

import { ShellQuoter } from "./shell-quote.ts";

export interface Delimiters {
  open: string;
  close: string;
}

export const CURLY: Delimiters = { open: "{{", close: "}}" };
export const ANGLE: Delimiters = { open: "@<", close: ">@" };

export class TemplateError extends Error {
  override readonly name = "TemplateError";
}

/**
 * How rendered values are inserted. `shell`: quoted for where they land in a bash script
 * (shell-quote.ts), except under `raw`. Default: verbatim.
 */
export interface InterpolateOptions {
  quote?: "shell";
}

export interface TemplateData {
  /** Top-level values: `.name`, version variables, `.this`, ... */
  values: Record<string, unknown>;
  /** Keys of the task's secret, for `.Secret "key"`. */
  secret?: Record<string, string>;
  /** Lookup for names not in `values` (Go-cased experiment fields such as `.Spec.Target`). */
  fallback?: (path: string[]) => unknown;
}

function render(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  return JSON.stringify(value);
}

function lookup(root: unknown, path: string[]): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    if (Array.isArray(cur)) {
      cur = /^\d+$/.test(seg) ? cur[Number(seg)] : undefined;
      continue;
    }
    const obj = cur as Record<string, unknown>;
    cur = Object.hasOwn(obj, seg) ? obj[seg] : undefined;
  }
  return cur;
}

const PATH = /^\.([A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_][A-Za-z0-9_-]*)*)$/;
const SECRET = /^\.Secret\s+(?:"([^"]*)"|'([^']*)')$/;

const RAW = /^raw\s+(.*)$/s;

function evaluate(expr: string, data: TemplateData): string {
  const raw = RAW.exec(expr);
  if (raw) return evaluate(raw[1]!.trim(), data);
  if (expr === ".") return render(data.values);
  const secret = SECRET.exec(expr);
  if (secret) {
    const key = secret[1] ?? secret[2] ?? "";
    if (!data.secret) throw new TemplateError(`template uses .Secret "${key}" but the task has no secret`);
    return render(data.secret[key]);
  }
  const m = PATH.exec(expr);
  if (!m) throw new TemplateError(`unsupported template expression "${expr}" (use .name or .a.b.c)`);
  const path = m[1]!.split(".");
  const head = path[0]!;
  if (Object.hasOwn(data.values, head)) return render(lookup(data.values, path));
  return render(data.fallback?.(path));
}

/** Renders `text`, replacing every `open expr close` action. Throws TemplateError on a bad action. */
export function interpolate(
  text: string,
  data: TemplateData,
  delims: Delimiters,
  opts: InterpolateOptions = {},
): string {
  const quoter = opts.quote === "shell" ? new ShellQuoter() : undefined;
  let out = "";
  let at = 0;
  for (;;) {
    const start = text.indexOf(delims.open, at);
    if (start < 0) return out + text.slice(at);
    const end = text.indexOf(delims.close, start + delims.open.length);
    if (end < 0) throw new TemplateError(`unclosed "${delims.open}" at position ${start + 1}`);
    let expr = text.slice(start + delims.open.length, end);
    // Go's whitespace-trimming markers `{{-` / `-}}`.
    let trimLeft = false;
    let trimRight = false;
    if (/^-\s/.test(expr)) {
      trimLeft = true;
      expr = expr.slice(1);
    }
    if (/\s-$/.test(expr)) {
      trimRight = true;
      expr = expr.slice(0, -1);
    }
    let before = text.slice(at, start);
    if (trimLeft) before = before.replace(/\s+$/, "");
    const action = expr.trim();
    const value = evaluate(action, data);
    quoter?.feed(before);
    out += before + (quoter && !RAW.test(action) ? quoter.quote(value) : value);
    at = end + delims.close.length;
    if (trimRight) {
      while (at < text.length && /\s/.test(text[at]!)) at++;
    }
  }
}

/** Whether `text` contains any action to interpolate. */
export function hasActions(text: string, delims: Delimiters): boolean {
  return text.includes(delims.open);
}
