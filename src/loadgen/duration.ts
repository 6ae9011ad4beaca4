// Go-style duration strings ("250ms", "10s", "2m", "1h30m", "1.5s") to milliseconds. The seeds and
// Fortio write durations this way, so `iter8 load --duration` and library callers accept the same.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/** Parses a duration; a bare number means seconds. Throws an Error naming `field` on bad input. */
export function parseDuration(text: string, field = "duration"): number {
  const s = text.trim();
  if (s === "") throw new Error(`${field}: empty duration`);
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  let total = 0;
  PART.lastIndex = 0;
  let pos = 0;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) throw new Error(`${field}: invalid duration "${text}" (use e.g. 500ms, 10s, 2m, 1h30m)`);
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = PART.lastIndex;
  }
  return total;
}

/** Formats milliseconds compactly for summaries: 850ms, 12.5s, 2m30s. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${round(ms, 3)}ms`;
  if (ms < 60_000) return `${round(ms / 1000, 3)}s`;
  const m = Math.floor(ms / 60_000);
  const rest = ms - m * 60_000;
  return rest === 0 ? `${m}m` : `${m}m${round(rest / 1000, 3)}s`;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
