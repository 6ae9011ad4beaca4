// Field paths for problems: `spec.versionInfo.candidates[0].name`, `spec.strategy.actions.start[1].if`,
// and `status.analysis.aggregatedMetrics.data["iter8-knative/mean-latency"]` for keys that are not
// plain identifiers.

import { pointerSegments, type Segment } from "../kinds/fieldpath.ts";
import type { Problem } from "./types.ts";

export type { Segment };

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Joins path segments: numbers become `[i]`, identifiers `.name`, anything else `["key"]`. */
export function formatPath(segments: readonly Segment[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (IDENTIFIER.test(s)) out += out === "" ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/**
 * Converts an ajv `instancePath` (a JSON pointer such as `/spec/versionInfo/candidates/0/name`) to a
 * field path. A segment of digits is a list index only when the value at that point is a list, so
 * map keys such as a version named `2` stay keys.
 */
export function pointerToPath(pointer: string, root: unknown): string {
  const segments: Segment[] = [];
  let node: unknown = root;
  for (const s of pointerSegments(pointer)) {
    if (Array.isArray(node) && /^\d+$/.test(s)) {
      const i = Number(s);
      segments.push(i);
      node = node[i];
    } else {
      segments.push(s);
      node = node !== null && typeof node === "object" ? (node as Record<string, unknown>)[s] : undefined;
    }
  }
  return formatPath(segments);
}

/** Joins two formatted paths: a tail that starts with `[` follows directly, another after a dot. */
export function joinPath(head: string, tail: string): string {
  if (head === "") return tail;
  if (tail === "") return head;
  return tail.startsWith("[") ? head + tail : `${head}.${tail}`;
}

/** Appends a child (key or index) to a formatted path. */
export function childPath(path: string, child: Segment): string {
  return joinPath(path, formatPath([child]));
}

/** Prefixes every problem's path (used for objects embedded in others, e.g. `status.metrics[0].metricObj`). */
export function prefixProblems(prefix: string, problems: readonly Problem[]): Problem[] {
  return problems.map((p) => ({ path: joinPath(prefix, p.path), message: p.message }));
}

/** "path: message", or just the message for whole-object problems. */
export function formatProblem(p: Problem): string {
  return p.path === "" ? p.message : `${p.path}: ${p.message}`;
}
