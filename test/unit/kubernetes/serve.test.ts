// The controller process's startup failures as typed errors (the CLI turns them into one line): a
// certificate directory that cannot serve, a kubeconfig that cannot be loaded, a taken port. The
// port case needs no cluster: nothing talks to the API server before the controller starts.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  type ControllerProcessOptions,
  KubeconfigError,
  ListenError,
  startControllerProcess,
} from "../../../src/platforms/kubernetes/serve.ts";
import { loadServingCert, ServingCertError } from "../../../src/platforms/kubernetes/webhook.ts";

const dir = mkdtempSync(join(tmpdir(), "iter8-serve-"));

function options(kubeconfig: string, healthPort = 0): ControllerProcessOptions {
  return {
    kubeconfig: { kubeconfig },
    qps: 0,
    burst: 1,
    controller: { installNamespace: "iter8-system" },
    health: { host: "127.0.0.1", port: healthPort },
  };
}

describe("loadServingCert", () => {
  it("an empty directory: no certificate, no error", () => {
    const empty = join(dir, "empty");
    mkdirSync(empty);
    assert.equal(loadServingCert(empty), undefined);
  });

  it("a missing directory, half a pair, or not PEM: a ServingCertError saying which", () => {
    const half = join(dir, "half");
    mkdirSync(half);
    writeFileSync(join(half, "tls.key"), "x");
    const bad = join(dir, "bad");
    mkdirSync(bad);
    writeFileSync(join(bad, "tls.crt"), "not a certificate\n");
    writeFileSync(join(bad, "tls.key"), "not a key\n");
    const failure = (d: string) => {
      try {
        loadServingCert(d);
      } catch (err) {
        assert.ok(err instanceof ServingCertError);
        return `${err.kind}: ${err.message}`;
      }
      assert.fail(`no error for ${d}`);
    };
    assert.equal(failure(join(dir, "nope")), "directory: does not exist");
    assert.equal(failure(half), "directory: has tls.key but no tls.crt");
    assert.match(failure(bad), /^read: .+/);
  });
});

describe("startControllerProcess", () => {
  it("a kubeconfig that does not exist: KubeconfigError", async () => {
    await assert.rejects(startControllerProcess(options(join(dir, "missing.yaml"))), KubeconfigError);
  });

  it("a taken health port: ListenError naming the listener, with nothing left open", async () => {
    const kubeconfig = join(dir, "kubeconfig.yaml");
    writeFileSync(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]',
        "users: [{name: u, user: {token: t}}]",
        "contexts: [{name: lab, context: {cluster: c, user: u}}]",
        "current-context: lab",
        "",
      ].join("\n"),
    );
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as { port: number };
    try {
      await assert.rejects(startControllerProcess(options(kubeconfig, port)), (err: unknown) => {
        assert.ok(err instanceof ListenError);
        assert.equal(err.listener, "health");
        assert.equal(err.code, "EADDRINUSE");
        return true;
      });
    } finally {
      taken.close();
    }
  });
});
