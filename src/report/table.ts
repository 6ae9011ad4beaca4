// `kubectl get experiments` / `kubectl get metrics` tables, laid out the way kubectl prints them:
// columns from the CRDs' additionalPrinterColumns, cells separated by kubectl's
// tabwriter (minimum cell width 6, 3 spaces of padding, last column unpadded), and in watch mode
// column widths remembered across rows so later rows stay aligned with the header
// (kubectl's `RememberWidths` tabwriter flag).

import type { Experiment, Metric } from "../api/types.ts";

const MIN_CELL_WIDTH = 6;
const PADDING = 3;

export const EXPERIMENT_COLUMNS = [
  "NAME",
  "TYPE",
  "TARGET",
  "STAGE",
  "COMPLETED ITERATIONS",
  "MESSAGE",
] as const;
export const METRIC_COLUMNS = ["NAME", "TYPE", "DESCRIPTION"] as const;

export interface GetTableOptions {
  /** `-A`: prefix every row with a NAMESPACE column. */
  allNamespaces?: boolean;
  /** `--no-headers`: omit the header line. */
  noHeaders?: boolean;
  /** Add a TRAFFIC column (the observed split) before MESSAGE, as `iter8 local run` prints. */
  traffic?: boolean;
  /** Replaces the STAGE or MESSAGE cell, e.g. with why an experiment stopped (src/report/outcome.ts). */
  annotate?: (exp: Experiment) => { stage?: string; message?: string };
}

// kubectl prints only up to the first line break of a cell, followed by "..." when cut.
function cellText(value: string | number | undefined): string {
  if (value === undefined) return "";
  const text = String(value);
  const cut = text.search(/[\f\n\r]/);
  return cut >= 0 ? `${text.slice(0, cut)}...` : text;
}

/** The printer-column cells of one experiment (without namespace). */
export function experimentCells(exp: Experiment): string[] {
  return [
    cellText(exp.metadata.name),
    cellText(exp.spec.strategy.testingPattern),
    cellText(exp.spec.target),
    cellText(exp.status?.stage),
    cellText(exp.status?.completedIterations),
    cellText(exp.status?.message),
  ];
}

/** The printer-column cells of one metric (without namespace). */
export function metricCells(metric: Metric): string[] {
  return [cellText(metric.metadata.name), cellText(metric.spec.type), cellText(metric.spec.description)];
}

/**
 * Aligns rows of cells like kubectl's tabwriter. Widths are kept between calls (kubectl flushes after
 * every watch event but remembers the widest cell seen per column), so rows written later line up with
 * what was already printed unless a new cell is wider.
 */
export class ColumnWriter {
  private readonly rememberedWidths: number[];

  /**
   * `minWidths[col]`: a width (padding included) a column starts with, so a stream of rows whose
   * widest value is known up front (a stage name, a traffic split) stays aligned from the first row.
   */
  constructor(minWidths: readonly number[] = []) {
    this.rememberedWidths = [...minWidths];
  }

  /** Formats a block of rows printed together; returns text ending in a newline per row. */
  format(rows: ReadonlyArray<readonly string[]>): string {
    const widths: number[] = [];
    for (const row of rows) {
      // The last cell of a row is not part of a column (it is not tab-terminated).
      for (let col = 0; col < row.length - 1; col++) {
        const needed = Math.max(MIN_CELL_WIDTH, [...row[col]!].length + PADDING);
        widths[col] = Math.max(widths[col] ?? 0, needed);
      }
    }
    widths.forEach((w, col) => {
      this.rememberedWidths[col] = Math.max(this.rememberedWidths[col] ?? 0, w);
    });
    let out = "";
    for (const row of rows) {
      let line = "";
      row.forEach((cell, col) => {
        line +=
          col < row.length - 1 ? cell + " ".repeat(this.rememberedWidths[col]! - [...cell].length) : cell;
      });
      out += `${line}\n`;
    }
    return out;
  }
}

function withNamespace(cells: string[], namespace: string | undefined, all: boolean | undefined): string[] {
  return all ? [cellText(namespace), ...cells] : cells;
}

function headerFor(columns: readonly string[], options: GetTableOptions): string[] {
  const cols = options.traffic ? [...columns.slice(0, -1), "TRAFFIC", columns.at(-1)!] : [...columns];
  return options.allNamespaces ? ["NAMESPACE", ...cols] : cols;
}

/** One experiment's row under `options` (namespace, traffic, annotations). */
function experimentRow(exp: Experiment, options: GetTableOptions): string[] {
  const cells = experimentCells(exp);
  const note = options.annotate?.(exp);
  if (note?.stage !== undefined) cells[3] = cellText(note.stage);
  if (note?.message !== undefined) cells[5] = cellText(note.message);
  if (options.traffic) {
    const split = (exp.status?.currentWeightDistribution ?? []).map((w) => `${w.name}=${w.value}`).join(" ");
    cells.splice(5, 0, split);
  }
  return withNamespace(cells, exp.metadata.namespace, options.allNamespaces);
}

/** `kubectl get experiments [-A] [--no-headers]` for a list of experiments. */
export function renderExperimentTable(exps: readonly Experiment[], options: GetTableOptions = {}): string {
  const rows = exps.map((e) => experimentRow(e, options));
  if (!options.noHeaders) rows.unshift(headerFor(EXPERIMENT_COLUMNS, options));
  return new ColumnWriter().format(rows);
}

/** `kubectl get metrics [-A] [--no-headers]` for a list of metrics. */
export function renderMetricTable(metrics: readonly Metric[], options: GetTableOptions = {}): string {
  const rows = metrics.map((m) => withNamespace(metricCells(m), m.metadata.namespace, options.allNamespaces));
  if (!options.noHeaders) rows.unshift(headerFor(METRIC_COLUMNS, options));
  return new ColumnWriter().format(rows);
}

/**
 * `kubectl get experiment --watch`: the first call prints the header with the first rows; each later
 * call prints one updated row, aligned using the widths remembered from everything printed before.
 */
export class ExperimentWatchPrinter {
  private readonly writer = new ColumnWriter();
  private started = false;
  private readonly options: GetTableOptions;

  constructor(options: GetTableOptions = {}) {
    this.options = options;
  }

  /** Text for the initial listing (header unless noHeaders, then one row per experiment). */
  initial(exps: readonly Experiment[]): string {
    this.started = true;
    const rows = exps.map((e) => experimentRow(e, this.options));
    if (!this.options.noHeaders) rows.unshift(headerFor(EXPERIMENT_COLUMNS, this.options));
    return this.writer.format(rows);
  }

  /** Text for one watch event. If nothing was printed yet, the header comes first. */
  update(exp: Experiment): string {
    if (!this.started) return this.initial([exp]);
    return this.writer.format([experimentRow(exp, this.options)]);
  }
}
