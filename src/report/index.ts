// Text reports: the iter8ctl `describe` layout, kubectl-style `get`/`--watch` tables, and the
// tablewriter and number formatting they are built from.

export { bareName, type DescribeLayout, type DescribeOptions, describeExperiment } from "./describe.ts";
export { compareFormatted, DESCRIBE_DECIMALS, formatQuantityRoundedUp } from "./format.ts";
export { writtenMetricReferences } from "./references.ts";
export {
  ColumnWriter,
  EXPERIMENT_COLUMNS,
  ExperimentWatchPrinter,
  experimentCells,
  type GetTableOptions,
  METRIC_COLUMNS,
  metricCells,
  renderExperimentTable,
  renderMetricTable,
} from "./table.ts";
export { MAX_CELL_WIDTH, renderTable, type TableOptions } from "./tablewriter.ts";
