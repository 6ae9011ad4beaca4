// `common/bash`: a script interpolated with `{{ }}` and run with `/bin/bash -c`; and
// `run:` scripts, interpolated with `@< >@` (with `.Secret "key"` when `with.secret` names a secret)
// and run the same way with SCRATCH_DIR set. The shell is explicit here: the user wrote a script.
// Interpolated values are shell-quoted for where they land (shell-quote.ts), so a version name or
// variable is always literal text; `{{ raw .x }}` / `@< raw .x >@` inserts a value as shell syntax.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { namespaceOf } from "../api/refs.ts";
import { templateData } from "./data.ts";
import { type Input, optString, parseObjectRef, problemsOf, reqString } from "./inputs.ts";
import { runChecked } from "./process.ts";
import { ANGLE, CURLY, interpolate } from "./template.ts";
import type { TaskContext, TaskImpl } from "./types.ts";

export const BASH = "/bin/bash";

async function runScript(ctx: TaskContext, script: string, env: NodeJS.ProcessEnv): Promise<void> {
  try {
    const result = await runChecked(BASH, ["-c", script], {
      env,
      timeoutMs: ctx.timeoutMs,
      signal: ctx.signal,
    });
    ctx.log(result.output);
  } catch (err) {
    const output = (err as { result?: { output?: string } }).result?.output;
    if (output) ctx.log(output);
    throw err;
  }
}

export const bashTask: TaskImpl = {
  name: "common/bash",
  validate: (input) => problemsOf(() => reqString(input, "script")),
  timeoutMs: () => 300_000,
  async run(ctx, input) {
    const script = interpolate(
      reqString(input, "script"),
      templateData(ctx.experiment, { withThis: true }),
      CURLY,
      { quote: "shell" },
    );
    await runScript(ctx, script, ctx.env);
  },
};

/** Secrets of a task's `with.secret` (`ns/name` or name in the experiment's namespace). */
export async function readTaskSecret(
  ctx: TaskContext,
  input: Input,
): Promise<Record<string, string> | undefined> {
  const ref = optString(input, "secret");
  if (!ref) return undefined;
  const key = parseObjectRef(ref, namespaceOf(ctx.experiment), "secret");
  const data = await ctx.platform.getSecret(key);
  if (!data) throw new Error(`secret ${key.namespace}/${key.name} not found`);
  return data;
}

/** The `run:` entry of an action: its script comes from the entry, its inputs from `with`. */
export function runScriptTask(script: string): TaskImpl {
  return {
    name: "run",
    validate: (input) => problemsOf(() => optString(input, "secret")),
    timeoutMs: () => 300_000,
    async run(ctx, input) {
      const secret = await readTaskSecret(ctx, input);
      const data = templateData(ctx.experiment, {
        withThis: true,
        goFields: true,
        ...(secret ? { secret } : {}),
      });
      const rendered = interpolate(script, data, ANGLE, { quote: "shell" });
      const scratch = await mkdtemp(join(tmpdir(), "iter8-scratch-"));
      try {
        await runScript(ctx, rendered, { ...ctx.env, SCRATCH_DIR: scratch });
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },
  };
}
