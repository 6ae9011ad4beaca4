// Where metric credentials come from (Metric `spec.secret`). On Kubernetes this is a
// `Secret` object (implemented with the controller); locally a file of Secret manifests or
// environment variables, so a lab can query an authenticated backend without a cluster.

import { readFile } from "node:fs/promises";
import { parseAllDocuments } from "yaml";
import { isRecord } from "../lib/objects.ts";

export interface SecretRef {
  namespace: string;
  name: string;
}

/** Decoded secret data (`data` base64-decoded, `stringData` as written), or undefined if there is no such secret. */
export interface SecretSource {
  get(ref: SecretRef): Promise<Record<string, string> | undefined>;
}

/** Raised for a malformed secrets file or variable; the message names the file/variable and field. */
export class SecretSourceError extends Error {
  override readonly name = "SecretSourceError";
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Secrets from a YAML (one or more documents) or JSON file holding Kubernetes `Secret` objects, a
 * `List` of them, or an array of them. `metadata.namespace` defaults to `default`; `stringData`
 * overrides `data` key by key, as the API server does. The file is read on every `get`, so edits
 * (rotated credentials) apply to the next query.
 */
export class FileSecretSource implements SecretSource {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  async get(ref: SecretRef): Promise<Record<string, string> | undefined> {
    const secrets = parseSecrets(await readFile(this.path, "utf8"), this.path);
    return secrets.get(`${ref.namespace}/${ref.name}`);
  }
}

/** Parses a secrets file's text; keys of the result are `namespace/name`. */
export function parseSecrets(text: string, source: string): Map<string, Record<string, string>> {
  const objects: unknown[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0)
      throw new SecretSourceError(`${source}: not valid YAML/JSON: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) objects.push(...value);
    else if (isRecord(value) && value.kind === "List" && Array.isArray(value.items))
      objects.push(...value.items);
    else objects.push(value);
  }
  const out = new Map<string, Record<string, string>>();
  objects.forEach((obj, i) => {
    const where = `${source}: object ${i + 1}`;
    if (!isRecord(obj) || obj.kind !== "Secret") throw new SecretSourceError(`${where}: kind must be Secret`);
    const meta = obj.metadata;
    if (!isRecord(meta) || typeof meta.name !== "string" || meta.name === "")
      throw new SecretSourceError(`${where}: metadata.name is required`);
    const namespace = meta.namespace === undefined ? "default" : meta.namespace;
    if (typeof namespace !== "string" || namespace === "")
      throw new SecretSourceError(`${where}: metadata.namespace must be a non-empty string`);
    const data: Record<string, string> = {};
    for (const [key, raw] of Object.entries(fieldMap(obj.data, `${where} (${meta.name}): data`))) {
      const compact = raw.replace(/\s+/g, "");
      if (!BASE64.test(compact) || compact.length % 4 !== 0)
        throw new SecretSourceError(`${where} (${meta.name}): data.${key} is not base64`);
      data[key] = Buffer.from(compact, "base64").toString("utf8");
    }
    Object.assign(data, fieldMap(obj.stringData, `${where} (${meta.name}): stringData`));
    out.set(`${namespace}/${meta.name}`, data);
  });
  return out;
}

/**
 * Secrets from environment variables: `ITER8_SECRET__<NAMESPACE>__<NAME>` holds a JSON object of
 * string values, e.g. `ITER8_SECRET__ITER8_SYSTEM__PROM_CREDS='{"username":"u","password":"p"}'`
 * for `iter8-system/prom-creds`. Namespace and name are upper-cased with every character other than
 * a letter or digit turned into `_` (so `prom-creds` and `prom.creds` name the same variable).
 */
export class EnvSecretSource implements SecretSource {
  readonly env: Readonly<Record<string, string | undefined>>;

  constructor(env: Readonly<Record<string, string | undefined>> = process.env) {
    this.env = env;
  }

  static variableName(ref: SecretRef): string {
    const norm = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, "_");
    return `ITER8_SECRET__${norm(ref.namespace)}__${norm(ref.name)}`;
  }

  async get(ref: SecretRef): Promise<Record<string, string> | undefined> {
    const variable = EnvSecretSource.variableName(ref);
    const raw = this.env[variable];
    if (raw === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (e) {
      throw new SecretSourceError(`${variable}: not a JSON object: ${(e as Error).message}`);
    }
    return fieldMap(parsed, variable);
  }
}

/** Asks each source in turn; the first that knows the secret answers. */
export class ChainSecretSource implements SecretSource {
  readonly sources: readonly SecretSource[];

  constructor(sources: readonly SecretSource[]) {
    this.sources = sources;
  }

  async get(ref: SecretRef): Promise<Record<string, string> | undefined> {
    for (const s of this.sources) {
      const found = await s.get(ref);
      if (found !== undefined) return found;
    }
    return undefined;
  }
}

function fieldMap(value: unknown, where: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw new SecretSourceError(`${where} must be a map of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") throw new SecretSourceError(`${where}.${k} must be a string`);
    out[k] = v;
  }
  return out;
}
