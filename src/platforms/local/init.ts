// `iter8 local init DIR --pattern P`: a runnable, commented starting point for one testing and
// deployment pattern: experiment.yaml, lab.yaml (versions as commands) and server.mjs, a tiny HTTP
// service run with `node` (the node running iter8 is enough; no other dependency). Short intervals
// so that `iter8 local run DIR` finishes in well under a minute.

import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const INIT_PATTERNS = ["canary", "ab", "abn", "conformance", "bluegreen", "fixedsplit"] as const;
export type InitPattern = (typeof INIT_PATTERNS)[number];

interface PatternTemplate {
  testing: "Canary" | "A/B" | "A/B/N" | "Conformance";
  deployment: "Progressive" | "FixedSplit" | "BlueGreen";
  what: string;
  versions: string[];
  /** Per version: extra env of the sample service. */
  env: Record<string, Record<string, string>>;
  weights?: Record<string, number>;
  reward: boolean;
}

/** The canary-style patterns' sample: a baseline and a faster candidate that meets the objectives. */
const CANDIDATE_PAIR: Pick<PatternTemplate, "versions" | "env" | "reward"> = {
  versions: ["v1", "v2"],
  env: { v1: { LATENCY_MS: "20" }, v2: { LATENCY_MS: "5" } },
  reward: false,
};

const TEMPLATES: Record<InitPattern, PatternTemplate> = {
  canary: {
    testing: "Canary",
    deployment: "Progressive",
    what: "a candidate (v2) is checked against objectives while traffic shifts to it step by step",
    ...CANDIDATE_PAIR,
  },
  ab: {
    testing: "A/B",
    deployment: "Progressive",
    what: "two versions compared on a reward (lower mean latency wins) among those meeting the objectives",
    versions: ["v1", "v2"],
    env: { v1: { LATENCY_MS: "50" }, v2: { LATENCY_MS: "5" } },
    reward: true,
  },
  abn: {
    testing: "A/B/N",
    deployment: "FixedSplit",
    what: "three versions on a fixed traffic split, compared on a reward",
    versions: ["v1", "v2", "v3"],
    env: { v1: { LATENCY_MS: "50" }, v2: { LATENCY_MS: "5" }, v3: { LATENCY_MS: "25" } },
    weights: { v1: 40, v2: 30, v3: 30 },
    reward: true,
  },
  conformance: {
    testing: "Conformance",
    deployment: "Progressive",
    what: "one version checked against objectives (no traffic shifting)",
    versions: ["v1"],
    env: { v1: { LATENCY_MS: "5" } },
    reward: false,
  },
  bluegreen: {
    testing: "Canary",
    deployment: "BlueGreen",
    what: "a candidate checked against objectives while traffic shifts; the first failed objective ends the experiment with a rollback to the baseline",
    ...CANDIDATE_PAIR,
  },
  fixedsplit: {
    testing: "Canary",
    deployment: "FixedSplit",
    what: "a candidate checked against objectives on a traffic split that does not change",
    ...CANDIDATE_PAIR,
    weights: { v1: 50, v2: 50 },
  },
};

export const SAMPLE_SERVER = `// A tiny HTTP service for \`iter8 local run\`: it answers on $PORT (iter8 sets it) with its
// version. LATENCY_MS makes it slower, ERROR_RATE makes that fraction of requests fail with 500
// (spread evenly, so runs are repeatable). Replace the commands in lab.yaml with your own service.
import { createServer } from "node:http";

const port = Number(process.env.PORT);
if (!port) {
  console.error("PORT is not set: iter8 local run sets it for each version");
  process.exit(1);
}
const version = process.env.VERSION ?? "unknown";
const latencyMs = Number(process.env.LATENCY_MS ?? 0);
const errorRate = Number(process.env.ERROR_RATE ?? 0);
let served = 0;
let failed = 0;

createServer((req, res) => {
  served++;
  const fail = failed < errorRate * served;
  if (fail) failed++;
  setTimeout(() => {
    res.writeHead(fail ? 500 : 200, { "content-type": "text/plain" });
    res.end(\`\${version}\\n\`);
  }, latencyMs);
}).listen(port, "127.0.0.1");
`;

function versionInfo(t: PatternTemplate): string {
  const [baseline, ...candidates] = t.versions;
  let out = `  versionInfo:\n    # the names of lab.yaml's versions; no weightObjRef: the local router is the target\n    baseline:\n      name: ${baseline}\n`;
  if (candidates.length > 0)
    out += `    candidates:\n${candidates.map((c) => `    - name: ${c}\n`).join("")}`;
  return out;
}

export function experimentYaml(name: string, t: PatternTemplate): string {
  const reward = t.reward
    ? `    rewards:
    # the winner: the version with the best reward among those meeting every objective
    - metric: iter8-system/mean-latency
      preferredDirection: Low
`
    : "";
  return `# ${t.testing} testing, ${t.deployment} deployment: ${t.what}.
# Run it with: iter8 local run .   (add --dry-run to only check it)
apiVersion: iter8.tools/v2alpha2
kind: Experiment
metadata:
  name: ${name}
spec:
  # a label for reports; lab.yaml says what runs
  target: default/${name}
  strategy:
    testingPattern: ${t.testing}
    deploymentPattern: ${t.deployment}
  criteria:
    # the built-in metrics come from the local router's per-version statistics
${reward}    objectives:
    - metric: iter8-system/mean-latency
      upperLimit: 100
    - metric: iter8-system/error-rate
      upperLimit: "0.05"
    # decide with stated error rates: promote only what the data support at 95 % (docs/decisions.md),
    # stop early once that is certain, and add up to 10 iterations while it is not
    strength:
      confidence: 0.95
      maxExtraIterations: 10
  duration:
    # short, to try it out: 5 iterations of 2 seconds
    intervalSeconds: 2
    iterationsPerLoop: 5
${versionInfo(t)}`;
}

export function labYaml(t: PatternTemplate): string {
  const versions = t.versions
    .map((v) => {
      const env = { VERSION: v, ...t.env[v] };
      const envText = Object.entries(env)
        .map(([k, x]) => `${k}: "${x}"`)
        .join(", ");
      const weight = t.weights?.[v] !== undefined ? `, weight: ${t.weights[v]}` : "";
      return `  ${v}: { command: [node, server.mjs], env: { ${envText} }${weight} }\n`;
    })
    .join("");
  return `# How to run the experiment's versions on this machine (see docs/local.md).
versions:
  # version name (as in experiment.yaml) -> the command that serves it. Each gets PORT in its
  # environment and runs in this directory; a relative command (./my-server) is this directory's.
  # A version that already runs instead:  v9: { url: http://127.0.0.1:8081 }
${versions}${t.weights ? "  # weight: the traffic split in percent (FixedSplit keeps it; default an even split)\n" : ""}
# The requests sent through the router to the versions while the experiment runs.
load: { qps: 100, connections: 4, path: / }

# How long a version may take to answer HTTP after it starts.
readyTimeout: 20s
`;
}

/** Writes the starting point into `dir` (created; it must be empty); returns the file names. */
export function initLab(dir: string, pattern: InitPattern): string[] {
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new Error(`${dir}: not empty; iter8 local init writes into a new or empty directory`);
  mkdirSync(dir, { recursive: true });
  const t = TEMPLATES[pattern];
  const files: Record<string, string> = {
    "experiment.yaml": experimentYaml(`local-${pattern}`, t),
    "lab.yaml": labYaml(t),
    "server.mjs": SAMPLE_SERVER,
  };
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return Object.keys(files);
}
