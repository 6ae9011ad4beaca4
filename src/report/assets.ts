// The chart library inlined into every report page: uPlot's browser build and its stylesheet, read
// from the installed package once per process. Inlining (rather than a CDN link) is what lets a
// report open offline and make no network request at view time.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export interface ChartAssets {
  script: string;
  style: string;
}

let cached: ChartAssets | undefined;

export function chartAssets(): ChartAssets {
  if (!cached) {
    const require = createRequire(import.meta.url);
    cached = {
      script: readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8"),
      style: readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8"),
    };
  }
  return cached;
}
