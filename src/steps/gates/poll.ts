// Waiting with absolute deadlines. Deadlines come from the step runtime, which stores them the first time,
// so a resumed run waits for what is left, never for the whole duration again.
import type { Clock } from '../../core/clock.js';

/** Sleeps until `until` (no-op when it has passed). */
export async function sleepUntil(clock: Clock, until: Date, signal?: AbortSignal): Promise<void> {
  const ms = until.getTime() - clock.now().getTime();
  if (ms > 0) await clock.sleep(ms, signal);
}

/** Sleeps `ms`, but never past `until`; false when the deadline has already passed. */
export async function pauseBefore(clock: Clock, ms: number, until: Date, signal?: AbortSignal): Promise<boolean> {
  const left = until.getTime() - clock.now().getTime();
  if (left <= 0) return false;
  await clock.sleep(Math.min(ms, left), signal);
  return true;
}

/** Growing pauses for polling an eventually-consistent answer: 2s, 4s, 8s, then every 15s. */
export function pollPauseMs(attempt: number, firstMs = 2_000, maxMs = 15_000): number {
  return Math.min(maxMs, firstMs * 2 ** Math.max(0, attempt - 1));
}
