// Checks of an Experiment's size and shape beyond its schema, and of the values that end up in
// commands and URLs. Kept apart from validate.ts's rules, which concern meaning.

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export interface SafetyProblem {
  path: string;
  message: string;
}

/** A DNS label (RFC 1123), as Kubernetes names are: also safe in URLs and shell words. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Characters that need no quoting in a URL path or query, nor in a shell word. */
const URL_SAFE = /^[A-Za-z0-9._~:/@%+,=-]*$/;

/**
 * Version names that are not DNS labels and variable values that are not URL-safe: they reach
 * task scripts, metric URLs and commands, where only quoting keeps them literal.
 */
export function unsafeNameWarnings(versions: { path: string; v: Obj }[]): SafetyProblem[] {
  const out: SafetyProblem[] = [];
  for (const { path, v } of versions) {
    const name = v["name"];
    if (typeof name === "string" && name !== "" && !(name.length <= 63 && DNS_LABEL.test(name))) {
      out.push({
        path: `${path}.name`,
        message: `${quoted(name)} is not a DNS label (lower-case letters, digits and '-', at most 63); it reaches scripts and URLs`,
      });
    }
    if (!Array.isArray(v["variables"])) continue;
    v["variables"].forEach((variable, j) => {
      if (!isObj(variable)) return;
      const value = variable["value"];
      if (typeof value === "string" && !URL_SAFE.test(value)) {
        out.push({
          path: `${path}.variables[${j}].value`,
          message: `${quoted(value)} has characters that are not URL-safe; scripts get it shell-quoted, URLs as written`,
        });
      }
    });
  }
  return out;
}

function quoted(s: string): string {
  const short = s.length > 60 ? `${s.slice(0, 60)}…` : s;
  return JSON.stringify(short);
}
