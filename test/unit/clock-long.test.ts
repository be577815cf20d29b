// Issue 14: a wait longer than Node's timer limit (~24.8 days) must never end early. Before the fix a
// `25d` soak returned after a few ms with a TimeoutOverflowWarning.
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { MAX_TIMER_MS, setLongTimeout } from '../../src/core/timer.js';

const DAY = 86_400_000;

describe('long waits on the system clock (issue 14)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('a 30-day sleep does not end before 30 days of virtual time, and ends right after', async () => {
    let done = false;
    const sleeping = systemClock.sleep(30 * DAY).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(done, 'ended after 1 s').toBe(false);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS);
    expect(done, 'ended at the 32-bit timer limit').toBe(false);
    await vi.advanceTimersByTimeAsync(30 * DAY - MAX_TIMER_MS - 1_000 - 1);
    expect(done, 'ended 1 ms early').toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await sleeping;
    expect(done).toBe(true);
  });

  test('an abort stops a 30-day sleep at once', async () => {
    const controller = new AbortController();
    const sleeping = systemClock.sleep(30 * DAY, controller.signal);
    await vi.advanceTimersByTimeAsync(5 * DAY);
    controller.abort(new Error('stopped'));
    await expect(sleeping).rejects.toThrow('stopped');
    expect(vi.getTimerCount(), 'no timer left behind').toBe(0);
  });

  test('setLongTimeout fires once at its due time and can be cancelled between pieces', async () => {
    const fired = vi.fn();
    setLongTimeout(fired, 60 * DAY);
    await vi.advanceTimersByTimeAsync(60 * DAY - 1);
    expect(fired).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toHaveBeenCalledTimes(1);

    const cancelled = vi.fn();
    const timer = setLongTimeout(cancelled, 40 * DAY);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 10);
    timer.cancel();
    await vi.advanceTimersByTimeAsync(40 * DAY);
    expect(cancelled).not.toHaveBeenCalled();
  });
});
