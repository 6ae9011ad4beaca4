// The `pre<script>` hook of every npm script: refuses a Node.js too old for iter8 in the one line the
// CLI gives (src/cli/node-version.ts), instead of a test runner or compiler error further on (Node
// 20's test runner, for one, does not expand the test globs). Plain JavaScript, so it runs on any
// Node: it evaluates node-version.ts, which is written in the JavaScript subset of TypeScript.
// ITER8_CHECK_NODE_VERSION stands in for the running version (for tests).

import { readFileSync } from "node:fs";

const source = readFileSync(new URL("../src/cli/node-version.ts", import.meta.url), "utf8");
const { unsupportedNode } = await import(`data:text/javascript,${encodeURIComponent(source)}`);
const why = unsupportedNode(process.env.ITER8_CHECK_NODE_VERSION || process.versions.node);
if (why) {
  process.stderr.write(`iter8: ${why}\n`);
  process.exit(1);
}
