// The lab file's JSON Schema, run by ajv with every error reported at once (like the API's objects).
// The schema checks shapes; lab.ts adds what a schema cannot say (files exist, durations parse, field
// paths parse, which fields belong to which form). `x-message` replaces ajv's wording where a plain
// "must be array" would not tell the user what the field is for.

import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { formatPath, joinPath, type Segment } from "../../api/paths.ts";
import { schemaProblems } from "../../api/validate.ts";
import { pointerSegments } from "../../kinds/fieldpath.ts";

/** A JSON Schema node (plain data for ajv), optionally with the `x-message` shown for it. */
type Schema = Record<string, unknown>;

const scalar: Schema = { type: ["string", "number", "boolean"] };
const stringMap: Schema = {
  type: "object",
  additionalProperties: scalar,
  "x-message": "must be a mapping of names to strings",
};
const argv = (nonEmpty: boolean): Schema => ({
  type: "array",
  items: { type: ["string", "number"] },
  ...(nonEmpty ? { minItems: 1, "x-message": "must name a program (a non-empty list)" } : {}),
});
const program: Schema = {
  ...argv(true),
  items: { type: ["string", "number"], minLength: 1 },
};
const duration: Schema = { type: ["string", "number"], "x-message": "must be a duration such as 30s" };
const positive = (integer: boolean): Schema => ({
  type: integer ? "integer" : "number",
  exclusiveMinimum: 0,
  "x-message": `must be a positive ${integer ? "integer" : "number"}`,
});
const httpUrl: Schema = {
  type: "string",
  pattern: "^http://[^/\\s]+",
  "x-message": "must be an http:// URL",
};

const trafficEntry: Schema = {
  type: "object",
  required: ["job"],
  additionalProperties: false,
  properties: {
    job: { type: "string", minLength: 1, "x-message": "must name a batch/v1 Job in the manifests" },
    container: { type: "string" },
    url: httpUrl,
    headers: stringMap,
    qps: positive(false),
    connections: positive(true),
    duration,
    delay: duration,
  },
};

const helm: Schema = {
  type: "object",
  additionalProperties: false,
  required: ["release", "service", "values", "render"],
  properties: {
    command: {
      type: "string",
      pattern: "^[^/]+$",
      "x-message": "must be a command name without a path, e.g. helm",
    },
    release: { type: "string", minLength: 1, "x-message": "must name the Helm release the task upgrades" },
    service: {
      type: "string",
      pattern: "^[^/]+/[^/]+$",
      "x-message": "must be NAMESPACE/NAME of the Knative Service the chart renders",
    },
    values: {
      type: "object",
      minProperties: 1,
      additionalProperties: { type: "string", minLength: 1, "x-message": "must be a file path" },
      "x-message": "must map each values file URL the task passes to a local file",
    },
    render: {
      type: "object",
      minProperties: 1,
      additionalProperties: { type: "string", "x-message": "must be a field path such as .spec.traffic" },
      "x-message":
        "must map values keys to the Knative Service fields the chart sets (e.g. name: .spec.template.metadata.name)",
    },
  },
};

const version: Schema = {
  type: "object",
  additionalProperties: false,
  properties: {
    command: program,
    env: stringMap,
    url: httpUrl,
    weight: {
      type: "integer",
      minimum: 0,
      maximum: 100,
      "x-message": "must be an integer percentage 0..100",
    },
  },
  "x-message": "must be a mapping with command (and env) or url",
};

export const LAB_SCHEMA: Schema = {
  type: "object",
  additionalProperties: false,
  properties: {
    images: {
      type: "object",
      additionalProperties: {
        type: "object",
        required: ["command"],
        additionalProperties: false,
        properties: { command: program, args: argv(false) },
        "x-message": "must be a mapping with command (and optional args)",
      },
      "x-message": "must be a mapping of container image to {command, args}",
    },
    revisions: {
      type: "object",
      additionalProperties: {
        type: "object",
        additionalProperties: false,
        properties: { args: argv(false), env: stringMap },
        "x-message": "must be a mapping with args and/or env",
      },
      "x-message": "must be a mapping of revision name to {args, env}",
    },
    traffic: { type: "array", items: trafficEntry, "x-message": "must be a list of load generator settings" },
    helm,
    versions: {
      type: "object",
      minProperties: 1,
      additionalProperties: version,
      "x-message": "must map each version name of the experiment to {command, env} or {url}",
    },
    load: {
      type: "object",
      additionalProperties: false,
      properties: {
        qps: positive(false),
        duration,
        connections: positive(true),
        path: { type: "string", pattern: "^/", "x-message": "must be a path starting with /" },
        headers: stringMap,
      },
    },
    readyTimeout: duration,
    runTasks: {
      anyOf: [{ type: "boolean" }, { type: "array", items: { type: "string", minLength: 1 } }],
      "x-message": "must be true or a list of command names (common/exec cmd, or bash for common/bash)",
    },
    metrics: { enum: ["builtin", "prometheus"], "x-message": "must be builtin or prometheus" },
    manifests: {
      type: "array",
      items: { type: "string", minLength: 1 },
      "x-message": "must be a list of files",
    },
  },
};

let compiled: ValidateFunction | undefined;

/** Maps whose keys are names the user chose (image names hold `:` and `/`): always written `["key"]`. */
const NAMED_KEYS = new Set(["images", "values"]);

function labPath(pointer: string): string {
  const raw = pointerSegments(pointer);
  const out: Segment[] = [];
  let text = "";
  raw.forEach((s, i) => {
    const parent = raw[i - 1];
    if (parent !== undefined && NAMED_KEYS.has(parent)) {
      text += `${formatPath(out)}["${s}"]`;
      out.length = 0;
      return;
    }
    out.push(/^\d+$/.test(s) && (parent === "traffic" || parent === "manifests") ? Number(s) : s);
  });
  return joinPath(text, formatPath(out));
}

function messageOf(e: ErrorObject): string | undefined {
  const own = (e.parentSchema as Schema | undefined)?.["x-message"];
  if (typeof own !== "string") return undefined;
  return e.keyword === "required" || e.keyword === "additionalProperties" ? undefined : own;
}

/** Every schema problem of a parsed lab file as `field: message`, in document order. */
export function labSchemaProblems(root: unknown): string[] {
  compiled ??= new Ajv({ allErrors: true, strict: false, verbose: true }).compile(LAB_SCHEMA);
  if (compiled(root)) return [];
  const errors = compiled.errors ?? [];
  // One message per field: a failed anyOf reports each branch too, a typed map each keyword.
  const anyOf = errors.filter((e) => e.keyword === "anyOf").map((e) => `${e.schemaPath}/`);
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of errors) {
    if (anyOf.some((p) => e.schemaPath.startsWith(p))) continue;
    const own = messageOf(e);
    const line = own
      ? `${labPath(e.instancePath)}: ${own}, got ${JSON.stringify(e.data)}`
      : schemaProblems([e], root)
          .map((p) => {
            const path = labPath(e.instancePath);
            const field = p.path.split(".").pop() ?? "";
            const full =
              e.keyword === "required" || e.keyword === "additionalProperties"
                ? `${path ? `${path}.` : ""}${field}`
                : path;
            return `${full}: ${p.message}`;
          })
          .join("\n");
    const key = line.split(":")[0]!;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(line);
  }
  return out;
}
