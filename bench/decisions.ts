// `./bench/decisions`: Monte Carlo of release decisions through the real Engine (see
// bench/decisions-sim.ts and bench/README.md, "Decisions"). Cells: pattern x scenario x rate x rule;
// trials are spread over worker threads. `--json` prints one JSON object `{"cells": [...]}`.

import os from "node:os";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import {
  experimentFor,
  type Pattern,
  type Rule,
  runTrial,
  SCENARIOS,
  STRENGTH,
  type TrialResult,
} from "./decisions-sim.ts";

const PATTERNS: Pattern[] = ["canary", "conformance"];
const RATES = [4, 8, 40, 200];
const RULES: Rule[] = ["iter8-v2", "confidence-0.95"];

interface CellKey {
  pattern: Pattern;
  scenario: string;
  rate: number;
  rule: Rule;
}

interface Cell extends CellKey {
  trials: number;
  promoted: number;
  inconclusive: number;
  rejected: number;
  rolledBack: number;
  meanDecisionSeconds: number;
  requestsServed: number;
}

interface Job extends CellKey {
  trials: number;
  seed: number;
}

async function runJob(job: Job): Promise<TrialResult[]> {
  const template = experimentFor(job.pattern, job.rule);
  const scenario = SCENARIOS.find((s) => s.name === job.scenario)!;
  const out: TrialResult[] = [];
  for (let t = 0; t < job.trials; t++)
    out.push(await runTrial(template, job.pattern, scenario, job.rate, job.seed + t));
  return out;
}

if (!isMainThread) {
  const jobs = workerData as Job[];
  for (const job of jobs) parentPort!.postMessage({ job, results: await runJob(job) });
  parentPort!.postMessage("done");
} else {
  await main();
}

interface Args {
  json: boolean;
  trials: number;
  workers: number;
  only?: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { json: false, trials: 200, workers: Math.min(2, os.cpus().length) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const int = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a}: needs a positive integer`);
      return v;
    };
    if (a === "--json") args.json = true;
    else if (a === "--trials") args.trials = int();
    else if (a === "--workers") args.workers = int();
    else if (a === "--only") args.only = argv[++i];
    else if (a === "--help" || a === "-h") {
      console.log(
        "usage: bench/decisions [--json] [--trials N (per cell, default 200)] [--workers N] [--only SUBSTRING of pattern/scenario/rate/rule]",
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (try --help)`);
  }
  return args;
}

function cellName(k: CellKey): string {
  return `${k.pattern}/${k.scenario}/${k.rate}/${k.rule}`;
}

async function main(): Promise<void> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`bench/decisions: ${(err as Error).message}`);
    process.exit(2);
  }
  const started = Date.now();
  const keys: CellKey[] = [];
  for (const pattern of PATTERNS)
    for (const scenario of SCENARIOS)
      for (const rate of RATES)
        for (const rule of RULES) keys.push({ pattern, scenario: scenario.name, rate, rule });
  const chosen = keys.filter((k) => args.only === undefined || cellName(k).includes(args.only));
  // Split every cell into chunks so both workers get a balanced share; seeds are per cell and trial.
  const chunk = Math.max(1, Math.ceil(args.trials / 4));
  const jobs: Job[] = [];
  chosen.forEach((k, c) => {
    for (let t = 0; t < args.trials; t += chunk) {
      jobs.push({ ...k, trials: Math.min(chunk, args.trials - t), seed: c * 1_000_003 + t + 1 });
    }
  });
  const results = new Map<string, TrialResult[]>();
  const perWorker: Job[][] = Array.from({ length: args.workers }, () => []);
  jobs.forEach((j, i) => {
    perWorker[i % args.workers]!.push(j);
  });
  await Promise.all(
    perWorker.map(
      (mine) =>
        new Promise<void>((resolve, reject) => {
          const w = new Worker(fileURLToPath(import.meta.url), { workerData: mine });
          w.on("message", (m: "done" | { job: Job; results: TrialResult[] }) => {
            if (m === "done") return;
            const name = cellName(m.job);
            results.set(name, [...(results.get(name) ?? []), ...m.results]);
          });
          w.on("error", reject);
          w.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
        }),
    ),
  );
  const cells: Cell[] = chosen.map((k) => summarise(k, results.get(cellName(k)) ?? []));
  const elapsed = (Date.now() - started) / 1000;
  if (args.json) {
    // Exactly `{"cells": [...]}` on stdout; the run's settings go to stderr.
    console.log(JSON.stringify({ cells }));
    console.error(
      JSON.stringify({ trialsPerCell: args.trials, strength: STRENGTH, elapsedSeconds: elapsed }),
    );
    return;
  }
  printTable(cells, args.trials, elapsed);
}

function summarise(k: CellKey, rs: TrialResult[]): Cell {
  const n = rs.length;
  const share = (o: TrialResult["outcome"]) => round(rs.filter((r) => r.outcome === o).length / n, 4);
  const mean = (f: (r: TrialResult) => number) => rs.reduce((a, r) => a + f(r), 0) / n;
  return {
    pattern: k.pattern,
    rate: k.rate,
    scenario: k.scenario,
    rule: k.rule,
    trials: n,
    promoted: share("promoted"),
    inconclusive: share("inconclusive"),
    rejected: share("rejected"),
    rolledBack: share("rolledBack"),
    meanDecisionSeconds: round(
      mean((r) => r.decisionSeconds),
      1,
    ),
    requestsServed: Math.round(mean((r) => r.served)),
  };
}

function round(x: number, places: number): number {
  const f = 10 ** places;
  return Math.round(x * f) / f;
}

/** Standard error of a fraction from n trials, in percentage points. */
function se(p: number, n: number): string {
  return (100 * Math.sqrt((p * (1 - p)) / n)).toFixed(1);
}

function pct(p: number): string {
  return `${(100 * p).toFixed(1)}`;
}

function printTable(cells: Cell[], trials: number, elapsed: number): void {
  console.log(
    `Decisions: ${trials} trials a cell (standard error of a fraction p: sqrt(p(1-p)/${trials}), at most ${se(0.5, trials)} points); strength ${JSON.stringify(STRENGTH)}`,
  );
  console.log(
    "pattern      scenario         rate  rule             promoted%  inconcl%  rejected%  rolledBack%  decision_s  served",
  );
  for (const c of cells) {
    console.log(
      [
        c.pattern.padEnd(12),
        c.scenario.padEnd(16),
        String(c.rate).padStart(4),
        c.rule.padEnd(16),
        `${pct(c.promoted)}±${se(c.promoted, c.trials)}`.padStart(10),
        `${pct(c.inconclusive)}`.padStart(8),
        `${pct(c.rejected)}±${se(c.rejected, c.trials)}`.padStart(10),
        `${pct(c.rolledBack)}±${se(c.rolledBack, c.trials)}`.padStart(11),
        c.meanDecisionSeconds.toFixed(1).padStart(10),
        String(c.requestsServed).padStart(7),
      ].join(" "),
    );
  }
  console.log(`elapsed ${elapsed.toFixed(0)} s`);
}
