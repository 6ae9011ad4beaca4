// Waiting for an experiment to settle, for `iter8 assert --timeout`: it has completed, or its run is
// known to be dead (it will not complete by itself). The same loop serves every place an experiment
// is read from (a file, a local state directory, a cluster): the caller's `read` reads it again on
// each poll, and the clock is injected so that tests need not wait.

import type { Experiment } from "../api/types.ts";
import { systemClock } from "../engine/clock.ts";
import type { Clock } from "../engine/ports.ts";
import { isCompleted } from "../engine/status.ts";
import { outcomeOf, type RunLiveness } from "../report/outcome.ts";

export interface Settling {
  experiment: Experiment;
  liveness?: RunLiveness;
}

export function settled(found: Settling): boolean {
  return isCompleted(found.experiment) || outcomeOf(found.experiment, found.liveness).interrupted;
}

/**
 * Reads the experiment; while `tolerant`, one that does not exist (yet) is undefined instead of an
 * error, since it may be created soon.
 */
export type SettleReader<T extends Settling> = (tolerant: boolean) => Promise<T | undefined>;

export interface SettleOptions {
  /** How long to wait; 0 reads once. */
  timeoutMs: number;
  /** Between reads of an experiment that exists (default 200 ms). */
  pollMs?: number;
  /** Between reads while it does not exist yet (default 500 ms). */
  missingPollMs?: number;
  clock?: Clock;
}

/**
 * The experiment once settled, or as last read when `timeoutMs` ran out first. A read after the
 * deadline is not tolerant, so an experiment that never appeared ends in the reader's error.
 */
export async function waitUntilSettled<T extends Settling>(
  read: SettleReader<T>,
  opts: SettleOptions,
): Promise<T> {
  const clock = opts.clock ?? systemClock;
  const now = () => clock.now().getTime();
  const { timeoutMs } = opts;
  const deadline = now() + timeoutMs;
  let found = await read(timeoutMs > 0);
  while (timeoutMs > 0 && now() < deadline && !(found && settled(found))) {
    const pause = found ? (opts.pollMs ?? 200) : (opts.missingPollMs ?? 500);
    await clock.sleep(Math.min(pause, deadline - now()));
    found = (await read(now() < deadline)) ?? found;
  }
  return found ?? (await read(false))!;
}
