// Runs the catch-up decision of ./catch-up.ts against the clusters: records the ticks the handoff affected
// and starts, on the target, the Job of each missed tick the policy runs. Called with both copies
// suspended, right after a read showed the source still suspended and drained, and before the target is
// resumed. Safe to repeat after a crash: ticks already recorded are not recorded again, a Job a crashed
// attempt started is found on the target (its name is the tick's), and the count of Jobs cutover starts
// for one handoff never exceeds what the policy allows.
import type { ObservedCronJob, ObservedJob } from '../../core/types.js';
import { jobFinished, refKey } from '../../core/types.js';
import type { HandoffContext } from './context.js';
import { catchUpFields, decideCatchUp, describeTick, missedTicks, type CatchUpInput, type TickRecord } from '../../plan/catch-up.js';
import { jobTick, toMs } from './ticks.js';

export interface MissedTicksOutcome {
  records: TickRecord[];
  /** Jobs started on the target by this call. */
  started: number;
}

const tickSet = (jobs: ObservedJob[]): Set<number> =>
  new Set(jobs.map(jobTick).filter((tick): tick is number => tick !== undefined));

const maxOf = (...values: (number | undefined)[]): number | undefined => {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length === 0 ? undefined : Math.max(...defined);
};

/** `sourceJobs`: every Job of the source copy, read after its suspend was confirmed. */
export async function handleMissedTicks(
  ctx: HandoffContext,
  source: ObservedCronJob,
  target: ObservedCronJob,
  sourceJobs: ObservedJob[],
): Promise<MissedTicksOutcome> {
  const key = refKey(target);
  const progress = ctx.progress(target);
  const records = [...(progress.ticks ?? [])];
  const known = new Set(records.map((r) => r.tick));
  const fresh: TickRecord[] = [];
  const add = (record: TickRecord): void => {
    if (known.has(record.tick)) return;
    known.add(record.tick);
    records.push(record);
    fresh.push(record);
  };
  const now = ctx.clock.now().getTime();
  const sourceJobTicks = tickSet(sourceJobs);
  const sourceRan = maxOf(toMs(source.lastScheduleTime), ...sourceJobTicks);
  await confirmAwaitedTick(ctx, key, progress.awaitedTick, sourceRan, sourceJobs, add);

  const input: CatchUpInput = {
    policy: ctx.policy.missedRuns,
    limit: ctx.policy.missedRunsLimit,
    ...catchUpFields(target),
    windowFrom: toMs(progress.missedFrom) ?? toMs(progress.startedAt) ?? now,
    ...(sourceRan !== undefined ? { sourceRan } : {}),
    sourceJobTicks,
    targetJobTicks: new Set(),
    targetBusy: false,
    now,
  };
  let started = 0;
  // Most handoffs miss no tick: the target's Jobs are read only when one did.
  if (missedTicks(input).length > 0) {
    const targetJobs = await ctx.target.listJobs(target.namespace, target.uid);
    const ours = lateJobsOf(targetJobs, input.windowFrom);
    for (const job of ours) add({ tick: new Date(jobTick(job)!).toISOString(), outcome: 'late', cluster: ctx.target.name, job: job.name });
    const decision = decideCatchUp({
      ...input,
      targetJobTicks: tickSet(targetJobs),
      targetBusy: targetJobs.some((job) => !jobFinished(job)),
      alreadyStarted: ours.length,
    });
    for (const { tick, reason } of decision.skip) add({ tick: new Date(tick).toISOString(), outcome: 'skipped', reason });
    for (const tick of decision.create) {
      const job = await startLate(ctx, target, tick);
      started += 1;
      add({ tick: new Date(tick).toISOString(), outcome: 'late', cluster: ctx.target.name, job });
      // Stored before the next Job starts: a resumed run sees what this one did.
      await ctx.record(target, { ticks: records.map((r) => ({ ...r })) });
    }
  }
  await announce(ctx, target, fresh);
  return { records, started };
}

/** Target Jobs a crashed attempt of this handoff started (cutover's mark, a tick after the window's start). */
function lateJobsOf(jobs: ObservedJob[], windowFrom: number): ObservedJob[] {
  return jobs.filter((job) => job.startedBy === 'cutover' && (jobTick(job) ?? Number.NEGATIVE_INFINITY) > windowFrom);
}

async function confirmAwaitedTick(
  ctx: HandoffContext,
  key: string,
  awaited: string | undefined,
  sourceRan: number | undefined,
  sourceJobs: ObservedJob[],
  add: (record: TickRecord) => void,
): Promise<void> {
  const tick = toMs(awaited);
  if (tick === undefined) return;
  if (sourceRan !== undefined && sourceRan >= tick) {
    const job = sourceJobs.find((j) => jobTick(j) === tick);
    add({ tick: new Date(tick).toISOString(), outcome: 'source', cluster: ctx.source.name, ...(job ? { job: job.name } : {}) });
    return;
  }
  await ctx.journal(
    'warning',
    `${key}: cutover waited for tick ${new Date(tick).toISOString()} to run on ${ctx.source.name}, but ${ctx.source.name} did not start it ` +
      `(its controller is behind); missedRuns: ${ctx.policy.missedRuns} decides what becomes of it`,
    { ref: key, tick: new Date(tick).toISOString(), cluster: ctx.source.name },
  );
}

async function startLate(ctx: HandoffContext, target: ObservedCronJob, tick: number): Promise<string> {
  const iso = new Date(tick).toISOString();
  const { job, created } = await ctx.target.startJobForTick(target, iso);
  await ctx.journal(
    'write',
    `${ctx.target.name}: ${refKey(target)} ${created ? 'started' : 'found'} Job ${job.name} for missed tick ${iso}`,
    { cluster: ctx.target.name, ref: refKey(target), job: job.name, tick: iso, created },
  );
  return job.name;
}

/**
 * Journals each tick recorded now. The progress keeps them with the resume that follows (the caller
 * stores them then), or at once after each Job cutover starts.
 */
async function announce(ctx: HandoffContext, target: ObservedCronJob, fresh: TickRecord[]): Promise<void> {
  const key = refKey(target);
  for (const record of fresh) {
    const message = describeTick(key, record);
    await ctx.journal('tick', message, { ref: key, ...record });
    if (record.outcome === 'skipped') ctx.reporter.warn(message);
    else ctx.reporter.info(message);
  }
}
