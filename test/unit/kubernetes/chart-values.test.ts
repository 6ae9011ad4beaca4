// The chart's README documents every key of values.yaml, and nothing that is not there.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";

const CHART = join(import.meta.dirname, "..", "..", "..", "deploy", "helm", "iter8");
const values = parse(readFileSync(join(CHART, "values.yaml"), "utf8")) as Record<string, unknown>;
const readme = readFileSync(join(CHART, "README.md"), "utf8");

/** Rows of the README's values table: value path -> default column. */
function documented(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of readme.split("\n")) {
    const m = /^\| `([A-Za-z0-9_.]+)` \| (.*?) \| .* \|$/.exec(line);
    if (m?.[1]) rows.set(m[1], m[2] ?? "");
  }
  return rows;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every key path of values.yaml (objects are descended into). */
function paths(obj: Record<string, unknown>, prefix = ""): [string, unknown][] {
  return Object.entries(obj).flatMap(([k, v]): [string, unknown][] => {
    const p = prefix + k;
    return [[p, v], ...(isMap(v) ? paths(v, `${p}.`) : [])];
  });
}

function lookup(path: string): unknown {
  let cur: unknown = values;
  for (const part of path.split(".")) cur = isMap(cur) ? cur[part] : undefined;
  return cur;
}

describe("deploy/helm/iter8/README.md values table", () => {
  const rows = documented();

  test("documents every value (a leaf is covered by its own row or an ancestor's)", () => {
    const missing = paths(values)
      .filter(([, v]) => !isMap(v) || Object.keys(v).length === 0)
      .map(([p]) => p)
      .filter((p) => {
        const parts = p.split(".");
        return !parts.some((_, i) => rows.has(parts.slice(0, i + 1).join(".")));
      });
    assert.deepEqual(missing, [], `values.yaml keys without a row in README.md: ${missing.join(", ")}`);
  });

  test("documents only values that exist", () => {
    const unknown = [...rows.keys()].filter((p) => lookup(p) === undefined);
    assert.deepEqual(unknown, []);
  });

  test("the default column of each scalar or empty value is the values.yaml default", () => {
    for (const [p, column] of rows) {
      const v = lookup(p);
      const expected =
        typeof v === "string"
          ? v === ""
            ? '`""`'
            : `\`${v}\``
          : Array.isArray(v) && v.length === 0
            ? "`[]`"
            : isMap(v) && Object.keys(v).length === 0
              ? "`{}`"
              : typeof v === "number" || typeof v === "boolean"
                ? `\`${v}\``
                : undefined;
      if (expected !== undefined) assert.equal(column, expected, p);
    }
  });

  test("describes the structured defaults it summarises", () => {
    const r = lookup("resources") as { requests: { cpu: string; memory: string } };
    assert.ok(rows.get("resources")?.includes(`${r.requests.cpu}\`/\`${r.requests.memory}`));
    const sc = lookup("podSecurityContext") as { runAsUser: number; runAsGroup: number };
    assert.ok(rows.get("podSecurityContext")?.includes(`${sc.runAsUser}:${sc.runAsGroup}`));
  });
});
