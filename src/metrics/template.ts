// Query templates of Metric resources. Interpolation follows Python's
// `string.Template.safe_substitute`, which the original analytics used: `$name` and `${name}`
// placeholders, `$$` for a literal dollar, and anything unknown or malformed left exactly as written
// (never an error), so PromQL such as `[${elapsedTime}s]` and stray `$` signs survive.

import { namespaceOf } from "../api/refs.ts";
import type { Experiment, VersionDetail } from "../api/types.ts";

/** Python's default `idpattern` (ASCII, case-insensitive): a letter or `_`, then letters, digits, `_`. */
const PLACEHOLDER = /\$(?:(\$)|([_a-z][_a-z0-9]*)|\{([_a-z][_a-z0-9]*)\})/gi;

/** `string.Template(template).safe_substitute(vars)`. */
export function safeSubstitute(template: string, vars: Readonly<Record<string, string>>): string {
  return template.replace(PLACEHOLDER, (whole, escaped?: string, named?: string, braced?: string) => {
    if (escaped !== undefined) return "$";
    const key = (named ?? braced) as string;
    return Object.hasOwn(vars, key) ? (vars[key] as string) : whole;
  });
}

/** Placeholder names a template refers to (escaped `$$` excluded), in order of first use. */
export function placeholders(template: string): string[] {
  const seen = new Set<string>();
  for (const m of template.matchAll(PLACEHOLDER)) {
    const key = m[2] ?? m[3];
    if (key !== undefined) seen.add(key);
  }
  return [...seen];
}

/**
 * Whole seconds from `startTime` to `now`, at least 1 (a zero-length PromQL range is invalid, and the
 * original clamps the same way). Returns undefined when `startTime` is absent or not a timestamp.
 */
export function elapsedSeconds(startTime: string | undefined, now: Date): number | undefined {
  if (startTime === undefined) return undefined;
  const start = Date.parse(startTime);
  if (Number.isNaN(start)) return undefined;
  return Math.max(1, Math.floor((now.getTime() - start) / 1000));
}

/**
 * The variables a version's queries see: `elapsedTime` (seconds, no unit: queries write
 * `[${elapsedTime}s]`), `interval` (the same with an `s`, for v2alpha1 queries), `name` (the version name), `namespace` (the experiment's), then every
 * `versionInfo` variable of the version, inserted last so a variable can override any of them (the
 * original inserts variables after `name`; `namespace` set by `knative/init-experiment` wins too).
 */
export function versionVariables(
  experiment: Experiment,
  version: VersionDetail,
  elapsed: number,
): Record<string, string> {
  const vars: Record<string, string> = {
    elapsedTime: String(elapsed),
    // v2alpha1's name for the same window, with its unit (`[$interval]`); v2alpha1 Metrics are
    // upgraded to the v2alpha2 shape, so this is how their queries keep working.
    interval: `${elapsed}s`,
    name: version.name,
    namespace: namespaceOf(experiment),
  };
  for (const v of version.variables ?? []) vars[v.name] = v.value;
  return vars;
}
