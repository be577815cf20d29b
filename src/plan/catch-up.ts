// Catch-up: which ticks that fell during a handoff run on the target, late, and which are skipped.
//
// cutover does not leave this to the target's CronJob controller. The controller starts at most one missed
// tick, and it finds that tick with an estimate that overshoots on unevenly spaced schedules
// (`*/5 9-17 * * *` resumed at 18:00 after a run at 17:45 starts nothing for 17:55). So the target always
// gets the latest tick at or before now as its baseline (the controller has nothing left to catch up),
// and cutover creates the Job of each tick the policy runs itself, named and annotated as the controller
// would, so neither can start the same tick twice on that cluster. Pure: the handoff gathers the inputs,
// and the planner asks the same question of the estimated handoff window.
import type { ConcurrencyPolicy, ObservedCronJob } from '../core/types.js';
import type { MissedRunsPolicy } from '../config/types.js';
import { ticksBetween } from './schedule.js';

/** What became of one tick the handoff affected; persisted per CronJob and shown by `cutover status`. */
export interface TickRecord {
  /** The tick, ISO-8601 UTC. */
  tick: string;
  /**
   * `late`: run on the target after the handoff, by `job`; `skipped`: runs nowhere, by policy or deadline;
   * `source`: cutover waited for it and the source ran it (`job` on `cluster`).
   */
  outcome: 'late' | 'skipped' | 'source';
  cluster?: string;
  job?: string;
  reason?: string;
}

export interface CatchUpInput {
  policy: MissedRunsPolicy;
  /** With `all`: how many of the latest missed ticks run at most. */
  limit: number;
  /** The target copy's schedule fields: its controller runs the CronJob from now on. */
  schedule: string;
  timeZone?: string;
  startingDeadlineSeconds?: number;
  concurrencyPolicy: ConcurrencyPolicy;
  /** Ticks after this instant (exclusive) fell during the handoff; earlier ones are not its business. */
  windowFrom: number;
  /** The latest tick the source is proven to have run (lastScheduleTime or a Job's annotation). */
  sourceRan?: number;
  /** Ticks that have a Job on the source / on the target. */
  sourceJobTicks: ReadonlySet<number>;
  targetJobTicks: ReadonlySet<number>;
  /** The target copy has a Job still running (it blocks Forbid and Replace from starting another). */
  targetBusy: boolean;
  /** Jobs this handoff started already (an attempt before a crash): they count against the policy. */
  alreadyStarted?: number;
  now: number;
}

export interface CatchUpDecision {
  /** Ticks without a Job anywhere that fell during the handoff, ascending. */
  missed: number[];
  /** Ticks to create a Job for on the target now, ascending. */
  create: number[];
  /** Ticks that run nowhere, with why. */
  skip: { tick: number; reason: string }[];
}

/** The target copy's fields the decision reads: its controller runs the CronJob from now on. */
export function catchUpFields(
  target: Pick<ObservedCronJob, 'schedule' | 'timeZone' | 'startingDeadlineSeconds' | 'concurrencyPolicy'>,
): Pick<CatchUpInput, 'schedule' | 'timeZone' | 'startingDeadlineSeconds' | 'concurrencyPolicy'> {
  return {
    schedule: target.schedule,
    ...(target.timeZone !== undefined ? { timeZone: target.timeZone } : {}),
    ...(target.startingDeadlineSeconds !== undefined ? { startingDeadlineSeconds: target.startingDeadlineSeconds } : {}),
    concurrencyPolicy: target.concurrencyPolicy,
  };
}

/** More missed ticks than this are not even listed: the oldest beyond it are counted in one reason. */
const MAX_LISTED = 1000;

/** The ticks of the window that ran nowhere: after the window's start and the source's last run, up to now. */
export function missedTicks(input: Pick<CatchUpInput, 'schedule' | 'timeZone' | 'windowFrom' | 'sourceRan' | 'now' | 'sourceJobTicks' | 'targetJobTicks'>): number[] {
  const from = Math.max(input.windowFrom, input.sourceRan ?? Number.NEGATIVE_INFINITY);
  if (from >= input.now) return [];
  return ticksBetween(input.schedule, input.timeZone, new Date(from), new Date(input.now), MAX_LISTED)
    .map((tick) => tick.getTime())
    .filter((tick) => !input.sourceJobTicks.has(tick) && !input.targetJobTicks.has(tick));
}

/**
 * Which missed ticks run on the target. `skip` runs none. `latest` runs the latest one. `all` runs each,
 * up to `limit` (the latest ones), but only one under Forbid (never two at once) or Replace (each would
 * replace the one before). None runs past the CronJob's startingDeadlineSeconds, as the controller would
 * not start it either, nor under Forbid or Replace while a Job of the target copy still runs.
 */
export function decideCatchUp(input: CatchUpInput): CatchUpDecision {
  const missed = missedTicks(input);
  const skip: CatchUpDecision['skip'] = [];
  const create: number[] = [];
  const deadlineMs = input.startingDeadlineSeconds === undefined ? undefined : input.startingDeadlineSeconds * 1000;
  const oneAtATime = input.concurrencyPolicy !== 'Allow';
  const allowed = input.policy === 'skip' ? 0 : input.policy === 'latest' || oneAtATime ? 1 : input.limit;
  const wanted = Math.max(0, allowed - (input.alreadyStarted ?? 0));
  // Latest first: the policy keeps the most recent ticks.
  for (const tick of [...missed].reverse()) {
    const reason = skipReason(input, tick, deadlineMs, create.length, wanted);
    if (reason === undefined) create.push(tick);
    else skip.push({ tick, reason });
  }
  return { missed, create: create.reverse(), skip: skip.reverse() };
}

function skipReason(
  input: CatchUpInput,
  tick: number,
  deadlineMs: number | undefined,
  chosen: number,
  wanted: number,
): string | undefined {
  if (input.policy === 'skip') return 'missedRuns: skip';
  if (deadlineMs !== undefined && tick + deadlineMs < input.now) {
    return `past its startingDeadlineSeconds (${input.startingDeadlineSeconds}s): the controller would not start it either`;
  }
  if (input.targetBusy && input.concurrencyPolicy !== 'Allow') {
    return `concurrencyPolicy ${input.concurrencyPolicy}: a Job of the target copy is still running`;
  }
  if (chosen >= wanted) {
    if (input.alreadyStarted) return `this handoff already started ${input.alreadyStarted} Job(s) for missed ticks, as many as missedRuns: ${input.policy} allows`;
    if (input.policy === 'latest') return 'missedRuns: latest runs only the latest missed tick';
    if (input.concurrencyPolicy !== 'Allow') return `concurrencyPolicy ${input.concurrencyPolicy}: only the latest missed tick runs`;
    return `missedRunsLimit ${input.limit}: only the latest ${input.limit} missed ticks run`;
  }
  return undefined;
}

/** One line for the journal and the operator. */
export function describeTick(key: string, record: TickRecord): string {
  const tick = new Date(record.tick).toISOString().replace(/\.\d{3}Z$/, 'Z');
  switch (record.outcome) {
    case 'late':
      return `${key}: tick ${tick} ran late on ${record.cluster ?? 'the target'} as Job ${record.job ?? '?'} (created by cutover)`;
    case 'source':
      return `${key}: tick ${tick} ran on ${record.cluster ?? 'the source'} as Job ${record.job ?? '?'} before the handoff`;
    case 'skipped':
      return `${key}: tick ${tick} runs nowhere (${record.reason ?? 'skipped'})`;
  }
}
