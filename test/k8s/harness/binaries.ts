// Where the kube-apiserver and etcd binaries built by scripts/k8s/build-binaries.sh live.
// Missing binaries are an error, never a silent skip: CI must not pass without a control plane.
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export interface Binaries {
  apiserver: string;
  etcd: string;
}

const BUILD_HINT = "run scripts/k8s/build-binaries.sh (it prints and caches the paths)";

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.ITER8_K8S_CACHE || join(homedir(), ".cache", "iter8-k8s");
}

/** Parses the `export KEY=VALUE` lines the build script writes to <cache>/env. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m?.[1]) throw new Error(`unparseable line in env file: ${JSON.stringify(raw)}`);
    let value = m[2] ?? "";
    if (value.length >= 2 && (value[0] === "'" || value[0] === '"') && value.endsWith(value[0])) {
      value = value.slice(1, -1);
    }
    out[m[1]] = value;
  }
  return out;
}

function checkExecutable(name: string, path: string, source: string): string {
  try {
    if (!statSync(path).isFile()) throw new Error("not a regular file");
    accessSync(path, constants.X_OK);
  } catch (err) {
    throw new Error(
      `${name} binary ${path} (from ${source}) is not usable: ${(err as Error).message}; ${BUILD_HINT}`,
    );
  }
  return path;
}

/** ITER8_KUBE_APISERVER / ITER8_ETCD from the environment, else from <cache>/env. */
export function resolveBinaries(env: NodeJS.ProcessEnv = process.env): Binaries {
  let apiserver = env.ITER8_KUBE_APISERVER;
  let etcd = env.ITER8_ETCD;
  let source = "environment";
  if (!apiserver || !etcd) {
    const envFile = join(cacheDir(env), "env");
    let fromFile: Record<string, string>;
    try {
      fromFile = parseEnvFile(readFileSync(envFile, "utf8"));
    } catch (err) {
      throw new Error(
        `no control plane binaries: ITER8_KUBE_APISERVER/ITER8_ETCD are not set and ${envFile} cannot be read (${(err as Error).message}); ${BUILD_HINT}`,
      );
    }
    apiserver ||= fromFile.ITER8_KUBE_APISERVER;
    etcd ||= fromFile.ITER8_ETCD;
    source = envFile;
    if (!apiserver || !etcd) {
      throw new Error(`${envFile} does not define ITER8_KUBE_APISERVER and ITER8_ETCD; ${BUILD_HINT}`);
    }
  }
  return {
    apiserver: checkExecutable("kube-apiserver", apiserver, source),
    etcd: checkExecutable("etcd", etcd, source),
  };
}

const TOOL_HINTS = {
  ITER8_KUBECTL: "scripts/k8s/build-binaries.sh",
  ITER8_HELM: "scripts/k8s/build-helm.sh",
  ITER8_GATEWAY_API_CRDS: "scripts/k8s/fetch-gateway-api.sh",
} as const;

/**
 * A test tool from the environment, else from <cache>/env: the kubectl and helm binaries, or the
 * directory of Gateway API CRDs. Missing is an error naming the script that provides it.
 */
export function resolveTool(key: keyof typeof TOOL_HINTS, env: NodeJS.ProcessEnv = process.env): string {
  const hint = `run ${TOOL_HINTS[key]} (it caches it and records the path in <cache>/env)`;
  let value = env[key];
  let source = "environment";
  if (!value) {
    const envFile = join(cacheDir(env), "env");
    try {
      value = parseEnvFile(readFileSync(envFile, "utf8"))[key];
    } catch (err) {
      throw new Error(`${key} is not set and ${envFile} cannot be read (${(err as Error).message}); ${hint}`);
    }
    source = envFile;
    if (!value) throw new Error(`${key} is not set in the environment or in ${envFile}; ${hint}`);
  }
  if (key === "ITER8_GATEWAY_API_CRDS") {
    if (!statSync(value, { throwIfNoEntry: false })?.isDirectory())
      throw new Error(`${key}=${value} (from ${source}) is not a directory; ${hint}`);
    return value;
  }
  return checkExecutable(key === "ITER8_HELM" ? "helm" : "kubectl", value, source);
}
