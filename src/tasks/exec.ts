// `common/exec`: runs `cmd args...` directly, without a shell, so an interpolated value
// is always one argument and can never inject a command. Args are interpolated with `{{ }}` from the
// version recommended for promotion; that fails when no version is recommended (always the case in
// a start action) unless `disableInterpolation: true`.

import { recommendedVersion, templateData } from "./data.ts";
import { type Input, InputError, optBool, optList, problemsOf, reqString } from "./inputs.ts";
import { runChecked } from "./process.ts";
import { CURLY, hasActions, interpolate } from "./template.ts";
import type { TaskContext, TaskImpl } from "./types.ts";

function readArgs(input: Input): string[] {
  const args = optList(input, "args") ?? [];
  return args.map((a, i) => {
    if (a === null || typeof a === "object")
      throw new InputError(`with.args[${i}] must be a string or number`);
    return String(a);
  });
}

export const execTask: TaskImpl = {
  name: "common/exec",
  validate: (input) => [
    ...problemsOf(() => reqString(input, "cmd")),
    ...problemsOf(() => readArgs(input)),
    ...problemsOf(() => optBool(input, "disableInterpolation", false)),
  ],
  timeoutMs: () => 300_000,
  async run(ctx: TaskContext, input: Input) {
    const cmd = reqString(input, "cmd");
    let args = readArgs(input);
    if (!optBool(input, "disableInterpolation", false)) {
      const exp = ctx.experiment;
      if (!recommendedVersion(exp)) {
        const name = exp.status?.versionRecommendedForPromotion;
        throw new Error(
          name
            ? `versionRecommendedForPromotion "${name}" names no version of the experiment; cannot interpolate args (set disableInterpolation: true to run without)`
            : "no version is recommended for promotion yet; cannot interpolate args (set disableInterpolation: true to run without)",
        );
      }
      const data = templateData(exp, { withThis: false });
      args = args.map((a) => (hasActions(a, CURLY) ? interpolate(a, data, CURLY) : a));
    }
    ctx.log(`$ ${[cmd, ...args].map(quoteForLog).join(" ")}\n`);
    const result = await runChecked(cmd, args, {
      env: ctx.env,
      timeoutMs: ctx.timeoutMs,
      signal: ctx.signal,
    }).catch((err) => {
      if (err?.result?.output) ctx.log(err.result.output);
      throw err;
    });
    ctx.log(result.output);
  },
};

/** Shows argv unambiguously in the log (the command itself is never run through a shell). */
export function quoteForLog(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
