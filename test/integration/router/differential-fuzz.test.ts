// Fuzzer of request mutations with the differential oracle (differential-harness.ts): the framing cases,
// mutated by inserting, deleting and replacing bytes and fragments that matter to HTTP/1.1 framing.
// Bounded: a fixed number of runs per engine and upstream parser, and a time limit for each (longer
// campaigns: ROUTER_FUZZ_RUNS=400 ROUTER_FUZZ_MS=60000).

import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { CASES } from "./differential.test.ts";
import { type Differential, startDifferential } from "./differential-harness.ts";

const RUNS = Number(process.env["ROUTER_FUZZ_RUNS"] ?? 40);
const TIME_LIMIT_MS = Number(process.env["ROUTER_FUZZ_MS"] ?? 10_000);
const LAST = "GET /last HTTP/1.1\r\nHost: diff.test\r\nConnection: close\r\n\r\n";

const FRAGMENTS = [
  "\r\n",
  "\n",
  "\r",
  " ",
  "\t",
  ":",
  ";",
  ",",
  "=",
  '"',
  "0",
  "5",
  "f",
  "\u0000",
  "\u00ff",
  "chunked",
  "identity",
  "close",
  "content-length",
  "Content-Length: 5\r\n",
  "Content-Length: 0\r\n",
  "Transfer-Encoding: chunked\r\n",
  "Connection: content-length\r\n",
  "Connection: transfer-encoding\r\n",
  "Host: other.test\r\n",
  "X: 1\r\n",
  "\r\n\r\n",
  "0\r\n\r\n",
  "5\r\nhello\r\n",
  "GET /in HTTP/1.1\r\nHost: diff.test\r\n\r\n",
  "http://other.test",
  "HTTP/1.0",
];

type Mutation =
  | { kind: "insert"; at: number; text: string }
  | { kind: "delete"; at: number; length: number }
  | { kind: "replace"; at: number; text: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.constantFrom(...FRAGMENTS) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), text: fc.constantFrom(...FRAGMENTS) }),
);

function mutate(base: string, ms: readonly Mutation[]): string {
  let s = base;
  for (const m of ms) {
    const at = s.length === 0 ? 0 : m.at % (s.length + 1);
    if (m.kind === "insert") s = s.slice(0, at) + m.text + s.slice(at);
    else if (m.kind === "delete") s = s.slice(0, at) + s.slice(at + m.length);
    else s = s.slice(0, at) + m.text + s.slice(at + m.text.length);
  }
  return s;
}

const input = fc
  .tuple(fc.constantFrom(...Object.values(CASES)), fc.array(mutation, { minLength: 1, maxLength: 3 }))
  .map(([base, ms]) => mutate(base + LAST, ms));

for (const engine of ["fast", "node"] as const) {
  for (const insecure of [false, true]) {
    describe(`differential fuzzing (${engine} engine, ${insecure ? "lenient" : "strict"} upstream)`, () => {
      let d: Differential;
      before(async () => {
        d = await startDifferential(engine, insecure);
      });
      after(async () => {
        await d.close();
      });
      it(`${RUNS} mutated request streams keep the upstream's and the client's views equal`, async () => {
        await fc.assert(
          fc.asyncProperty(input, async (text) => {
            await d.check(Buffer.from(text, "latin1"), "mutated");
          }),
          { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, endOnFailure: true },
        );
      });
    });
  }
}
