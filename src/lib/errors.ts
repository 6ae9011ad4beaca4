// What a caught value says: an Error's message, anything else as a string (a thrown string, a
// rejection with no Error). One rule, so every message built from a failure reads the same.

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Whether a rejection is an abort (an AbortSignal fired), not a failure. */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === "AbortError";
}
