import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  ChainSecretSource,
  EnvSecretSource,
  FileSecretSource,
  parseSecrets,
  SecretSourceError,
} from "../../../src/metrics/secrets.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("parseSecrets", () => {
  it("reads multi-document YAML with data (base64) and stringData (which wins)", () => {
    const text = `
apiVersion: v1
kind: Secret
metadata: {name: prom-creds, namespace: iter8-system}
data:
  username: ${b64("alice")}
  password: ${b64("s3cr3t")}
stringData:
  password: plain
---
apiVersion: v1
kind: Secret
metadata: {name: nr}
stringData: {apikey: k-123}
`;
    const secrets = parseSecrets(text, "secrets.yaml");
    assert.deepEqual(secrets.get("iter8-system/prom-creds"), { username: "alice", password: "plain" });
    assert.deepEqual(secrets.get("default/nr"), { apikey: "k-123" });
  });

  it("reads a JSON List and a JSON array", () => {
    const secret = { kind: "Secret", metadata: { name: "a", namespace: "x" }, data: { token: b64("t") } };
    assert.deepEqual(parseSecrets(JSON.stringify({ kind: "List", items: [secret] }), "f").get("x/a"), {
      token: "t",
    });
    assert.deepEqual(parseSecrets(JSON.stringify([secret]), "f").get("x/a"), { token: "t" });
  });

  const invalid: [string, string, RegExp][] = [
    ["a non-Secret", "kind: ConfigMap\nmetadata: {name: a}", /f: object 1: kind must be Secret/],
    ["a missing name", "kind: Secret\nmetadata: {}", /object 1: metadata.name is required/],
    [
      "bad base64",
      "kind: Secret\nmetadata: {name: a}\ndata: {token: '***'}",
      /\(a\): data.token is not base64/,
    ],
    [
      "a non-string value",
      "kind: Secret\nmetadata: {name: a}\nstringData: {n: 5}",
      /stringData.n must be a string/,
    ],
    ["broken YAML", "kind: [Secret", /f: not valid YAML\/JSON/],
  ];
  for (const [what, text, message] of invalid) {
    it(`rejects ${what}, naming the field`, () => {
      assert.throws(
        () => parseSecrets(text, "f"),
        (e: Error) => e instanceof SecretSourceError && message.test(e.message),
      );
    });
  }
});

describe("FileSecretSource", () => {
  it("rereads the file on each get, so rotated credentials apply", async () => {
    const dir = await mkdtemp(join(tmpdir(), "iter8-secrets-"));
    try {
      const file = join(dir, "s.yaml");
      await writeFile(file, "kind: Secret\nmetadata: {name: a, namespace: n}\nstringData: {token: one}\n");
      const source = new FileSecretSource(file);
      assert.deepEqual(await source.get({ namespace: "n", name: "a" }), { token: "one" });
      await writeFile(file, "kind: Secret\nmetadata: {name: a, namespace: n}\nstringData: {token: two}\n");
      assert.deepEqual(await source.get({ namespace: "n", name: "a" }), { token: "two" });
      assert.equal(await source.get({ namespace: "n", name: "b" }), undefined);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe("EnvSecretSource", () => {
  it("maps namespace/name to ITER8_SECRET__NS__NAME", () => {
    assert.equal(
      EnvSecretSource.variableName({ namespace: "iter8-system", name: "prom.creds" }),
      "ITER8_SECRET__ITER8_SYSTEM__PROM_CREDS",
    );
  });
  it("reads a JSON object of strings", async () => {
    const env = { ITER8_SECRET__DEFAULT__NR: '{"apikey":"k"}' };
    assert.deepEqual(await new EnvSecretSource(env).get({ namespace: "default", name: "nr" }), {
      apikey: "k",
    });
    assert.equal(await new EnvSecretSource(env).get({ namespace: "default", name: "other" }), undefined);
  });
  it("rejects a value that is not a JSON object of strings, naming the variable", async () => {
    const source = new EnvSecretSource({ ITER8_SECRET__A__B: "user=x", ITER8_SECRET__A__C: '{"n":1}' });
    await assert.rejects(source.get({ namespace: "a", name: "b" }), /ITER8_SECRET__A__B: not a JSON object/);
    await assert.rejects(source.get({ namespace: "a", name: "c" }), /ITER8_SECRET__A__C\.n must be a string/);
  });
  it("chains sources, first answer wins", async () => {
    const chain = new ChainSecretSource([
      new EnvSecretSource({ ITER8_SECRET__A__B: '{"k":"env"}' }),
      new EnvSecretSource({ ITER8_SECRET__A__B: '{"k":"later"}', ITER8_SECRET__A__C: '{"k":"c"}' }),
    ]);
    assert.deepEqual(await chain.get({ namespace: "a", name: "b" }), { k: "env" });
    assert.deepEqual(await chain.get({ namespace: "a", name: "c" }), { k: "c" });
    assert.equal(await chain.get({ namespace: "a", name: "d" }), undefined);
  });
});
