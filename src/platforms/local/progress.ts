// What a local run prints while the experiment runs and when it ends: one row per status change
// (the `kubectl get experiment --watch` columns plus the traffic split), then describe, the
// promotions and the requests per version.

import type { Experiment } from "../../api/types.ts";
import { ColumnWriter, EXPERIMENT_COLUMNS, experimentCells } from "../../report/table.ts";
import type { Promotion } from "./cluster.ts";

/** "current=80 candidate=20" from the observed weights. */
export function formatSplit(exp: Experiment): string {
  const w = exp.status?.currentWeightDistribution ?? [];
  return w.map((x) => `${x.name}=${x.value}`).join(" ");
}

/** What a printed progress line shows, to print only changes. */
export function rowKey(exp: Experiment): string {
  return [...experimentCells(exp), formatSplit(exp)].join("\u0000");
}

export class ProgressPrinter {
  readonly #out: (text: string) => void;
  #writer = new ColumnWriter();
  #printedHeader = false;
  #lastRow = "";

  constructor(out: (text: string) => void) {
    this.#out = out;
  }

  /** Rows already shown (a resumed run announces its state instead). */
  seen(exp: Experiment): void {
    this.#lastRow = rowKey(exp);
  }

  row(exp: Experiment): void {
    const row = rowKey(exp);
    if (row === this.#lastRow) return;
    this.#lastRow = row;
    const rows: string[][] = [];
    if (!this.#printedHeader) {
      rows.push([...EXPERIMENT_COLUMNS, "TRAFFIC"]);
      this.#printedHeader = true;
      // Size STAGE and TRAFFIC for their widest values now, so later rows line up under the header.
      const names = [exp.spec.versionInfo?.baseline, ...(exp.spec.versionInfo?.candidates ?? [])];
      const widestSplit = names.map((v) => `${v?.name}=100`).join(" ");
      this.#writer = new ColumnWriter([0, 0, 0, "Initializing".length + 3, 0, widestSplit.length + 3]);
    }
    // The split goes before the free-text message so the columns stay aligned.
    const ordered = (r: string[]) => [...r.slice(0, 5), r[6]!, r[5]!];
    rows.push([...experimentCells(exp), formatSplit(exp)]);
    this.#out(this.#writer.format(rows.map(ordered)));
  }
}

/** describe (given), the promotions and the requests per version, as printed when the run ends. */
export function finalReport(
  described: string,
  promotions: Promotion[],
  counts: Record<string, number>,
): string {
  let text = `\n${described}`;
  for (const p of promotions) {
    const split = Object.entries(p.traffic)
      .map(([r, v]) => `${r}=${v}%`)
      .join(" ");
    text += `promoted: release ${p.release} with ${p.values.join(", ")} -> Knative Service ${p.service} revision ${p.revision} (${split})\n`;
  }
  text += `requests per revision: ${Object.entries(counts)
    .map(([v, n]) => `${v}=${n}`)
    .join(" ")}\n`;
  return text;
}
