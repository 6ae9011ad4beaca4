// scripts/k8s/lib.sh's env_set: each build script sets its own keys in <cache>/env and keeps the
// others', so running them in any order leaves every path the test harness needs.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseEnvFile } from "../../k8s/harness/binaries.ts";

const LIB = join(import.meta.dirname, "..", "..", "..", "scripts", "k8s", "lib.sh");

function envSet(cache: string, ...kvs: string[]): void {
  execFileSync("bash", ["-c", `. "$0"; env_set "$@"`, LIB, ...kvs], {
    env: { ...process.env, ITER8_K8S_CACHE: cache },
  });
}

describe("scripts/k8s/lib.sh env_set", () => {
  test("merges keys across scripts and replaces a key's old value", () => {
    const cache = mkdtempSync(join(tmpdir(), "iter8-env-set-"));
    envSet(cache, "ITER8_KUBE_APISERVER=/a/kube-apiserver", "ITER8_ETCD=/a/etcd");
    envSet(cache, "ITER8_HELM=/h/helm");
    envSet(cache, "ITER8_ETCD=/b/etcd");
    const text = readFileSync(join(cache, "env"), "utf8");
    assert.deepEqual(parseEnvFile(text), {
      ITER8_KUBE_APISERVER: "/a/kube-apiserver",
      ITER8_HELM: "/h/helm",
      ITER8_ETCD: "/b/etcd",
    });
    assert.equal(text.match(/^# written by/gm)?.length, 1);
  });
});
