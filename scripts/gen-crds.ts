// Writes deploy/crds/*.yaml from the API schemas (src/platforms/kubernetes/crds.ts).
// Run: node scripts/gen-crds.ts   (test/unit/kubernetes/crds.test.ts checks the files are current)
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crdFiles } from "../src/platforms/kubernetes/crds.ts";

const dir = join(import.meta.dirname, "..", "deploy", "crds");
mkdirSync(dir, { recursive: true });
for (const [name, text] of Object.entries(crdFiles())) {
  writeFileSync(join(dir, name), text);
  process.stdout.write(`wrote ${join("deploy", "crds", name)}\n`);
}
