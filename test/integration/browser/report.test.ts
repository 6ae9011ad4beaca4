/// <reference lib="dom" />
// The report of a real local run of each seed example, opened from disk in a real browser: every
// chart drawn with one point per iteration, no request beyond the file itself, no console error,
// readable on a laptop screen and on a phone. Screenshots go to test/output/browser/.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import type { Experiment } from "../../../src/api/types.ts";
import { buildOnce, examples, runCli, tempDir } from "../local/helpers.ts";
import { chartPoints, launchBrowser, outputDir, watchPage } from "./chromium.ts";

const SEEDS: Array<{ dir: string; experiment: string }> = [
  { dir: "canary-progressive-helm", experiment: "canary-progressive" },
  { dir: "traffic-segmentation", experiment: "request-routing" },
  { dir: "conformance-mirroring", experiment: "mirroring" },
];

describe("iter8 report of each seed run, in a real browser", () => {
  let browser: Browser;
  before(async () => {
    buildOnce();
    browser = await launchBrowser();
  });
  after(async () => browser?.close());

  for (const seed of SEEDS) {
    it(`${seed.dir}: renders every chart with one point per iteration, offline and without errors`, async () => {
      const stateDir = tempDir(`report-${seed.dir}`);
      const run = await runCli([
        "local",
        "run",
        join(examples, seed.dir),
        "--interval",
        "1",
        "--state-dir",
        stateDir,
      ]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const written = join(stateDir, "report.html");
      assert.match(run.stdout, new RegExp(`report: ${written.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
      assert.ok(existsSync(written));
      const exp = JSON.parse(
        readFileSync(join(stateDir, "experiments", `default.${seed.experiment}.json`), "utf8"),
      ) as Experiment;
      const iterations = exp.status?.completedIterations ?? 0;
      assert.ok(iterations > 0);

      // The same report from the command, as a file of its own.
      const out = join(stateDir, "again.html");
      const cli = await runCli(["report", seed.experiment, "--state-dir", stateDir, "--out", out]);
      assert.equal(cli.code, 0, cli.stderr);

      for (const [file, viewport, shot] of [
        [out, { width: 1280, height: 800 }, `report-${seed.dir}.png`],
        [out, { width: 390, height: 844 }, `report-${seed.dir}-phone.png`],
      ] as const) {
        const page = await browser.newPage({ viewport });
        const seen = watchPage(page);
        await page.goto(`file://${file}`);
        await page.waitForFunction(() => (window as unknown as { __iter8?: unknown }).__iter8 !== undefined);
        const points = await chartPoints(page);
        const objectives = exp.spec.criteria?.objectives?.length ?? 0;
        assert.equal(Object.keys(points).length, 2 + objectives, JSON.stringify(points));
        for (const [id, n] of Object.entries(points)) assert.equal(n, iterations, `chart ${id}`);
        assert.equal((await page.locator("canvas").count()) >= 2 + objectives, true);
        assert.deepEqual(seen.requests, [`file://${file}`], "no request beyond the file itself");
        assert.deepEqual(seen.errors, []);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `the page is ${overflow}px wider than a ${viewport.width}px screen`);
        await page.screenshot({ path: join(outputDir(), shot), fullPage: true });
        await page.close();
      }
    });
  }
});
