// In which order, and when, CronJobs are handed off. A tick that falls between "suspend on source" and
// "resume on target" runs on neither copy at its time (missedRuns: skip drops it, run-once starts it late
// on the target). Handing off right after a tick leaves a whole schedule interval for the handoff, so:
//   - copies enabled on both clusters go first: every tick of theirs runs twice until the target is
//     suspended;
//   - then the CronJob whose next tick is furthest away, down to the one whose tick is closest: the
//     closest ticks fire on the source while the earlier handoffs run, and by the time a worker takes
//     such a CronJob its next tick is usually a full interval away again;
//   - a CronJob whose next tick is still closer than the guard window when its handoff would start waits
//     until just after that tick (see `quietStart`), so the tick runs on the source.
import type { CronJobPlanEntry } from '../../plan/types.js';
import { nextTicks } from '../../plan/schedule.js';
import type { HandoffTiming } from './context.js';

export function nextTick(schedule: string, timeZone: string | undefined, now: Date): Date | undefined {
  return nextTicks(schedule, timeZone, now, 1)[0];
}

export function handoffOrder(entries: readonly CronJobPlanEntry[], now: Date): CronJobPlanEntry[] {
  const keyed = entries.map((entry, index) => ({
    entry,
    index,
    urgent: entry.action === 'suspend-target-then-move',
    next: nextTick(entry.schedule, entry.timeZone, now)?.getTime() ?? Number.POSITIVE_INFINITY,
  }));
  keyed.sort((a, b) => Number(b.urgent) - Number(a.urgent) || b.next - a.next || a.index - b.index);
  return keyed.map((k) => k.entry);
}

/**
 * When a handoff that would start at `now` should start: at once, or, when the next tick is closer than
 * the guard window, just after that tick (the margin gives the source controller time to start its Job).
 */
export function quietStart(
  schedule: string,
  timeZone: string | undefined,
  now: Date,
  timing: Pick<HandoffTiming, 'tickGuardMs' | 'tickMarginMs'>,
): { at: Date; tick?: Date } {
  const tick = nextTick(schedule, timeZone, now);
  if (!tick || tick.getTime() - now.getTime() >= timing.tickGuardMs) return { at: now };
  return { at: new Date(tick.getTime() + timing.tickMarginMs), tick };
}
