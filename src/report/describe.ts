// `iter8ctl describe`: the text description of an experiment, in the layout of the original iter8ctl.
// Two layouts exist because the tutorials show two:
//  - "v2alpha2" (iter8ctl, May-Sep 2021): explanation lines starting with `>` under the section
//    headers, `Version recommended for promotion:`, and a Reward Assessment table for A/B(/N);
//  - "v2alpha1" (iter8ctl v0.1.0-pre, the seed 004 tutorial): no `>` lines, `Recommended baseline:`
//    (printed for every testing pattern), and no Reward Assessment (added to iter8ctl only in May 2021).
//
// Metric labels. Our experiments hold normalised `namespace/name` metric keys, but the original printed
// references as they were written. Rule: a label is the reference as written when the caller supplies
// it (`writtenReferences`, see references.ts); otherwise the v2alpha1 layout prints the bare metric name
// (every v2alpha1 experiment referred to metrics by bare name, and its controller stored them so) and
// the v2alpha2 layout prints the normalised key (all v2alpha2 samples write `namespace/name`, and etc3
// >= v0.1.29 stored `status.metrics` names that way). The same rule labels objectives, rewards and
// Metrics Assessment rows.

import type { Experiment, MetricInfo, Objective, Quantity, Reward } from "../api/types.ts";
import { errorText } from "../lib/errors.ts";
import { compareFormatted, formatQuantityRoundedUp } from "./format.ts";
import { renderTable } from "./tablewriter.ts";

export type DescribeLayout = "v2alpha2" | "v2alpha1";

export interface DescribeOptions {
  layout: DescribeLayout;
  /** Normalised metric key (`namespace/name`) -> the reference as written in the source document. */
  writtenReferences?: ReadonlyMap<string, string>;
}

const UNAVAILABLE = "unavailable";

const WINNER_EXPLANATIONS: Partial<Record<string, string[]>> = {
  Canary: [
    "> If the candidate version satisfies the experiment objectives, then it is the winner.",
    "> Otherwise, if the baseline version satisfies the experiment objectives, it is the winner.",
    "> Otherwise, there is no winner.",
  ],
  Conformance: [
    "> If the version being validated; i.e., the baseline version, satisfies the experiment objectives, it is the winner.",
    "> Otherwise, there is no winner.",
  ],
};
const REWARD_EXPLANATION =
  "> Identifies values of reward metrics for each version. The best version is marked with a '*'.";
const OBJECTIVE_EXPLANATION =
  "> Identifies whether or not the experiment objectives are satisfied by the most recently observed metrics values for each version.";
const METRICS_EXPLANATION = "> Most recently read values of experiment metrics for each version.";

/**
 * The full text `iter8ctl describe` prints for `exp`: it starts with an empty line and ends with the
 * newline of the last section plus the newline of Go's `Println` (so it can be written as is).
 */
export function describeExperiment(exp: Experiment, options: DescribeOptions): string {
  const d = new Description(exp, options);
  return `${d.render()}\n`;
}

class Description {
  private readonly exp: Experiment;
  private readonly v2alpha2: boolean;
  private readonly written: ReadonlyMap<string, string>;
  private readonly versions: string[];
  private out = "";

  constructor(exp: Experiment, options: DescribeOptions) {
    if (options.layout !== "v2alpha2" && options.layout !== "v2alpha1") {
      throw new Error(
        `describe layout must be "v2alpha2" or "v2alpha1", got ${JSON.stringify(options.layout)}`,
      );
    }
    this.exp = exp;
    this.v2alpha2 = options.layout === "v2alpha2";
    this.written = options.writtenReferences ?? new Map();
    const info = exp.spec.versionInfo;
    this.versions = info ? [info.baseline.name, ...(info.candidates ?? []).map((c) => c.name)] : [];
  }

  render(): string {
    this.overview();
    const completed = this.exp.status?.completedIterations ?? 0;
    if (completed > 0) {
      this.winnerAssessment();
      if (this.v2alpha2) this.rewardAssessment();
      this.objectiveAssessment();
      this.metricsAssessment();
    }
    return this.out;
  }

  private line(text: string): void {
    this.out += `${text}\n`;
  }

  private header(title: string): void {
    this.line(`\n****** ${title} ******`);
  }

  private explain(...lines: string[]): void {
    if (this.v2alpha2) for (const l of lines) this.line(l);
  }

  private overview(): void {
    const { metadata, spec, status } = this.exp;
    this.header("Overview");
    this.line(`Experiment name: ${metadata.name}`);
    // Like Kubernetes, an object without a namespace is in `default`.
    this.line(`Experiment namespace: ${metadata.namespace || "default"}`);
    this.line(`Target: ${spec.target}`);
    this.line(`Testing pattern: ${spec.strategy.testingPattern}`);
    this.line(`Deployment pattern: ${spec.strategy.deploymentPattern ?? "Progressive"}`);
    this.header("Progress Summary");
    if (status?.stage) this.line(`Experiment stage: ${status.stage}`);
    this.line(`Number of completed iterations: ${status?.completedIterations ?? 0}`);
  }

  private winnerAssessment(): void {
    const status = this.exp.status;
    const winner = status?.analysis?.winnerAssessment;
    if (!winner) return;
    const pattern = this.exp.spec.strategy.testingPattern;
    const conformance = pattern === "Conformance";
    this.header("Winner Assessment");
    this.explain(...(WINNER_EXPLANATIONS[pattern] ?? []));
    if (!conformance && this.exp.spec.versionInfo) {
      // Go's %s of a string slice: brackets, space-separated.
      this.line(`App versions in this experiment: [${this.versions.join(" ")}]`);
    }
    const found = winner.data.winnerFound && winner.data.winner !== undefined;
    this.line(`Winning version: ${found ? winner.data.winner : "not found"}`);
    const recommended = status?.versionRecommendedForPromotion;
    if (recommended !== undefined) {
      if (this.v2alpha2) {
        if (!conformance) this.line(`Version recommended for promotion: ${recommended}`);
      } else {
        this.line(`Recommended baseline: ${recommended}`);
      }
    }
  }

  private rewardAssessment(): void {
    const rewards = this.exp.spec.criteria?.rewards ?? [];
    if (rewards.length === 0 || !this.exp.status?.analysis?.versionAssessments) return;
    this.header("Reward Assessment");
    this.explain(REWARD_EXPLANATION);
    const rows = rewards.map((r) => [this.rewardLabel(r), ...this.rewardCells(r)]);
    this.out += renderTable(["Reward", ...this.versions], rows);
  }

  private objectiveAssessment(): void {
    const objectives = this.exp.spec.criteria?.objectives ?? [];
    const assessments = this.exp.status?.analysis?.versionAssessments;
    if (objectives.length === 0 || !assessments) return;
    this.header("Objective Assessment");
    this.explain(OBJECTIVE_EXPLANATION);
    const rows = objectives.map((objective, i) => [
      this.objectiveLabel(objective, i),
      ...this.versions.map((v) => {
        const satisfied = assessments.data[v]?.[i];
        return typeof satisfied === "boolean" ? String(satisfied) : UNAVAILABLE;
      }),
    ]);
    this.out += renderTable(["Objective", ...this.versions], rows);
  }

  private metricsAssessment(): void {
    if (!this.exp.status?.analysis?.aggregatedMetrics) return;
    this.header("Metrics Assessment");
    this.explain(METRICS_EXPLANATION);
    const rows = (this.exp.status.metrics ?? []).map((info) => [
      this.metricRowLabel(info),
      ...this.versions.map((v) => this.valueCell(info.name, v)),
    ]);
    this.out += renderTable(["Metric", ...this.versions], rows);
  }

  // --- labels and cells ---

  private reference(key: string): string {
    const written = this.written.get(key);
    if (written !== undefined) return written;
    return this.v2alpha2 ? key : bareName(key);
  }

  private objectiveLabel(objective: Objective, index: number): string {
    const where = `spec.criteria.objectives[${index}]`;
    let label = "";
    if (objective.lowerLimit !== undefined)
      label += `${formatAt(objective.lowerLimit, `${where}.lowerLimit`)} <= `;
    label += this.reference(objective.metric);
    if (objective.upperLimit !== undefined)
      label += ` <= ${formatAt(objective.upperLimit, `${where}.upperLimit`)}`;
    return label;
  }

  private rewardLabel(reward: Reward): string {
    return `${this.reference(reward.metric)} (${reward.preferredDirection === "High" ? "higher" : "lower"} better)`;
  }

  private metricRowLabel(info: MetricInfo): string {
    const name = this.reference(info.name);
    const units = info.metricObj?.spec?.units;
    return units !== undefined ? `${name} (${units})` : name;
  }

  /** The value of a metric for a version, rounded up to 3 decimals, or undefined if there is none. */
  private value(metric: string, version: string): string | undefined {
    const value = this.exp.status?.analysis?.aggregatedMetrics?.data[metric]?.data[version]?.value;
    if (value === undefined || value === null) return undefined;
    const path = `status.analysis.aggregatedMetrics.data[${JSON.stringify(metric)}].data[${JSON.stringify(version)}].value`;
    return formatAt(value, path);
  }

  private valueCell(metric: string, version: string): string {
    return this.value(metric, version) ?? UNAVAILABLE;
  }

  /** Reward values per version; the best available one (strictly better, first wins ties) gets ` *`. */
  private rewardCells(reward: Reward): string[] {
    const values = this.versions.map((v) => this.value(reward.metric, v));
    let best: number | undefined;
    values.forEach((value, i) => {
      if (value === undefined) return;
      if (best === undefined) {
        best = i;
        return;
      }
      const cmp = compareFormatted(value, values[best]!);
      if (
        (reward.preferredDirection === "High" && cmp > 0) ||
        (reward.preferredDirection === "Low" && cmp < 0)
      )
        best = i;
    });
    return values.map((value, i) => (value === undefined ? UNAVAILABLE : i === best ? `${value} *` : value));
  }
}

/** `namespace/name` -> `name`; a key without a namespace is returned unchanged. */
export function bareName(key: string): string {
  const slash = key.indexOf("/");
  return slash >= 0 ? key.slice(slash + 1) : key;
}

function formatAt(q: Quantity, path: string): string {
  try {
    return formatQuantityRoundedUp(q);
  } catch (err) {
    throw new Error(`${path}: ${errorText(err)}`);
  }
}
