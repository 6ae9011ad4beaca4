// The router's file format (`iter8 router -f FILE`): multi-document YAML. Documents with a `kind` are
// routing objects of the traffic kinds (Istio VirtualService, Gateway API HTTPRoute, Knative Service)
// used unchanged; one document without `kind` holds the router settings:
//
//   upstreams:                       # destination host or Knative revision name -> local address
//     sample-app-v1-blue: 127.0.0.1:9001
//     sample-app-v2-green: 127.0.0.1:9002
//   manifests:                       # optional: more files (relative to this one) to take routing
//     - services.yaml                #   objects from; their other objects (Jobs, Experiments) are skipped
//     - routing-rule.yaml

import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { compileRoutes, isRoutingObject, parseAddress, type RouteTable, RouteTableError } from "./routes.ts";

export interface RouterConfig {
  readonly objects: unknown[];
  readonly upstreams: Record<string, string>;
}

/** Parse the text of a router file; `baseDir` resolves `manifests` entries. Throws with the field named. */
export function parseRouterConfig(text: string, baseDir: string, name = "router file"): RouterConfig {
  const objects: unknown[] = [];
  let upstreams: Record<string, string> | null = null;
  const docs = parseYaml(text, name);
  docs.forEach((doc, i) => {
    if (doc === null || doc === undefined) return;
    if (typeof doc !== "object" || Array.isArray(doc))
      throw new Error(`${name}: document ${i + 1}: must be a mapping`);
    const rec = doc as Record<string, unknown>;
    if ("kind" in rec) {
      objects.push(rec);
      return;
    }
    if (upstreams !== null)
      throw new Error(`${name}: document ${i + 1}: only one settings document (without kind) is allowed`);
    for (const key of Object.keys(rec)) {
      if (key !== "upstreams" && key !== "manifests") {
        throw new Error(`${name}: document ${i + 1}: unknown field "${key}" (expected upstreams, manifests)`);
      }
    }
    const ups = rec["upstreams"] ?? {};
    if (typeof ups !== "object" || ups === null || Array.isArray(ups)) {
      throw new Error(
        `${name}: upstreams: must be a mapping of destination host or revision name to HOST:PORT`,
      );
    }
    upstreams = {};
    for (const [k, v] of Object.entries(ups)) {
      if (typeof v !== "string" && typeof v !== "number")
        throw new Error(`${name}: upstreams.${k}: must be HOST:PORT`);
      upstreams[k] = String(v);
    }
    const manifests = rec["manifests"] ?? [];
    if (!Array.isArray(manifests)) throw new Error(`${name}: manifests: must be a list of file paths`);
    manifests.forEach((m, j) => {
      if (typeof m !== "string" || m === "") throw new Error(`${name}: manifests[${j}]: must be a file path`);
      const path = resolve(baseDir, m);
      let content: string;
      try {
        content = readFileSync(path, "utf8");
      } catch (err) {
        throw new Error(`${name}: manifests[${j}]: cannot read ${path}: ${(err as Error).message}`);
      }
      for (const obj of parseYaml(content, path)) if (isRoutingObject(obj)) objects.push(obj);
    });
  });
  if (upstreams === null) throw new Error(`${name}: missing the settings document with upstreams`);
  return { objects, upstreams };
}

export function readRouterConfig(file: string): RouterConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  return parseRouterConfig(text, dirname(resolve(file)), file);
}

/** A table sending every request, whatever its host, to one address (benchmarks, quick checks). */
export function singleUpstreamTable(address: string, version = "upstream"): RouteTable {
  const addr = parseAddress(address);
  if (typeof addr === "string") throw new RouteTableError([{ path: "upstream", message: addr }]);
  return compileRoutes(
    [
      {
        apiVersion: "networking.istio.io/v1beta1",
        kind: "VirtualService",
        metadata: { name: "all-to-upstream", namespace: "default" },
        spec: {
          hosts: ["*"],
          http: [{ route: [{ destination: { host: version } }] }],
        },
      },
    ],
    { [version]: address },
  );
}

function parseYaml(text: string, name: string): unknown[] {
  const docs = parseAllDocuments(text);
  const out: unknown[] = [];
  for (const d of docs) {
    if (d.errors.length > 0) throw new Error(`${name}: YAML error: ${d.errors[0]!.message}`);
    out.push(d.toJS());
  }
  return out;
}
