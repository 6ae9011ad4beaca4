import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { prometheusConfig } from "../../../src/platforms/local/prometheus.ts";

describe("prometheusConfig", () => {
  it("groups targets by scheme and path, with the scrape interval", () => {
    const cfg = parse(
      prometheusConfig(
        [
          "http://127.0.0.1:9001/metrics",
          "127.0.0.1:9002",
          "http://[::1]:9003/stats/prom",
          "https://127.0.0.1:9004",
        ],
        2,
      ),
    );
    assert.deepEqual(cfg.global, { scrape_interval: "2s", evaluation_interval: "2s" });
    assert.deepEqual(cfg.scrape_configs, [
      {
        job_name: "iter8-1",
        scheme: "http",
        metrics_path: "/metrics",
        static_configs: [{ targets: ["127.0.0.1:9001", "127.0.0.1:9002"] }],
      },
      {
        job_name: "iter8-2",
        scheme: "http",
        metrics_path: "/stats/prom",
        static_configs: [{ targets: ["[::1]:9003"] }],
      },
      {
        job_name: "iter8-3",
        scheme: "https",
        metrics_path: "/metrics",
        static_configs: [{ targets: ["127.0.0.1:9004"] }],
      },
    ]);
  });

  it("accepts no targets (a server to query only)", () => {
    assert.deepEqual(parse(prometheusConfig([], 1)).scrape_configs, []);
  });

  const bad: [string[], number, RegExp][] = [
    [["ftp://127.0.0.1:21/x"], 1, /scrape target "ftp:\/\/127.0.0.1:21\/x" must be http or https/],
    [["http://"], 1, /scrape target "http:\/\/" is not a URL or host:port/],
    [[], 0, /scrapeIntervalSeconds must be a positive integer, got 0/],
    [[], 0.5, /scrapeIntervalSeconds must be a positive integer, got 0.5/],
  ];
  for (const [targets, interval, message] of bad) {
    it(`rejects ${JSON.stringify(targets)} every ${interval}s`, () => {
      assert.throws(() => prometheusConfig(targets, interval), message);
    });
  }
});
