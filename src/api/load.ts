// Reading iter8 objects from text: YAML (multi-document streams too), JSON, or a Kubernetes `List`.
// Input that cannot be read at all (empty, not YAML, too large) is an `InputError` with a one-line
// message; each document then gets its own result: an iter8 object (validated, upgraded to v2alpha2,
// references normalised), a skipped foreign object (a Knative Service in the same file), or a
// one-line error for a document that is not an object iter8 can recognise.

import { readFile, stat } from "node:fs/promises";
import { parseAllDocuments } from "yaml";
import { isRecord } from "../lib/objects.ts";
import type { Experiment, Metric, Problem, SourceVersion } from "./types.ts";
import { GROUP } from "./types.ts";
import { type ValidateOptions, validateExperiment, validateMetric } from "./validate.ts";
import { MAX_NESTING, tooDeepPath } from "./validate-safety.ts";

/** Inputs larger than this are refused (an Experiment is a few kB; a List of 1,000 fits easily). */
export const MAX_INPUT_BYTES = 4 * 1024 * 1024;

/** The input as a whole cannot be read. The message is one line, fit for the user. */
export class InputError extends Error {
  override readonly name = "InputError";
}

export type LoadOptions = ValidateOptions & {
  /** The file the text came from: input errors name it instead of saying "input". */
  source?: string;
};

/** Renames "input ..." in an input error to the file it came from (the user may pass several). */
function namedInputError(e: unknown, source: string | undefined): unknown {
  if (!(e instanceof InputError) || source === undefined || source === "-") return e;
  return new InputError(
    e.message.startsWith("input ") ? `${source}${e.message.slice(5)}` : `${source}: ${e.message}`,
  );
}

export interface LoadedDocument {
  /** 1-based position of the document in the stream. */
  index: number;
  /** 1-based position inside a `List` document, when the object came from one. */
  item?: number;
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  /** The API version the object was written in (iter8 objects only). */
  sourceVersion?: SourceVersion;
  /** The object in v2alpha2 shape; present only when it is a valid iter8 object. */
  resource?: Experiment | Metric;
  /** What is wrong with an iter8 object (empty when valid). */
  problems: Problem[];
  warnings: string[];
  /** True for objects that are not iter8's (Knative Service, VirtualService, Job, ...). */
  skipped?: boolean;
  /** Set when the document is not an object iter8 can recognise; one line. */
  error?: string;
}

/** "document 2" or "document 2, item 3". */
export function documentLabel(d: Pick<LoadedDocument, "index" | "item">): string {
  return d.item === undefined ? `document ${d.index}` : `document ${d.index}, item ${d.item}`;
}

/**
 * Parses and validates every document of `text`; throws `InputError` when the input is unreadable,
 * naming `opts.source` when given.
 */
export function loadDocuments(text: string, opts: LoadOptions = {}): LoadedDocument[] {
  try {
    return loadAll(text, opts);
  } catch (e) {
    throw namedInputError(e, opts.source);
  }
}

function loadAll(text: string, opts: LoadOptions): LoadedDocument[] {
  if (Buffer.byteLength(text, "utf8") > MAX_INPUT_BYTES) {
    throw new InputError(`input is larger than ${MAX_INPUT_BYTES / 1024 / 1024} MiB`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === "") throw new InputError("input is empty");

  const values = parseJson(text) ?? parseYaml(text);
  values.forEach((value, i) => {
    // Checked before anything walks the document recursively (validation would overflow the stack).
    const deep = tooDeepPath(value, MAX_NESTING + 2);
    if (deep !== undefined) {
      throw new InputError(`document ${i + 1}: ${deep}: nested more than ${MAX_NESTING} levels deep`);
    }
  });

  const out: LoadedDocument[] = [];
  values.forEach((value, i) => {
    const index = i + 1;
    if (value === null || value === undefined) return; // an empty document between separators
    if (
      isRecord(value) &&
      typeof value["kind"] === "string" &&
      value["kind"].endsWith("List") &&
      Array.isArray(value["items"])
    ) {
      value["items"].forEach((item, j) => {
        out.push(loadObject(item, index, j + 1, opts));
      });
      return;
    }
    out.push(loadObject(value, index, undefined, opts));
  });
  if (out.length === 0) throw new InputError("input has no objects (every document is empty)");
  return out;
}

/** Every document of a YAML stream as plain values; throws `InputError` on a syntax error. */
function parseYaml(text: string): unknown[] {
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  // An empty stream (only comments) comes back as an EmptyStream, which is iterable but has no items.
  const list = Array.isArray(docs) ? docs : [];
  const values: unknown[] = [];
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      const where = pos ? ` at line ${pos.line}, column ${pos.col}` : "";
      const what = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
      throw new InputError(`input is not valid YAML${where}: ${what}`);
    }
    try {
      values.push(doc.toJS({ maxAliasCount: 100 }));
    } catch (e) {
      if (e instanceof RangeError) throw new InputError("input is nested too deeply to read");
      throw new InputError(`input is not valid YAML: ${(e as Error).message.split("\n")[0]}`);
    }
  }

  return values;
}

/**
 * A JSON document (what `kubectl get -o json` prints) parsed natively: much faster than the YAML
 * parser for a large List. Undefined when the text is not JSON, so that the YAML parser (a JSON
 * superset) reports the error with its position. Duplicate keys are refused as YAML refuses them.
 */
function parseJson(text: string): unknown[] | undefined {
  const first = text.trimStart()[0];
  if (first !== "{" && first !== "[") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const dup = duplicateJsonKey(text);
  if (dup)
    throw new InputError(
      `input is not valid JSON at line ${dup.line}, column ${dup.col}: duplicate key ${JSON.stringify(dup.key)}`,
    );
  return [value];
}

/** The first key repeated within one object of `text`, which must be valid JSON. */
function duplicateJsonKey(text: string): { key: string; line: number; col: number } | undefined {
  const frames: Array<{ keys: Set<string> | undefined; expectKey: boolean }> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{") frames.push({ keys: new Set(), expectKey: true });
    else if (c === "[") frames.push({ keys: undefined, expectKey: false });
    else if (c === "}" || c === "]") frames.pop();
    else if (c === ",") {
      const top = frames[frames.length - 1];
      if (top?.keys) top.expectKey = true;
    } else if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === "\\") i++;
      const top = frames[frames.length - 1];
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(start, i + 1)) as string;
        if (top.keys.has(key)) {
          const before = text.slice(0, start);
          const line = before.split("\n").length;
          return { key, line, col: start - before.lastIndexOf("\n") };
        }
        top.keys.add(key);
        top.expectKey = false;
      }
    }
  }
  return undefined;
}

function loadObject(
  value: unknown,
  index: number,
  item: number | undefined,
  opts: LoadOptions,
): LoadedDocument {
  const base: LoadedDocument = { index, problems: [], warnings: [] };
  if (item !== undefined) base.item = item;
  const label = documentLabel(base);
  if (!isRecord(value)) {
    base.error = `${label}: expected a Kubernetes object (a mapping with apiVersion and kind), got ${describe(value)}`;
    return base;
  }
  const { apiVersion, kind } = value;
  const md = isRecord(value["metadata"]) ? value["metadata"] : {};
  if (typeof md["name"] === "string") base.name = md["name"];
  if (typeof md["namespace"] === "string") base.namespace = md["namespace"];
  if (typeof apiVersion !== "string" || apiVersion === "") {
    base.error = `${label}: missing apiVersion (expected ${GROUP}/v2alpha2 or ${GROUP}/v2alpha1)`;
    return base;
  }
  base.apiVersion = apiVersion;
  if (typeof kind !== "string" || kind === "") {
    base.error = `${label}: missing kind (expected Experiment or Metric)`;
    return base;
  }
  base.kind = kind;
  const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
  if (group !== GROUP) {
    base.skipped = true;
    return base;
  }
  if (apiVersion !== `${GROUP}/v2alpha2` && apiVersion !== `${GROUP}/v2alpha1`) {
    base.error = `${label}: unknown apiVersion ${apiVersion} (iter8 reads ${GROUP}/v2alpha2 and ${GROUP}/v2alpha1)`;
    return base;
  }
  if (kind !== "Experiment" && kind !== "Metric") {
    base.error = `${label}: unknown kind ${kind} in ${apiVersion} (iter8 reads Experiment and Metric)`;
    return base;
  }
  const result = kind === "Experiment" ? validateExperiment(value, opts) : validateMetric(value, opts);
  base.problems = result.problems;
  base.warnings = result.warnings;
  if (result.sourceVersion) base.sourceVersion = result.sourceVersion;
  if (result.resource) base.resource = result.resource;
  return base;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return `the text ${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)}`;
  return `${typeof v} ${String(v)}`;
}

/**
 * The text of a file, or of standard input for `-`. Refuses more than MAX_INPUT_BYTES and input that
 * is not UTF-8, with an `InputError`.
 */
export async function readInput(fileOrDash: string): Promise<string> {
  let bytes: Buffer;
  if (fileOrDash === "-") {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of process.stdin) {
      const b = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
      total += b.length;
      if (total > MAX_INPUT_BYTES) {
        process.stdin.destroy();
        throw new InputError(`input is larger than ${MAX_INPUT_BYTES / 1024 / 1024} MiB`);
      }
      chunks.push(b);
    }
    bytes = Buffer.concat(chunks);
  } else {
    try {
      const s = await stat(fileOrDash);
      if (s.isDirectory()) throw new InputError(`${fileOrDash} is a directory, not a file`);
      if (s.size > MAX_INPUT_BYTES)
        throw new InputError(`${fileOrDash} is larger than ${MAX_INPUT_BYTES / 1024 / 1024} MiB`);
      bytes = await readFile(fileOrDash);
    } catch (e) {
      if (e instanceof InputError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message;
      throw new InputError(`cannot read ${fileOrDash}: ${why}`);
    }
    if (bytes.length > MAX_INPUT_BYTES)
      throw new InputError(`${fileOrDash} is larger than ${MAX_INPUT_BYTES / 1024 / 1024} MiB`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(`${fileOrDash === "-" ? "input" : fileOrDash} is not UTF-8 text`);
  }
}
