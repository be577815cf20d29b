// Baseline: before the target copy is resumed, its status.lastScheduleTime is set so the CronJob controller
// finds no missed tick it would start at once. The controller looks for the most recent tick in
// (lastScheduleTime ?? creationTimestamp, now] (the lower end raised to now - startingDeadlineSeconds when
// set); a target that was suspended for a while would otherwise start a Job the moment it is resumed, for
// a tick the source already ran.
import type { MissedRunsPolicy } from '../../config/types.js';
import type { ObservedCronJob } from '../../core/types.js';
import { latestTick } from '../../plan/schedule.js';
import type { HandoffContext } from './context.js';
import { isoOrNever, kubeTime, latest, toMs } from './ticks.js';
import { writeBaseline } from './writes.js';

export interface BaselineChoice {
  /** The lastScheduleTime the target needs; undefined when the schedule has no tick at or before now. */
  time?: Date;
  reason: string;
}

/**
 * Which lastScheduleTime the target copy gets: the latest tick at or before now of the target's own
 * schedule (the one its controller evaluates), so the controller finds no missed tick to start when it is
 * resumed; the ticks missed during the handoff that the policy runs are started by cutover itself
 * (./catch-up.ts). Never earlier than the source's lastScheduleTime: a tick the source started must never
 * look missed to the target, even when the source controller's clock runs ahead of ours.
 */
export function chooseBaseline(
  missedRuns: MissedRunsPolicy,
  target: Pick<ObservedCronJob, 'schedule' | 'timeZone'>,
  sourceLastScheduleTime: string | undefined,
  now: Date,
): BaselineChoice {
  const sourceLast = toMs(sourceLastScheduleTime);
  const tick = latestTick(target.schedule, target.timeZone, now);
  const time = latest(tick, sourceLast === undefined ? undefined : new Date(sourceLast));
  const found = tick
    ? `the latest tick at or before ${kubeTime(now)} is ${kubeTime(tick)}`
    : `no tick at or before ${kubeTime(now)}`;
  const later = time && tick && time.getTime() > tick.getTime() ? `; the source already ran ${kubeTime(time)}` : '';
  const missed = missedRuns === 'skip' ? 'skip' : `${missedRuns} (cutover starts the missed ticks it runs itself)`;
  return { ...(time ? { time } : {}), reason: `missedRuns: ${missed}: ${found}${later}` };
}

export interface Baselined {
  target: ObservedCronJob;
  /** The lastScheduleTime the target holds now. */
  baseline?: string;
  reason: string;
  wrote: boolean;
}

/** Writes the baseline unless the target already holds it or a later tick. */
export async function ensureBaseline(
  ctx: HandoffContext,
  source: ObservedCronJob,
  target: ObservedCronJob,
): Promise<Baselined> {
  const choice = chooseBaseline(ctx.policy.missedRuns, target, source.lastScheduleTime, ctx.clock.now());
  const held = toMs(target.lastScheduleTime);
  if (choice.time === undefined) {
    return { target, ...withBaseline(target.lastScheduleTime), reason: choice.reason, wrote: false };
  }
  if (held !== undefined && held >= choice.time.getTime()) {
    const reason = `${choice.reason}; the target already holds ${isoOrNever(target.lastScheduleTime)}`;
    return { target, ...withBaseline(target.lastScheduleTime), reason, wrote: false };
  }
  const written = await writeBaseline(ctx, target, choice.time);
  return { target: written, ...withBaseline(written.lastScheduleTime), reason: choice.reason, wrote: true };
}

const withBaseline = (value: string | undefined): { baseline?: string } => (value === undefined ? {} : { baseline: value });
