import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { type LoadFlags, toLoadOptions } from "../../../src/cli/commands/load.ts";
import { CliError } from "../../../src/cli/errors.ts";

const BASE: LoadFlags = { header: [], qps: "8", connections: "4", timeout: "10s", output: "text" };

test("flags become load options; duration defaults to 10s unless requests are given", async () => {
  const o = await toLoadOptions("http://127.0.0.1:1/", { ...BASE, header: ["country: wakanda", "x:  y "] });
  assert.deepEqual(o, {
    url: "http://127.0.0.1:1/",
    headers: [
      ["country", "wakanda"],
      ["x", "y"],
    ],
    qps: 8,
    connections: 4,
    timeout: "10s",
    duration: "10s",
  });
  const n = await toLoadOptions("http://h/", { ...BASE, requests: "50", duration: "3s", method: "PUT" });
  assert.equal(n.requests, 50);
  assert.equal(n.duration, undefined);
  assert.equal(n.method, "PUT");
});

test("--body-file is read as the body", async () => {
  const file = path.join(tmpdir(), `iter8-load-body-${process.pid}.json`);
  writeFileSync(file, '{"k":1}');
  const o = await toLoadOptions("http://h/", { ...BASE, bodyFile: file });
  assert.equal(Buffer.from(o.body as Uint8Array).toString(), '{"k":1}');
});

test("bad flags are CliErrors with exit code 2 naming the flag", async () => {
  const cases: Array<[Partial<LoadFlags>, RegExp]> = [
    [{ qps: "fast" }, /^--qps/],
    [{ connections: "2.5" }, /^--connections/],
    [{ requests: "" }, /^--requests/],
    [{ header: ["no-colon"] }, /^--header/],
    [{ output: "yaml" }, /^--output/],
    [{ body: "a", bodyFile: "/x" }, /--body-file/],
    [{ bodyFile: "/nonexistent/body" }, /^--body-file: cannot read/],
  ];
  for (const [flags, re] of cases) {
    await assert.rejects(
      toLoadOptions("http://h/", { ...BASE, ...flags }),
      (e: unknown) => e instanceof CliError && e.exitCode === 2 && re.test(e.message),
      JSON.stringify(flags),
    );
  }
});
