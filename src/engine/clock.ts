// The real clock, for production use (tests inject their own).

import { setTimeout as delay } from "node:timers/promises";
import type { Clock } from "./ports.ts";

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: async (ms: number, signal?: AbortSignal) => {
    await delay(Math.max(0, ms), undefined, signal ? { signal } : undefined);
  },
};
