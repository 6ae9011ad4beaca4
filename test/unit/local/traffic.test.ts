import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TutorialError } from "../../../src/platforms/local/errors.ts";
import type { Lab } from "../../../src/platforms/local/lab.ts";
import { loadGeneratorsFor, shellWords } from "../../../src/platforms/local/traffic.ts";

const lab = (traffic: Lab["traffic"] = []): Lab => ({
  file: "lab.yaml",
  dir: "/",
  images: {},
  revisions: {},
  traffic,
});
const job = (name: string, containers: unknown[]) => ({
  file: "jobs.yaml",
  obj: {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name },
    spec: { template: { spec: { containers } } },
  },
});
const curlLoop = (name: string, script: string) => ({
  name,
  image: "tutum/curl",
  command: ["/bin/sh", "-c", script],
});

describe("shell words", () => {
  it("splits with quotes", () => {
    assert.deepEqual(shellWords(`curl -sS example.com -H "country: gondor"`), [
      "curl",
      "-sS",
      "example.com",
      "-H",
      "country: gondor",
    ]);
    assert.deepEqual(shellWords(`a 'b c' d\\ e;f`), ["a", "b c", "d e", "f"]);
  });
});

describe("load generators from the seeds' Jobs", () => {
  it("derives seed 000's two curl loops", () => {
    const gens = loadGeneratorsFor(
      [
        job("curl", [
          curlLoop(
            "curl-from-gondor",
            `while true; do\ncurl -sS example.com -H "country: gondor"\nsleep 1.0\ndone\n`,
          ),
          curlLoop(
            "curl-from-wakanda",
            `while true; do\ncurl -sS example.com -H "country: wakanda"\nsleep 0.25\ndone\n`,
          ),
        ]),
      ],
      lab(),
    );
    assert.deepEqual(gens, [
      {
        name: "curl/curl-from-gondor",
        url: "http://example.com",
        headers: { country: "gondor" },
        qps: 1,
        connections: 1,
        delayMs: 0,
      },
      {
        name: "curl/curl-from-wakanda",
        url: "http://example.com",
        headers: { country: "wakanda" },
        qps: 4,
        connections: 1,
        delayMs: 0,
      },
    ]);
  });
  it("derives seed 004's delayed loop and applies lab overrides", () => {
    const j = job("curl", [
      curlLoop("curl", `sleep 10.0\nwhile true; do\ncurl -sS customdomain.com\nsleep 0.5\ndone\n`),
    ]);
    assert.deepEqual(loadGeneratorsFor([j], lab()), [
      {
        name: "curl/curl",
        url: "http://customdomain.com",
        headers: {},
        qps: 2,
        connections: 1,
        delayMs: 10_000,
      },
    ]);
    const g = loadGeneratorsFor([j], lab([{ job: "curl", headers: { a: "b" }, qps: 40, delayMs: 0 }]));
    assert.equal(g[0]!.qps, 40);
    assert.equal(g[0]!.delayMs, 0);
    assert.deepEqual(g[0]!.headers, { a: "b" });
  });
  it("derives seed 001's Fortio job, which needs the URL from the lab", () => {
    const j = job("fortio", [
      {
        name: "fortio",
        command: ["fortio", "load", "-t", "120s", "-json", "/shared/fortiooutput.json", "$(URL)"],
        env: [{ name: "URL", value: "URL_VALUE" }],
      },
      { name: "busybox", command: ["sh", "-c", "echo busybox is running! && sleep 600"] },
    ]);
    assert.throws(
      () => loadGeneratorsFor([j], lab()),
      (e: TutorialError) =>
        /jobs\.yaml: Job fortio: container fortio: cannot derive the load: the URL is "URL_VALUE"/.test(
          e.message,
        ),
    );
    const [g, ...rest] = loadGeneratorsFor(
      [j],
      lab([{ job: "fortio", url: "http://sample-app.default.svc.cluster.local", headers: {} }]),
    );
    assert.equal(rest.length, 0, "busybox sends nothing");
    assert.deepEqual(g, {
      name: "fortio/fortio",
      url: "http://sample-app.default.svc.cluster.local",
      headers: {},
      qps: 8,
      connections: 4,
      durationMs: 120_000,
      delayMs: 0,
    });
  });
  it("names lab entries that match nothing, and Jobs that send nothing", () => {
    assert.throws(
      () =>
        loadGeneratorsFor(
          [job("idle", [{ name: "x", command: ["sleep", "1"] }])],
          lab([{ job: "nope", headers: {} }]),
        ),
      (e: TutorialError) =>
        e.problems.some((p) => /Job idle: no container sends requests/.test(p)) &&
        e.problems.some((p) => /traffic\[0\]\.job: no batch\/v1 Job named nope/.test(p)),
    );
  });
});
