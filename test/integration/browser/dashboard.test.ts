/// <reference lib="dom" />
// The dashboard in a real browser, watching a real local run as it happens: the list shows the
// experiment, and its page gains a point in every chart when an iteration completes, pushed over
// server-sent events (no reload). Screenshots go to test/output/browser/.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { LocalFeed } from "../../../src/dashboard/feed.ts";
import { DashboardServer } from "../../../src/dashboard/server.ts";
import { buildOnce, type CliRun, examples, startCli, tempDir } from "../local/helpers.ts";
import { chartPoints, launchBrowser, outputDir, watchPage } from "./chromium.ts";

describe("iter8 dashboard of a running local experiment, in a real browser", () => {
  let browser: Browser;
  let run: CliRun | undefined;
  let feed: LocalFeed | undefined;
  let server: DashboardServer | undefined;

  before(async () => {
    buildOnce();
    browser = await launchBrowser();
  });
  after(async () => {
    run?.kill("SIGTERM");
    await run?.exited;
    feed?.close();
    await server?.close();
    await browser?.close();
  });

  it("the experiment page gains a point when an iteration completes", async () => {
    const stateDir = tempDir("dashboard");
    run = startCli([
      "local",
      "run",
      join(examples, "canary-progressive-helm"),
      "--interval",
      "2",
      "--state-dir",
      stateDir,
    ]);
    // The run's own progress line: by then the state file holds iteration 1.
    await run.waitFor(/Completed Iteration 1\b/, 60_000);
    feed = new LocalFeed(stateDir, 250);
    server = new DashboardServer({ feed });
    const { port } = await server.listen("127.0.0.1", 0);
    const base = `http://127.0.0.1:${port}`;

    const list = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const listSeen = watchPage(list);
    await list.goto(`${base}/`);
    await list.getByRole("link", { name: "canary-progressive" }).waitFor();
    await list.screenshot({ path: join(outputDir(), "dashboard-list.png"), fullPage: true });

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const seen = watchPage(page);
    await page.goto(`${base}/experiments/default/canary-progressive`);
    await page.waitForFunction(() => (window as unknown as { __iter8?: unknown }).__iter8 !== undefined);
    const before = (await chartPoints(page))["weights"] ?? 0;
    await page.waitForFunction(
      (n) => {
        const charts = (window as unknown as { __iter8: { charts: Record<string, { points: number }> } })
          .__iter8.charts;
        return Object.values(charts).every((c) => c.points > n);
      },
      before,
      { timeout: 60_000 },
    );
    const after = await chartPoints(page);
    for (const [id, n] of Object.entries(after))
      assert.ok(n > before, `chart ${id}: ${n} points, had ${before}`);
    await page.screenshot({ path: join(outputDir(), "dashboard-experiment.png"), fullPage: true });

    for (const s of [seen, listSeen]) {
      assert.deepEqual(s.errors, []);
      assert.ok(
        s.requests.every((u) => u.startsWith(base)),
        `only the dashboard itself: ${s.requests.join(", ")}`,
      );
    }
  });
});
