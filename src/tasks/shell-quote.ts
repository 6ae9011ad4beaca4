// Shell-safe interpolation for `common/bash` and `run:` scripts. A value inserted into a script is
// quoted for the place it lands in: bare words get single quotes, text inside "…" gets `\ $ ` "`
// escaped, text inside '…' gets its `'` closed and reopened. Either way the shell sees the value as
// literal text: a version name holding `;`, `$( )`, backticks or a quote runs nothing. Scripts that
// really mean to insert shell syntax opt out per action with `raw` (`{{ raw .x }}`).

/** Where the next character of a script lands, as bash reads it (the quoting that matters here). */
type Context = "bare" | "double" | "single";

/** Tracks the quoting context across the literal parts of a script, in order. */
export class ShellQuoter {
  #context: Context = "bare";
  #escaped = false;

  /** Feeds a literal part of the script (as the user wrote it). */
  feed(text: string): void {
    for (const c of text) {
      if (this.#escaped) {
        this.#escaped = false;
        continue;
      }
      if (this.#context === "single") {
        if (c === "'") this.#context = "bare";
      } else if (c === "\\") {
        this.#escaped = true;
      } else if (this.#context === "double") {
        if (c === '"') this.#context = "bare";
      } else if (c === "'") {
        this.#context = "single";
      } else if (c === '"') {
        this.#context = "double";
      }
    }
  }

  /** `value` quoted for the current context; the context is the same after it. */
  quote(value: string): string {
    if (this.#escaped) {
      // After a backslash: the backslash escapes the first character of what we insert; keep that
      // character literal and quote the rest.
      this.#escaped = false;
      return value === "" ? "" : value[0] + this.quote(value.slice(1));
    }
    if (this.#context === "double") return value.replace(/[\\$`"]/g, (c) => `\\${c}`);
    if (this.#context === "single") return value.replaceAll("'", `'\\''`);
    return shellWord(value);
  }
}

/** One shell word with the value's exact text: as is when that is safe, else single-quoted. */
export function shellWord(value: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
