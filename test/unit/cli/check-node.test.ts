// The `pre<script>` hook of every npm script refuses an old Node in the CLI's one line.

import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { unsupportedNode } from "../../../src/cli/node-version.ts";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const CHECK = `${ROOT}scripts/check-node.mjs`;

async function outcome(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const r = await run(cmd, args, { cwd: ROOT, env: { ...process.env, ...env } });
    return { code: 0, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stderr: string };
    return { code: err.code, stderr: err.stderr };
  }
}

describe("check-node (npm pre-script hook)", () => {
  it("every npm script has the check as its pre hook", () => {
    const scripts = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")).scripts as Record<string, string>;
    for (const name of Object.keys(scripts)) {
      if (name.startsWith("pre") && scripts[name.slice(3)] !== undefined) continue;
      if (name === "check-node") continue;
      assert.equal(scripts[`pre${name}`], "node scripts/check-node.mjs", `script ${name}`);
    }
  });

  it("passes on this Node", async () => {
    assert.deepEqual(await outcome(process.execPath, [CHECK]), { code: 0, stderr: "" });
  });

  it("refuses an old version in the CLI's one line, exit 1", async () => {
    const r = await outcome(process.execPath, [CHECK], { ITER8_CHECK_NODE_VERSION: "20.20.2" });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `iter8: ${unsupportedNode("20.20.2")}\n`);
  });

  const oldNode = "/usr/bin/node";
  const oldVersion = existsSync(oldNode)
    ? execFileSync(oldNode, ["--version"], { encoding: "utf8" }).trim().replace(/^v/, "")
    : undefined;
  it("npm test on a real old Node prints the line and exits non-zero", {
    skip:
      oldVersion === undefined || unsupportedNode(oldVersion) === undefined
        ? "no old Node at /usr/bin/node"
        : false,
  }, async () => {
    // The npm that comes with that Node, with it first on PATH (npm runs scripts with `node`).
    const r = await outcome(oldNode, ["/usr/bin/npm", "test"], { PATH: `/usr/bin:${process.env.PATH}` });
    assert.notEqual(r.code, 0);
    assert.ok(r.stderr.includes(`iter8: Node.js v${oldVersion} is too old`), r.stderr);
  });
});
