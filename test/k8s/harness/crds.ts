// Installs CustomResourceDefinitions from YAML files and waits until they are usable: the CRD is
// Established *and* discovery lists the resource for every served version (clients that look up
// REST mappings fail in between).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { type ApiClient, waitFor } from "./http.ts";

interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string; resourceVersion?: string };
  spec: {
    group: string;
    names: { plural: string };
    versions: { name: string; served: boolean }[];
  };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

function yamlFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort()
    .map((f) => join(path, f));
}

/** Reads every CRD in the given files/directories; anything that is not a CRD is an error. */
export function readCrds(paths: string[]): Crd[] {
  const crds: Crd[] = [];
  for (const file of paths.flatMap(yamlFiles)) {
    const docs = parseAllDocuments(readFileSync(file, "utf8"));
    docs.forEach((doc, i) => {
      if (doc.errors.length > 0) throw new Error(`${file}: document ${i + 1}: ${doc.errors[0]?.message}`);
      const obj = doc.toJS() as Crd | null;
      if (obj === null) return; // empty document, e.g. a trailing `---`
      if (obj.apiVersion !== "apiextensions.k8s.io/v1" || obj.kind !== "CustomResourceDefinition") {
        throw new Error(
          `${file}: document ${i + 1} is ${obj.apiVersion}/${obj.kind}, expected apiextensions.k8s.io/v1 CustomResourceDefinition`,
        );
      }
      if (
        !obj.metadata?.name ||
        !obj.spec?.group ||
        !obj.spec.names?.plural ||
        !Array.isArray(obj.spec.versions)
      ) {
        throw new Error(
          `${file}: document ${i + 1}: CRD needs metadata.name, spec.group, spec.names.plural and spec.versions`,
        );
      }
      crds.push(obj);
    });
  }
  if (crds.length === 0) throw new Error(`no CRDs found in ${paths.join(", ")}`);
  return crds;
}

const CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

async function createOrReplace(api: ApiClient, crd: Crd): Promise<void> {
  const res = await api.request("POST", CRD_PATH, crd);
  if (res.status === 201) return;
  if (res.status !== 409)
    throw new Error(`creating CRD ${crd.metadata.name}: HTTP ${res.status}: ${res.body.slice(0, 2000)}`);
  // Already there (installed earlier in this run): replace it with this definition.
  const current = await api.json<Crd>("GET", `${CRD_PATH}/${crd.metadata.name}`);
  const updated = {
    ...crd,
    metadata: { ...crd.metadata, resourceVersion: current.metadata.resourceVersion },
  };
  await api.json("PUT", `${CRD_PATH}/${crd.metadata.name}`, updated, [200]);
}

async function waitUsable(api: ApiClient, crd: Crd, timeoutMs: number): Promise<void> {
  const name = crd.metadata.name;
  await waitFor(
    `CRD ${name} to be Established`,
    async () => {
      const cur = await api.json<Crd>("GET", `${CRD_PATH}/${name}`);
      const conds = cur.status?.conditions ?? [];
      const names = conds.find((c) => c.type === "NamesAccepted");
      if (names?.status === "False") throw new Error(`names not accepted: ${names.reason}: ${names.message}`);
      return conds.some((c) => c.type === "Established" && c.status === "True") ? true : undefined;
    },
    { timeoutMs },
  );
  for (const v of crd.spec.versions.filter((x) => x.served)) {
    const path = `/apis/${crd.spec.group}/${v.name}`;
    await waitFor(
      `discovery ${path} to list ${crd.spec.names.plural}`,
      async () => {
        const res = await api.request("GET", path);
        if (res.status === 404) return undefined;
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
        const list = JSON.parse(res.body) as { resources?: { name: string }[] };
        return list.resources?.some((r) => r.name === crd.spec.names.plural) ? true : undefined;
      },
      { timeoutMs },
    );
  }
}

export async function installCrds(api: ApiClient, paths: string[], timeoutMs = 30_000): Promise<string[]> {
  const crds = readCrds(paths);
  for (const crd of crds) await createOrReplace(api, crd);
  await Promise.all(crds.map((crd) => waitUsable(api, crd, timeoutMs)));
  return crds.map((c) => c.metadata.name);
}
