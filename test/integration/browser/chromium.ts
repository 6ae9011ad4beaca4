/// <reference lib="dom" />
// A real browser for the page tests: Debian's chromium, driven by playwright-core (which downloads
// no browser of its own). `$ITER8_CHROMIUM` names another executable. A missing browser fails the
// test with what to install: these tests never skip silently.

import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { root } from "../local/helpers.ts";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

export function chromiumPath(): string {
  const wanted = process.env["ITER8_CHROMIUM"];
  const found = wanted ?? CANDIDATES.find((p) => existsSync(p));
  if (!found || !existsSync(found)) {
    throw new Error(
      `no Chromium found (${wanted ?? CANDIDATES.join(", ")}): install Debian's chromium package (apt-get install chromium) or set ITER8_CHROMIUM`,
    );
  }
  return found;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: ["--no-sandbox", "--disable-gpu"] });
}

/** Where the page tests write their screenshots (ignored by git). */
export function outputDir(): string {
  const dir = join(root, "test", "output", "browser");
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface PageWatch {
  /** Every URL the page requested. */
  requests: string[];
  /** Console errors and uncaught exceptions. */
  errors: string[];
}

export function watchPage(page: Page): PageWatch {
  const w: PageWatch = { requests: [], errors: [] };
  page.on("request", (r) => w.requests.push(r.url()));
  page.on("console", (m) => {
    if (m.type() === "error") w.errors.push(m.text());
  });
  page.on("pageerror", (e) => w.errors.push(String(e)));
  return w;
}

/** Points drawn per chart, as the page script reports them. */
export function chartPoints(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => {
    const charts = (window as unknown as { __iter8: { charts: Record<string, { points: number }> } }).__iter8
      .charts;
    return Object.fromEntries(Object.entries(charts).map(([id, c]) => [id, c.points]));
  });
}
