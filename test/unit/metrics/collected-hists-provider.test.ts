// Built-in metrics from the histograms metrics/collect records in status: exact,
// hand-computed percentiles, merged runs, error codes, missing and malformed data, the composite
// that falls back to the router's statistics, and one end-to-end run of the real metrics/collect
// task against a loopback HTTP server (kept here, with the provider it exercises; it takes well
// under a second).

import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Experiment } from "../../../src/api/types.ts";
import type { MetricReading } from "../../../src/engine/ports.ts";
import type { FortioResult } from "../../../src/loadgen/index.ts";
import { BuiltinMetricsProvider } from "../../../src/metrics/builtin-provider.ts";
import {
  CollectedHistogramsProvider,
  CompositeBuiltinProvider,
  hasCollectedHistogram,
  histogramPercentile,
  type LatencyBucket,
} from "../../../src/metrics/collected-hists-provider.ts";
import { HttpMetricsProvider } from "../../../src/metrics/http-provider.ts";
import { MetricsStore } from "../../../src/router/metrics.ts";
import { InProcessTaskRunner } from "../../../src/tasks/runner.ts";
import { baseline, candidate, experiment, metric, query } from "./fixtures.ts";

const builtin = (name: string) => metric(name, { provider: "iter8", type: "Gauge" }, "iter8-system");

/** A Fortio-shaped entry; buckets as [startSeconds, endSeconds, count]. */
function entry(
  buckets: [number, number, number][],
  retCodes: Record<string, number>,
  sumSeconds: number,
): FortioResult {
  const count = buckets.reduce((n, b) => n + b[2], 0);
  return {
    DurationHistogram: {
      Count: count,
      Min: buckets[0]?.[0] ?? 0,
      Max: buckets.at(-1)?.[1] ?? 0,
      Sum: sumSeconds,
      Avg: count > 0 ? sumSeconds / count : 0,
      Data: buckets.map(([Start, End, Count]) => ({ Start, End, Count, Percent: 0 })),
    },
    RetCodes: retCodes,
  };
}

function withHists(data: unknown, e: Experiment = experiment()): Experiment {
  e.status!.analysis = {
    aggregatedBuiltinHists: { provenance: "Builtin metrics collector", timestamp: "t", data },
  };
  return e;
}

function read(
  p: { read: CollectedHistogramsProvider["read"] },
  e: Experiment,
  name: string,
  which = "baseline",
) {
  return p.read(query(e, builtin(name), which === "baseline" ? baseline(e) : candidate(e), 10));
}

function assertClose(r: MetricReading, expected: number, label: string): void {
  assert.equal(r.error, undefined, `${label}: ${r.error}`);
  assert.ok(Math.abs((r.value as number) - expected) < 1e-9, `${label}: got ${r.value}, want ${expected}`);
}

// 100 requests: 10 in 1–2 ms, 30 in 2–5 ms, 50 in 5–10 ms, 10 in 10–20 ms.
const SHAPE: [number, number, number][] = [
  [0.001, 0.002, 10],
  [0.002, 0.005, 30],
  [0.005, 0.01, 50],
  [0.01, 0.02, 10],
];

describe("CollectedHistogramsProvider: values from one version's histogram", () => {
  const e = withHists({
    current: entry(SHAPE, { "200": 90, "302": 1, "404": 3, "503": 4, "-1": 2 }, 0.6),
  });
  const p = new CollectedHistogramsProvider();
  // Hand-computed: rank r = p/100 × 100 lies in the bucket where the cumulative count reaches it,
  // value = Start + (r − countBefore) / bucketCount × (End − Start), in ms.
  const cases: [string, number][] = [
    ["request-count", 100],
    ["error-count", 7], // 404 + 503; 302 and the two -1 connection errors do not count
    ["error-rate", 0.07],
    ["mean-latency", 6], // 1000 × 0.6 s / 100
    ["latency-50th-percentile", 6], // 5 + (50 − 40)/50 × 5
    ["latency-75th-percentile", 8.5], // 5 + (75 − 40)/50 × 5
    ["latency-90th-percentile", 10], // rank 90 is the end of the 5–10 ms bucket
    ["latency-95th-percentile", 15], // 10 + (95 − 90)/10 × 10
    ["latency-99th-percentile", 19], // 10 + (99 − 90)/10 × 10
    ["95th-percentile-tail-latency", 15],
    ["latency-25th-percentile", 3.5], // 2 + (25 − 10)/30 × 3: any percentile name works
    ["latency-100th-percentile", 20],
  ];
  for (const [name, expected] of cases) {
    it(`${name} = ${expected} with the request count as sample size`, async () => {
      const r = await read(p, e, name);
      assertClose(r, expected, name);
      assert.equal(r.sampleSize, 100);
    });
  }

  it("gives the same answer on every call (no sampling)", async () => {
    const a = await read(p, e, "latency-95th-percentile");
    const b = await read(p, e, "latency-95th-percentile");
    assert.deepEqual(a, b);
  });
});

describe("histogramPercentile", () => {
  const b = (start: number, end: number, count: number): LatencyBucket => ({ start, end, count });
  const cases: { name: string; buckets: LatencyBucket[]; expect: [number, number | undefined][] }[] = [
    {
      name: "a single bucket is a uniform distribution",
      buckets: [b(10, 20, 4)],
      expect: [
        [50, 15],
        [25, 12.5],
        [100, 20],
      ],
    },
    {
      name: "empty buckets and gaps are skipped; a rank on a boundary stays there",
      buckets: [b(0, 10, 5), b(10, 20, 0), b(30, 40, 5)],
      expect: [
        [50, 10],
        [60, 32],
        [100, 40],
      ],
    },
    {
      name: "identical buckets from two runs add up",
      buckets: [b(0, 10, 10), b(10, 20, 10), b(0, 10, 10), b(10, 20, 10)],
      expect: [
        [50, 10],
        [75, 15],
      ],
    },
    {
      // Densities 1/unit on 0–10 and on 5–15: masses 5 | 10 | 5 on 0–5 | 5–10 | 10–15.
      name: "partly overlapping buckets are a mixture of uniforms",
      buckets: [b(0, 10, 10), b(5, 15, 10)],
      expect: [
        [25, 5],
        [50, 7.5],
        [90, 13],
        [100, 15],
      ],
    },
    {
      // Density 1/unit on 0–20 plus an exact 10 on 0–10 from the other run: 20 | 10 on 0–10 | 10–20.
      name: "a wide bucket spanning narrower ones",
      buckets: [b(0, 20, 20), b(0, 10, 10)],
      expect: [
        [50, 7.5],
        [80, 14],
      ],
    },
    {
      name: "a zero-width bucket is a point mass",
      buckets: [b(1, 2, 4), b(3, 3, 4)],
      expect: [
        [50, 2],
        [60, 3],
        [100, 3],
        [25, 1.5],
      ],
    },
    { name: "no observations", buckets: [b(1, 2, 0)], expect: [[50, undefined]] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      for (const [pct, want] of c.expect) {
        const got = histogramPercentile(c.buckets, pct);
        if (want === undefined) assert.equal(got, undefined);
        else assert.ok(Math.abs((got as number) - want) < 1e-9, `p${pct}: got ${got}, want ${want}`);
      }
    });
  }
  it("is monotone in p and stays within the buckets", () => {
    const buckets = [b(0, 10, 3), b(5, 15, 7), b(14, 14, 2), b(20, 50, 9)];
    let previous = -Infinity;
    for (let pct = 1; pct <= 100; pct++) {
      const v = histogramPercentile(buckets, pct) as number;
      assert.ok(v >= previous && v >= 0 && v <= 50, `p${pct} = ${v} after ${previous}`);
      previous = v;
    }
  });
  // Independent check of the sweep: the distribution function F of the buckets (each count spread
  // uniformly, zero-width buckets as point masses) computed directly, bucket by bucket. The p-th
  // percentile q must satisfy F(q−) ≤ p/100 × total ≤ F(q), whatever the overlaps.
  it("inverts the buckets' distribution function (property)", () => {
    const F = (buckets: LatencyBucket[], x: number, inclusive: boolean) =>
      buckets.reduce((sum, bk) => {
        if (bk.end === bk.start) return sum + (x > bk.start || (inclusive && x === bk.start) ? bk.count : 0);
        return sum + bk.count * Math.min(1, Math.max(0, (x - bk.start) / (bk.end - bk.start)));
      }, 0);
    const bucket = fc
      .tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 9 }))
      .map(([start, width, count]) => b(start, start + width, count));
    fc.assert(
      fc.property(
        fc.array(bucket, { minLength: 1, maxLength: 12 }),
        fc.double({ min: 0.5, max: 100, noNaN: true }),
        (buckets, pct) => {
          const total = buckets.reduce((n, bk) => n + bk.count, 0);
          const q = histogramPercentile(buckets, pct);
          if (total === 0) return q === undefined;
          const target = (pct / 100) * total;
          const tolerance = 1e-9 * total;
          return (
            F(buckets, q as number, false) <= target + tolerance &&
            target <= F(buckets, q as number, true) + tolerance
          );
        },
      ),
      { numRuns: 500 },
    );
  });
  it("rejects a percentile outside (0, 100]", () => {
    assert.throws(() => histogramPercentile([b(0, 1, 1)], 0), /percentile must be in \(0, 100\], got 0/);
    assert.throws(() => histogramPercentile([b(0, 1, 1)], 101), /got 101/);
  });
});

describe("CollectedHistogramsProvider: merged runs", () => {
  it("reads a version whose runs were merged by metrics/collect (counts, sums and codes added)", async () => {
    // Run 1: 4 requests in 0–10 ms; run 2: 4 in 10–20 ms and 2 in 20–40 ms. Buckets concatenated.
    const e = withHists({
      current: {
        DurationHistogram: {
          Count: 10,
          Sum: 0.15,
          Max: 0.04,
          Data: [
            { Start: 0, End: 0.01, Count: 4 },
            { Start: 0.01, End: 0.02, Count: 4 },
            { Start: 0.02, End: 0.04, Count: 2 },
          ],
        },
        RetCodes: { "200": 7, "500": 3 },
      },
    });
    const p = new CollectedHistogramsProvider();
    assertClose(await read(p, e, "request-count"), 10, "count");
    assertClose(await read(p, e, "error-rate"), 0.3, "error-rate");
    assertClose(await read(p, e, "mean-latency"), 15, "mean");
    assertClose(await read(p, e, "latency-50th-percentile"), 12.5, "p50"); // 10 + (5 − 4)/4 × 10
    assertClose(await read(p, e, "latency-95th-percentile"), 35, "p95"); // 20 + (9.5 − 8)/2 × 20
  });
});

describe("CollectedHistogramsProvider: missing and malformed data", () => {
  const p = new CollectedHistogramsProvider();
  const good = () => entry(SHAPE, { "200": 100 }, 0.6);

  it("reports a version without a histogram, naming the versions that have one", async () => {
    const none = await read(p, experiment(), "request-count");
    assert.equal(
      none.error,
      "metric iter8-system/request-count for version current: no built-in histogram for version current (has metrics/collect run?)",
    );
    const other = await read(p, withHists({ candidate: good(), v9: good() }), "mean-latency");
    assert.equal(
      other.error,
      "metric iter8-system/mean-latency for version current: no built-in histogram for version current (has metrics/collect run?); histograms exist for: candidate, v9",
    );
    assert.equal(other.value, undefined);
  });

  it("counts 0 but has no ratio or latency for a version with no requests", async () => {
    const e = withHists({ current: entry([], {}, 0) });
    assert.deepEqual(await read(p, e, "request-count"), { value: 0, sampleSize: 0 });
    assert.deepEqual(await read(p, e, "error-count"), { value: 0, sampleSize: 0 });
    for (const name of ["error-rate", "mean-latency", "latency-50th-percentile"]) {
      assert.deepEqual(await read(p, e, name), {
        error: `metric iter8-system/${name} for version current: the built-in histogram for version current has no requests`,
      });
    }
  });

  const D = "status.analysis.aggregatedBuiltinHists.data";
  const malformed: [string, () => unknown, string][] = [
    ["data not a map", () => [1, 2], `${D} must be a map of version name to histogram`],
    ["entry not an object", () => ({ current: 7 }), `${D}.current must be an object`],
    [
      "no DurationHistogram",
      () => ({ current: { RetCodes: {} } }),
      `${D}.current.DurationHistogram must be an object`,
    ],
    [
      "negative Count",
      () => ({ current: { ...good(), DurationHistogram: { ...good().DurationHistogram, Count: -1 } } }),
      `${D}.current.DurationHistogram.Count must be a non-negative integer, got -1`,
    ],
    [
      "Sum not a number",
      () => ({ current: { ...good(), DurationHistogram: { ...good().DurationHistogram, Sum: "0.6" } } }),
      `${D}.current.DurationHistogram.Sum must be a non-negative number, got "0.6"`,
    ],
    [
      "Data not a list",
      () => ({ current: { ...good(), DurationHistogram: { ...good().DurationHistogram, Data: {} } } }),
      `${D}.current.DurationHistogram.Data must be a list of buckets`,
    ],
    [
      "bucket End below Start",
      () => ({
        current: entry(
          [
            [0.001, 0.002, 1],
            [0.005, 0.004, 1],
          ],
          {},
          0,
        ),
      }),
      `${D}.current.DurationHistogram.Data[1].End (0.004) is below its Start (0.005)`,
    ],
    [
      "bucket Count missing",
      () => {
        const h = good();
        delete (h.DurationHistogram.Data[2] as { Count?: number }).Count;
        return { current: h };
      },
      `${D}.current.DurationHistogram.Data[2].Count must be a non-negative integer, got undefined`,
    ],
    [
      "buckets disagree with Count",
      () => ({ current: { ...good(), DurationHistogram: { ...good().DurationHistogram, Count: 99 } } }),
      `${D}.current.DurationHistogram.Data bucket counts add up to 100, but Count is 99`,
    ],
    [
      "RetCodes key not a code",
      () => ({ current: entry(SHAPE, { "200": 99, oops: 1 }, 0.6) }),
      `${D}.current.RetCodes key "oops" is not a status code`,
    ],
    [
      "RetCodes count fractional",
      () => ({ current: entry(SHAPE, { "500": 1.5 }, 0.6) }),
      `${D}.current.RetCodes["500"] must be a non-negative integer, got 1.5`,
    ],
  ];
  for (const [label, data, message] of malformed) {
    it(`names the field: ${label}`, async () => {
      for (const name of ["request-count", "latency-95th-percentile"]) {
        const r = await read(p, withHists(data()), name);
        assert.deepEqual(r, {
          error: `metric iter8-system/${name} for version current: malformed built-in histogram: ${message}`,
        });
      }
    });
  }

  it("rejects names it does not compute and metrics of other providers", async () => {
    const e = withHists({ current: good() });
    const unknown = await read(p, e, "user-engagement");
    assert.match(unknown.error ?? "", /user-engagement is not a built-in metric \(known: request-count, /);
    const prom = metric("request-count", { provider: "prometheus", type: "Counter" }, "iter8-system");
    const r = await p.read(query(e, prom, baseline(e), 10));
    assert.match(r.error ?? "", /only provider: iter8 metrics .* provider "prometheus"/);
  });
});

describe("CompositeBuiltinProvider", () => {
  function routerStats(): MetricsStore {
    const s = new MetricsStore();
    // Router traffic: 3 requests to the baseline's revision, 5 to the candidate's, one a 500.
    for (let i = 0; i < 3; i++) s.record("sample-app-v1", 200, 4);
    for (let i = 0; i < 5; i++) s.record("sample-app-v2", i === 0 ? 500 : 200, 8);
    return s;
  }

  it("prefers a version's collected histogram and falls back to the router for the others", async () => {
    const p = new CompositeBuiltinProvider(new BuiltinMetricsProvider(routerStats()));
    const e = withHists({ current: entry(SHAPE, { "200": 100 }, 0.6) });
    assert.deepEqual(await read(p, e, "request-count", "baseline"), { value: 100, sampleSize: 100 });
    assert.deepEqual(await read(p, e, "request-count", "candidate"), { value: 5, sampleSize: 5 });
    assert.deepEqual(await read(p, e, "error-count", "candidate"), { value: 1, sampleSize: 5 });
    // Nothing collected at all: the router answers for both.
    assert.deepEqual(await read(p, experiment(), "request-count", "baseline"), { value: 3, sampleSize: 3 });
  });

  it("reports a malformed collected histogram instead of falling back", async () => {
    const p = new CompositeBuiltinProvider(new BuiltinMetricsProvider(routerStats()));
    const r = await read(p, withHists({ current: { DurationHistogram: 1 } }), "request-count");
    assert.match(
      r.error ?? "",
      /malformed built-in histogram: .*current\.DurationHistogram must be an object/,
    );
    const notMap = await read(p, withHists("garbage"), "request-count", "candidate");
    assert.match(notMap.error ?? "", /aggregatedBuiltinHists\.data must be a map/);
  });

  it("answers through the builtin slot of HttpMetricsProvider, sample size included", async () => {
    const http = new HttpMetricsProvider({
      builtin: new CompositeBuiltinProvider(new BuiltinMetricsProvider(routerStats())),
    });
    const e = withHists({ current: entry(SHAPE, { "200": 95, "500": 5 }, 0.6) });
    assert.deepEqual(await read(http, e, "latency-95th-percentile"), { value: 15, sampleSize: 100 });
    assert.deepEqual(await read(http, e, "error-rate"), { value: 0.05, sampleSize: 100 });
    assert.deepEqual(await read(http, e, "request-count", "candidate"), { value: 5, sampleSize: 5 });
  });

  it("without a fallback is the collected-histograms provider alone (Kubernetes)", async () => {
    const r = await read(new CompositeBuiltinProvider(), experiment(), "request-count");
    assert.match(r.error ?? "", /no built-in histogram for version current \(has metrics\/collect run\?\)$/);
  });

  it("hasCollectedHistogram looks at the version's own entry", () => {
    const e = withHists({ current: {} });
    assert.equal(hasCollectedHistogram(e, "current"), true);
    assert.equal(hasCollectedHistogram(e, "candidate"), false);
    assert.equal(hasCollectedHistogram(e, "toString"), false);
    assert.equal(hasCollectedHistogram(experiment(), "current"), false);
  });
});

describe("metrics/collect then the provider (real task, loopback server)", () => {
  it("computes the built-in metrics from what the task collected over two loop runs", async () => {
    const seen: Record<string, number> = {};
    const server: Server = createServer((req, res) => {
      const n = (seen[req.url!] ?? 0) + 1;
      seen[req.url!] = n;
      if (req.url === "/v1") {
        // Every 5th request fails with a 500; each answer takes at least 20 ms.
        setTimeout(() => {
          res.writeHead(n % 5 === 0 ? 500 : 200);
          res.end("ok");
        }, 20);
      } else if (n % 4 === 0) {
        // Cut off mid-body: no complete response, Fortio's -1, which is not an error code. (Closing
        // before any byte would be taken for a keep-alive race and retried.)
        res.writeHead(200, { "content-length": "100" });
        res.write("partial", () => req.socket.destroy());
      } else {
        res.writeHead(404);
        res.end("nope");
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const e = experiment();
      e.spec.strategy.actions = {
        loop: [
          {
            task: "metrics/collect",
            with: {
              numQueries: 10,
              qps: 0,
              connections: 1,
              versions: [
                { name: "current", url: `${base}/v1` },
                { name: "candidate", url: `${base}/v2` },
              ],
            },
          },
        ],
      };
      const runner = new InProcessTaskRunner({
        platform: { getObject: async () => undefined, getSecret: async () => undefined },
      });
      const first = await runner.run("loop", e);
      assert.equal(first.ok, true, JSON.stringify(first.tasks));
      const second = await runner.run("loop", first.experiment);
      assert.equal(second.ok, true, JSON.stringify(second.tasks));
      const collected = second.experiment;

      const p = new CollectedHistogramsProvider();
      // Baseline: 20 requests over two runs, 4 of them 500s.
      assert.deepEqual(await read(p, collected, "request-count"), { value: 20, sampleSize: 20 });
      assert.deepEqual(await read(p, collected, "error-count"), { value: 4, sampleSize: 20 });
      assertClose(await read(p, collected, "error-rate"), 0.2, "error-rate");
      const data = collected.status!.analysis!.aggregatedBuiltinHists!.data as Record<string, FortioResult>;
      const h = data["current"]!.DurationHistogram;
      assertClose(await read(p, collected, "mean-latency"), (1000 * h.Sum) / 20, "mean");
      // Two runs' buckets are concatenated, so the slowest bucket need not be the last one.
      const slowest = Math.max(...h.Data.map((b) => b.End));
      let previous = 0;
      for (const name of [
        "latency-50th-percentile",
        "latency-75th-percentile",
        "latency-90th-percentile",
        "latency-95th-percentile",
        "latency-99th-percentile",
      ]) {
        const r = await read(p, collected, name);
        assert.equal(r.sampleSize, 20);
        const v = r.value as number;
        // The server held every answer ≥ 20 ms; no percentile exceeds the slowest bucket's end.
        assert.ok(v >= 19.9 && v >= previous && v <= 1000 * slowest, `${name} = ${v}`);
        previous = v;
      }
      assert.deepEqual(
        await read(p, collected, "95th-percentile-tail-latency"),
        await read(p, collected, "latency-95th-percentile"),
      );

      // Candidate: requests 4, 8, ... of 20 were cut off (-1), the other 15 answered 404.
      assert.deepEqual(data["candidate"]!.RetCodes, { "404": 15, "-1": 5 });
      assert.deepEqual(await read(p, collected, "request-count", "candidate"), { value: 20, sampleSize: 20 });
      assert.deepEqual(await read(p, collected, "error-count", "candidate"), { value: 15, sampleSize: 20 });
      assertClose(await read(p, collected, "error-rate", "candidate"), 0.75, "candidate error-rate");
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe("collected histograms: the distribution behind each value (for the evidence)", () => {
  const e = () =>
    withHists({
      current: entry(
        [
          [0.01, 0.02, 90],
          [0.1, 0.2, 10],
        ],
        { "200": 99, "500": 1 },
        2.85,
      ),
    });
  it("gives errors and requests for error-rate, and the count above a latency limit", async () => {
    const rate = await read(new CollectedHistogramsProvider(), e(), "error-rate");
    assert.deepEqual(rate.distribution, { n: 100, events: 1 });
    const p95 = await read(new CollectedHistogramsProvider(), e(), "latency-95th-percentile");
    // 10 requests spread uniformly over 100-200 ms: half of them above 150 ms, all above 100 ms.
    assert.equal(p95.distribution?.countAbove?.(150), 5);
    assert.equal(p95.distribution?.countAbove?.(100), 10);
    assert.equal(p95.distribution?.countAbove?.(20), 10);
    assert.ok(Math.abs((p95.distribution?.quantile?.(0.95) ?? 0) - 150) < 1e-9);
  });
  it("gives mean and standard deviation for mean-latency", async () => {
    const m = await read(new CollectedHistogramsProvider(), e(), "mean-latency");
    assert.equal(m.distribution?.n, 100);
    assert.ok(Math.abs((m.distribution?.mean ?? 0) - 28.5) < 1e-9);
    // Uniform buckets: E[x^2] = 0.9 * 233.33 + 0.1 * 23333.3 = 2543.3 ms^2; sd = sqrt((2543.3 - 812.25) * 100 / 99).
    assert.ok(Math.abs((m.distribution?.sd ?? 0) - Math.sqrt(((2543.3333 - 812.25) * 100) / 99)) < 1e-3);
  });
});
