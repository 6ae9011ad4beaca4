// The controller image's command line, run in a plain Node process (no container engine here): the
// Dockerfile's ENTRYPOINT + CMD with the Deployment's arguments and `--help`, under the image's
// environment, resolving `iter8` the way the image does (its symlink to /opt/iter8/bin/iter8, which is
// this repository's bin/iter8). It must start, parse every argument and print the usage.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { parseDockerfile } from "../unit/deploy/dockerfile-parse.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const stages = parseDockerfile(readFileSync(join(ROOT, "deploy", "controller", "Dockerfile"), "utf8"));
const final = stages.at(-1)!;
const one = (op: string) => final.body.find((i) => i.op === op)?.args ?? "";

describe("the controller image's entrypoint", () => {
  test("iter8 controller --help with the Deployment's arguments exits 0 and prints the usage", () => {
    // `RUN ln -s /opt/iter8/bin/iter8 /usr/local/bin/iter8` under `WORKDIR /opt/iter8`.
    const link = /ln -s (\S+) \/usr\/local\/bin\/iter8/.exec(one("RUN"))?.[1];
    assert.equal(link, `${one("WORKDIR")}/bin/iter8`);
    const entry = [...JSON.parse(one("ENTRYPOINT")), ...JSON.parse(one("CMD"))] as string[];
    assert.deepEqual(entry, ["iter8", "controller"]);

    const deployment = parseAllDocuments(
      readFileSync(join(ROOT, "deploy", "controller", "controller.yaml"), "utf8"),
    )
      .map((d) => d.toJS())
      .find((o) => o?.kind === "Deployment");
    const container = deployment.spec.template.spec.containers[0] as { command: string[]; args: string[] };
    assert.deepEqual(container.command, entry, "the Deployment runs the image's own command");

    // The image's ENV (HOME and the helm/kubectl dirs under /tmp), with /tmp moved to a temp dir.
    const scratch = mkdtempSync(join(tmpdir(), "iter8-image-tmp-"));
    const env: NodeJS.ProcessEnv = { PATH: process.env["PATH"] };
    for (const [, k, v] of one("ENV").matchAll(/(\w+)=(\S+)/g)) env[k!] = v!.replace(/^\/tmp/, scratch);
    assert.equal(env["NODE_ENV"], "production");

    const argv = [
      join(ROOT, link!.slice(`${one("WORKDIR")}/`.length)),
      ...entry.slice(1),
      ...container.args,
      "--help",
    ];
    const r = spawnSync(process.execPath, argv, { cwd: ROOT, env, encoding: "utf8", timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /^Usage: iter8 controller \[options\]/);
    for (const flag of container.args.map((a) => a.split("=")[0]!)) assert.ok(r.stdout.includes(flag), flag);
  });
});
