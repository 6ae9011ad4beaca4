// Writes deploy/crds/*.yaml from the API schemas, and the Helm chart's crds/ (the same files) and
// templates derived from the plain manifests (src/platforms/kubernetes/{crds,chart}.ts).
// Run: node scripts/gen-crds.ts   (test/unit/kubernetes/crds.test.ts checks the files are current)
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { chartFiles } from "../src/platforms/kubernetes/chart.ts";
import { crdFiles } from "../src/platforms/kubernetes/crds.ts";

const deploy = join(import.meta.dirname, "..", "deploy");
const write = (path: string, text: string) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  process.stdout.write(`wrote ${path.slice(deploy.length - "deploy".length)}\n`);
};
for (const [name, text] of Object.entries(crdFiles())) write(join(deploy, "crds", name), text);
for (const [name, text] of Object.entries(chartFiles(deploy)))
  write(join(deploy, "helm", "iter8", name), text);
