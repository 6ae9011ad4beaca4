// deploy/controller/Dockerfile, linted by parsing it (no container engine runs on this project's
// machines): stages, a non-root final user, pinned helm and kubectl equal to the versions the
// Kubernetes tests run, checksums verified, an exec-form entrypoint, nothing written outside /tmp.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseDockerfile } from "./dockerfile-parse.ts";

const ROOT = join(import.meta.dirname, "..", "..", "..");

const text = readFileSync(join(ROOT, "deploy", "controller", "Dockerfile"), "utf8");
const stages = parseDockerfile(text);
const final = stages.at(-1)!;
const args = (stage: (typeof stages)[number], op: string) =>
  stage.body.filter((i) => i.op === op).map((i) => i.args);
const argDefault = (name: string) => {
  const a = stages.flatMap((s) => args(s, "ARG")).find((x) => x.startsWith(`${name}=`));
  return a?.slice(name.length + 1);
};
/** The default a build script gives a version variable: `NAME=${OVERRIDE:-v1.2.3}`. */
const scriptPin = (script: string, name: string) =>
  new RegExp(`^${name}=\\$\\{[A-Z0-9_]+:-(v[0-9.]+)\\}$`, "m").exec(
    readFileSync(join(ROOT, "scripts", "k8s", script), "utf8"),
  )?.[1];

describe("deploy/controller/Dockerfile", () => {
  test("three stages: tools, build, and the final image from tagged base images", () => {
    assert.deepEqual(
      stages.map((s) => s.name),
      ["tools", "build", undefined],
    );
    for (const s of stages) {
      assert.match(s.from, /^[a-z0-9./-]+:[A-Za-z0-9._-]+$/, `${s.from} has a tag`);
      assert.doesNotMatch(s.from, /:latest$/);
    }
  });

  test("the final image runs as a non-root numeric user", () => {
    const users = args(final, "USER");
    assert.equal(users.length, 1);
    const [uid, gid] = users[0]!.split(":").map(Number);
    assert.ok(Number.isInteger(uid) && uid! > 0 && Number.isInteger(gid) && gid! > 0, users[0]);
    // And nothing runs after switching to it that could need root.
    const i = final.body.findIndex((x) => x.op === "USER");
    assert.deepEqual(
      final.body.slice(i + 1).map((x) => x.op),
      ["ENTRYPOINT", "CMD"],
    );
  });

  test("helm and kubectl are pinned to the versions the tests run and their checksums verified", () => {
    assert.equal(argDefault("HELM_VERSION"), scriptPin("build-helm.sh", "HELM_VERSION"));
    assert.equal(argDefault("KUBECTL_VERSION"), scriptPin("build-binaries.sh", "K8S_VERSION"));
    assert.match(argDefault("HELM_VERSION") ?? "", /^v3\.\d+\.\d+$/);
    const tools = stages.find((s) => s.name === "tools")!;
    const run = args(tools, "RUN").join("\n");
    assert.equal((run.match(/sha256sum -c -/g) ?? []).length, 2, "both downloads verified");
    assert.match(run, /helm version --template '\{\{\.Version\}\}'\)" = "\$\{HELM_VERSION\}"/);
    assert.match(run, /Client Version: \$\{KUBECTL_VERSION\}/);
    assert.ok(
      args(final, "COPY").includes("--from=tools /usr/local/bin/helm /usr/local/bin/kubectl /usr/local/bin/"),
    );
  });

  test("exec-form ENTRYPOINT and CMD: iter8 controller", () => {
    assert.deepEqual(JSON.parse(args(final, "ENTRYPOINT")[0]!), ["iter8"]);
    assert.deepEqual(JSON.parse(args(final, "CMD")[0]!), ["controller"]);
  });

  test("helm and kubectl state goes to /tmp (read-only root file system)", () => {
    const env = args(final, "ENV").join(" ");
    for (const v of ["HOME", "HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME", "KUBECACHEDIR"]) {
      assert.match(env, new RegExp(`\\b${v}=/tmp(/|\\b)`), v);
    }
    const deployment = readFileSync(join(ROOT, "deploy", "controller", "controller.yaml"), "utf8");
    assert.match(deployment, /readOnlyRootFilesystem: true/);
    assert.match(deployment, /mountPath: \/tmp\n\s+volumes:|- name: tmp\n\s+mountPath: \/tmp/);
  });
});

describe(".github/workflows/image.yaml", () => {
  const wf = readFileSync(join(ROOT, ".github", "workflows", "image.yaml"), "utf8");
  test("builds deploy/controller/Dockerfile and pushes only on a version tag", () => {
    assert.match(wf, /^on:\n {2}push:\n {4}tags: \["v\*\.\*\.\*"\]/m);
    assert.match(wf, /file: deploy\/controller\/Dockerfile/);
    assert.match(wf, /push: \$\{\{ startsWith\(github\.ref, 'refs\/tags\/'\) \}\}/);
    assert.match(wf, /docker run --rm --read-only --tmpfs \/tmp iter8:smoke controller --help/);
  });
});
