// The one test for "a JSON object": not null, not an array. YAML and JSON input, Kubernetes objects
// and metric responses are all checked with it before their fields are read.

export type Obj = Record<string, unknown>;

export function isRecord(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
