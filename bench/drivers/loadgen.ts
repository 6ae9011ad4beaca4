// Runs our load generator in a fresh process (so earlier runs leave no JIT or GC state behind) and
// prints its LoadResult as one JSON line. Usage: loadgen.ts '<LoadOptions JSON>'.

import { runLoad } from "../../src/loadgen/index.ts";

const opts = JSON.parse(process.argv[2] ?? "{}");
const result = await runLoad(opts);
const { histogram: _omit, ...rest } = result;
process.stdout.write(`${JSON.stringify(rest)}\n`);
