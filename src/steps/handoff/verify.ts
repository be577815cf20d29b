// Verify: after the target copy is resumed, both copies are read again. The handoff is done only when the
// source is suspended, the target enabled, and the target has started no Job for a tick the source had
// already run: such a Job is exactly the double run cutover exists to prevent, so it halts loudly.
import { HaltError } from '../../core/errors.js';
import type { ObservedJob } from '../../core/types.js';
import { refKey } from '../../core/types.js';
import type { HandoffContext } from './context.js';
import { jobTick, kubeTime, toMs } from './ticks.js';
import type { Pair } from './writes.js';

export type Verdict = { outcome: 'verified'; pair: Pair } | { outcome: 'source-enabled'; pair: Pair };

/**
 * `pair`: both copies as read after the resume settled. `handoffFloor`: the target's lastScheduleTime
 * before this handoff wrote anything. Target Jobs for ticks at or before it were started before the
 * handoff began and are not its doing. `lateTicks`: the missed ticks this handoff started on the target.
 */
export async function verifyHandoff(
  ctx: HandoffContext,
  pair: Pair,
  handoffFloor: number | undefined,
  lateTicks: readonly number[] = [],
): Promise<Verdict> {
  const ref = pair.target;
  // A sync re-enabled the source after the target was resumed: the caller suspends the target again.
  if (!pair.source.suspend) return { outcome: 'source-enabled', pair };
  const sourceLast = toMs(pair.source.lastScheduleTime);
  if (sourceLast === undefined) {
    await verifyLateTicks(ctx, pair, lateTicks);
    return { outcome: 'verified', pair };
  }
  const jobs = await ctx.target.listJobs(ref.namespace, pair.target.uid);
  const doubles = jobs.filter((job) => {
    const tick = jobTick(job);
    return tick !== undefined && tick <= sourceLast && (handoffFloor === undefined || tick > handoffFloor);
  });
  if (doubles.length > 0) throw doubleRun(ctx, pair, doubles);
  await verifyLateTicks(ctx, pair, lateTicks);
  return { outcome: 'verified', pair };
}

/**
 * The ticks this handoff started on the target itself must have no Job on the source: a source controller
 * that started one after its suspend was confirmed (a sync it had begun before) would make it a double run.
 */
async function verifyLateTicks(ctx: HandoffContext, pair: Pair, lateTicks: readonly number[]): Promise<void> {
  if (lateTicks.length === 0) return;
  const late = new Set(lateTicks);
  const sourceJobs = await ctx.source.listJobs(pair.source.namespace, pair.source.uid);
  const doubles = sourceJobs.filter((job) => late.has(jobTick(job) ?? Number.NaN));
  if (doubles.length === 0) return;
  const key = refKey(pair.target);
  throw new HaltError(
    `DOUBLE RUN: ${key} on ${ctx.source.name} started ${doubles.map((job) => job.name).join(', ')} for a tick cutover ` +
      `had already started on ${ctx.target.name} as a missed tick.`,
    `Check what those Jobs did twice; once handled, re-run \`cutover execute\`.`,
  );
}

/** The target copy, resumed by this handoff moments ago, reads back suspended: something keeps rewriting it. */
export function targetSuspendedAgain(ctx: HandoffContext, pair: Pair): HaltError {
  const key = refKey(pair.target);
  const by = pair.target.managedBy ? ` (it is managed by ${pair.target.managedBy}, whose sync may have restored suspend: true)` : '';
  return new HaltError(
    `${key} was resumed on ${ctx.target.name} but reads back suspended${by}: it now runs on neither cluster.`,
    `Set suspend: false for the ${ctx.target.name} copy in its source of truth, then re-run \`cutover execute\` to resume.`,
  );
}

function doubleRun(ctx: HandoffContext, pair: Pair, doubles: ObservedJob[]): HaltError {
  const key = refKey(pair.target);
  const listed = doubles.map((job) => `${job.name} (tick ${kubeTime(new Date(jobTick(job) ?? 0))})`).join(', ');
  return new HaltError(
    `DOUBLE RUN: ${key} on ${ctx.target.name} started ${listed}, for a tick the source ${ctx.source.name} had already ` +
      `run (its lastScheduleTime is ${pair.source.lastScheduleTime ?? 'unset'}).`,
    `Check what those Jobs did twice. To stop one still running: kubectl -n ${pair.target.namespace} delete job ` +
      `${doubles.map((job) => job.name).join(' ')} (on ${ctx.target.name}); once handled, re-run \`cutover execute\`.`,
  );
}
