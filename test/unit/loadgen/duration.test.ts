import assert from "node:assert/strict";
import { test } from "node:test";
import { formatDuration, parseDuration } from "../../../src/loadgen/duration.ts";

test("parseDuration accepts Go-style durations and bare seconds", () => {
  const cases: Array<[string, number]> = [
    ["10s", 10_000],
    ["2m", 120_000],
    ["250ms", 250],
    ["1h30m", 5_400_000],
    ["1.5s", 1500],
    ["500us", 0.5],
    ["3", 3000],
    ["0.25", 250],
    [" 5s ", 5000],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test("parseDuration rejects malformed input naming the field", () => {
  for (const bad of ["", "s", "10", "10x", "5 s", "-1s", "1s2"].filter((b) => b !== "10")) {
    assert.throws(() => parseDuration(bad, "--duration"), /--duration/, bad);
  }
});

test("formatDuration is compact", () => {
  assert.equal(formatDuration(850), "850ms");
  assert.equal(formatDuration(12_500), "12.5s");
  assert.equal(formatDuration(150_000), "2m30s");
  assert.equal(formatDuration(120_000), "2m");
});
