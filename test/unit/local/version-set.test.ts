import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { VersionSet } from "../../../src/platforms/local/version-set.ts";

// A version that answers one request (the readiness probe) and then exits with status 7.
const dir = mkdtempSync(join(tmpdir(), "iter8-version-set-"));
writeFileSync(
  join(dir, "once.mjs"),
  `import { createServer } from "node:http";
createServer((req, res) => { res.end("ok"); setTimeout(() => process.exit(7), 50); }).listen(Number(process.env.PORT), "127.0.0.1");
`,
);

describe("VersionSet", () => {
  it("restarts a version that dies, on the same port, then gives up with the reason", async () => {
    const lines: string[] = [];
    let fatal: string | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      const set = new VersionSet({
        readyTimeoutMs: 10_000,
        restart: { maxRestarts: 2, initialDelayMs: 20, maxDelayMs: 40 },
        report: (l) => lines.push(l),
        onFatal: (reason) => {
          fatal = reason;
          void set.close().then(resolve);
        },
      });
      void set.start({
        name: "v1",
        argv: [process.execPath, "once.mjs"],
        env: {},
        cwd: dir,
        field: "lab.yaml: versions.v1.command",
        origin: "test",
      });
    });
    await gaveUp;
    assert.match(
      lines[0]!,
      /^version v1: its process exited with status 7; restarting in 0\.02 s \(restart 1 of at most 2\)\n$/,
    );
    const ports = lines.filter((l) => l.includes("restarted on")).map((l) => l.split(":").pop());
    assert.equal(ports.length, 2);
    assert.equal(new Set(ports).size, 1, "restarts keep the port");
    assert.match(fatal!, /^version v1: its process exited with status 7; restarted 2 times, giving up$/);
  });
});
