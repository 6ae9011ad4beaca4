// The seeds' traffic Jobs (curl loops, a Fortio load) turned into load generator settings: derived
// from the Job's own command when it is simple (`curl -sS HOST -H "k: v"` in a `while` loop with a
// `sleep`, `fortio load -t 120s ... URL`), with the lab's `traffic` entries filling in or overriding
// what a cluster would have supplied (the URL the tutorial `sed`s in, a faster rate for short runs).

import { isRecord } from "../../lib/objects.ts";
import { TutorialError } from "./errors.ts";
import type { Lab, LoadFields, TrafficSetting } from "./lab.ts";

export interface LoadGenerator {
  /** `job/container`. */
  name: string;
  /** The URL the Job requests, e.g. http://example.com/ (its host is the Host header). */
  url: string;
  headers: Record<string, string>;
  qps: number;
  connections: number;
  /** Undefined: until the run ends. */
  durationMs?: number;
  delayMs: number;
}

type Obj = Record<string, unknown>;

/** What a container's command says of its load, or why it cannot be read. */
interface Derived extends LoadFields {
  problem?: string;
}

/** Shell words of one line: whitespace-separated, with '…' and "…" quoting. */
export function shellWords(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unterminated ${c} quote`);
      cur += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c) || c === ";") {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

function seconds(word: string | undefined): number | undefined {
  if (word === undefined || !/^\d+(\.\d+)?$/.test(word)) return undefined;
  return Number(word);
}

function normaliseUrl(u: string): string {
  return /^https?:\/\//.test(u) ? u : `http://${u}`;
}

function parseHeader(h: string): [string, string] | undefined {
  const i = h.indexOf(":");
  return i > 0 ? [h.slice(0, i).trim(), h.slice(i + 1).trim()] : undefined;
}

/** A `/bin/sh -c` script with a curl loop. */
function fromCurlScript(script: string): Derived {
  const d: Derived = { headers: {}, connections: 1 };
  let inLoop = false;
  for (const raw of script.split("\n")) {
    const words = shellWords(raw.trim());
    if (words.length === 0) continue;
    if (words[0] === "while") inLoop = true;
    if (words[0] === "sleep") {
      const s = seconds(words[1]);
      if (s === undefined) continue;
      if (inLoop && s > 0) d.qps = 1 / s;
      else if (inLoop) delete d.qps;
      else d.delayMs = s * 1000;
    }
    const at = words.indexOf("curl");
    if (at >= 0) {
      for (let i = at + 1; i < words.length; i++) {
        const w = words[i]!;
        if (w === "-H" || w === "--header") {
          const h = parseHeader(words[++i] ?? "");
          if (h) d.headers[h[0]] = h[1];
        } else if (w.startsWith("-")) {
          if (["-X", "-d", "--data", "-o", "-m", "--max-time"].includes(w)) i++;
        } else d.url = normaliseUrl(w);
      }
    }
  }
  if (d.url === undefined) d.problem = "no curl URL found in the script";
  return d;
}

/** `fortio load [flags] URL`. */
function fromFortio(argv: string[], env: Record<string, string>): Derived {
  const d: Derived = { headers: {} };
  const value = (w: string) => w.replace(/\$\((\w+)\)/g, (_, n: string) => env[n] ?? `$(${n})`);
  for (let i = 2; i < argv.length; i++) {
    const w = argv[i]!;
    const next = () => value(argv[++i] ?? "");
    if (w === "-t") {
      const t = next();
      const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(t);
      if (m) d.durationMs = Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? "s"] ?? 1000);
    } else if (w === "-qps") d.qps = Number(next());
    else if (w === "-c") d.connections = Number(next());
    else if (w === "-H") {
      const h = parseHeader(next());
      if (h) d.headers[h[0]] = h[1];
    } else if (w.startsWith("-")) {
      if (["-json", "-n", "-payload", "-payload-file", "-content-type", "-timeout"].includes(w)) next();
    } else {
      const u = value(w);
      if (/^https?:\/\//.test(u)) d.url = u;
      else d.problem = `the URL is ${JSON.stringify(u)} (a placeholder the tutorial fills in on a cluster)`;
    }
  }
  d.qps ??= 8;
  d.connections ??= 4;
  if (d.url === undefined) d.problem ??= "no URL found in the fortio command";
  return d;
}

interface Container {
  name: string;
  argv: string[];
  env: Record<string, string>;
}

function containersOf(job: Obj): Container[] {
  const spec = isRecord(job["spec"]) ? job["spec"] : {};
  const tpl = isRecord(spec["template"]) ? spec["template"] : {};
  const pspec = isRecord(tpl["spec"]) ? tpl["spec"] : {};
  const list = Array.isArray(pspec["containers"]) ? pspec["containers"] : [];
  return list.filter(isRecord).map((c, i) => {
    const env: Record<string, string> = {};
    for (const e of Array.isArray(c["env"]) ? c["env"] : [])
      if (isRecord(e) && typeof e["name"] === "string") env[e["name"]] = String(e["value"] ?? "");
    const cmd = Array.isArray(c["command"]) ? c["command"].map(String) : [];
    const args = Array.isArray(c["args"]) ? c["args"].map(String) : [];
    return {
      name: typeof c["name"] === "string" ? c["name"] : `container-${i}`,
      argv: [...cmd, ...args],
      env,
    };
  });
}

function derive(c: Container): Derived | undefined {
  const argv = c.argv;
  if (argv[0] === "fortio" && argv[1] === "load") return fromFortio(argv, c.env);
  const shell = argv.indexOf("-c");
  if (shell >= 0 && /(^|\/)(ba)?sh$/.test(argv[0] ?? "")) {
    const script = argv[shell + 1] ?? "";
    if (/\bcurl\b/.test(script)) return fromCurlScript(script);
  }
  if (argv[0] === "curl") return fromCurlScript(argv.join(" "));
  return undefined;
}

/** Load generators for the tutorial's Jobs, with the lab's settings applied. */
export function loadGeneratorsFor(jobs: Array<{ file: string; obj: Obj }>, lab: Lab): LoadGenerator[] {
  const problems: string[] = [];
  const out: LoadGenerator[] = [];
  const used = new Set<number>();
  for (const job of jobs) {
    const md = isRecord(job.obj["metadata"]) ? job.obj["metadata"] : {};
    const jobName = String(md["name"] ?? "");
    const containers = containersOf(job.obj);
    const settings = lab.traffic.map((s, i) => ({ s, i })).filter(({ s }) => s.job === jobName);
    for (const { s, i } of settings) {
      used.add(i);
      if (s.container !== undefined && !containers.some((c) => c.name === s.container))
        problems.push(
          `${lab.file}: traffic[${i}].container: Job ${jobName} (${job.file}) has no container ${s.container}`,
        );
    }
    let any = false;
    for (const c of containers) {
      const derived = derive(c);
      const setting: TrafficSetting | undefined =
        settings.find(({ s }) => s.container === c.name)?.s ??
        settings.find(({ s }) => s.container === undefined)?.s;
      if (!derived && !settings.some(({ s }) => s.container === c.name)) continue; // e.g. busybox
      any = true;
      const d = derived ?? { headers: {} };
      const where = `${job.file}: Job ${jobName}: container ${c.name}`;
      const url = setting?.url ?? d.url;
      if (url === undefined || (setting?.url === undefined && d.problem)) {
        problems.push(
          `${where}: cannot derive the load: ${d.problem ?? "unrecognised command"}; set url in ${lab.file} traffic (job: ${jobName}, container: ${c.name})`,
        );
        continue;
      }
      const g: LoadGenerator = {
        name: `${jobName}/${c.name}`,
        url,
        headers: { ...d.headers, ...(setting?.headers ?? {}) },
        qps: setting?.qps ?? d.qps ?? 8,
        connections: setting?.connections ?? d.connections ?? 1,
        delayMs: setting?.delayMs ?? d.delayMs ?? 0,
      };
      const dur = setting?.durationMs ?? d.durationMs;
      if (dur !== undefined) g.durationMs = dur;
      out.push(g);
    }
    if (!any)
      problems.push(
        `${job.file}: Job ${jobName}: no container sends requests (curl or fortio load); describe it in ${lab.file} traffic`,
      );
  }
  lab.traffic.forEach((s, i) => {
    if (!used.has(i))
      problems.push(`${lab.file}: traffic[${i}].job: no batch/v1 Job named ${s.job} in the manifests`);
  });
  if (problems.length > 0) throw new TutorialError(problems);
  return out;
}
