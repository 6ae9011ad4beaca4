// Exponential backoff, the one formula every retry loop in iter8 uses.

/** `baseMs` doubled for each attempt after the first (`attempt` counts from 1), at most `maxMs`. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  const n = Math.max(1, Math.floor(attempt));
  // 2 ** n overflows to Infinity for a huge attempt count; Math.min turns that into the cap.
  return Math.min(maxMs, baseMs * 2 ** (n - 1));
}
