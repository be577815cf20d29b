// Node's setTimeout holds its delay in a signed 32-bit field: anything longer than about 24.8 days is
// replaced by 1 ms (with a TimeoutOverflowWarning), so a long soak would end at once. Waits here are
// chained out of pieces below that limit, and each piece measures what is left on the wall clock, so a
// wait never ends early whatever its length.

/** The longest delay setTimeout takes as given (2^31 - 1 ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimeout {
  cancel(): void;
}

/** Calls `fire` once `ms` have passed (any length, even beyond MAX_TIMER_MS); `cancel` stops it. */
export function setLongTimeout(fire: () => void, ms: number, now: () => number = Date.now): LongTimeout {
  const due = now() + Math.max(0, Number.isFinite(ms) ? ms : MAX_TIMER_MS);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let cancelled = false;
  const arm = (): void => {
    const left = due - now();
    if (left <= 0) {
      timer = undefined;
      fire();
      return;
    }
    timer = setTimeout(() => {
      if (!cancelled) arm();
    }, Math.min(left, MAX_TIMER_MS));
  };
  arm();
  return {
    cancel: () => {
      cancelled = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
