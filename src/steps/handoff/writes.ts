// The three writes a handoff makes to a CronJob, each journaled with what it changed, and the reads that
// confirm them. A suspend counts only once a separate read shows it: a webhook or a sync can rewrite the
// object between the PATCH response and the next decision.
import { HaltError } from '../../core/errors.js';
import type { ClusterPort } from '../../core/ports.js';
import type { CronJobRef, ObservedCronJob } from '../../core/types.js';
import { refKey } from '../../core/types.js';
import type { HandoffContext } from './context.js';
import { isoOrNever, kubeTime, toMs } from './ticks.js';

export type Side = 'source' | 'target';

export interface Pair {
  source: ObservedCronJob;
  target: ObservedCronJob;
}

const portOf = (ctx: HandoffContext, side: Side): ClusterPort => (side === 'source' ? ctx.source : ctx.target);

export async function readCronJob(ctx: HandoffContext, side: Side, ref: CronJobRef): Promise<ObservedCronJob> {
  const port = portOf(ctx, side);
  const found = await port.getCronJob(ref);
  if (found) return found;
  throw new HaltError(
    `CronJob ${refKey(ref)} is gone from the ${side} cluster ${port.name} in the middle of its handoff.`,
    `Recreate it there (suspended on the target), then re-run \`cutover execute\` to resume; \`cutover plan\` shows both copies.`,
  );
}

export async function readBoth(ctx: HandoffContext, ref: CronJobRef): Promise<Pair> {
  const [source, target] = await Promise.all([readCronJob(ctx, 'source', ref), readCronJob(ctx, 'target', ref)]);
  return { source, target };
}

/** Suspends one copy and returns it as a separate read shows it, suspended. */
export async function suspendConfirmed(ctx: HandoffContext, side: Side, before: ObservedCronJob): Promise<ObservedCronJob> {
  const port = portOf(ctx, side);
  const stored = await port.setSuspend(before, true);
  await journalWrite(ctx, port, before, { suspend: before.suspend }, { suspend: stored.suspend });
  const read = await readCronJob(ctx, side, before);
  if (read.suspend) return read;
  throw new HaltError(
    `Suspended ${refKey(before)} on ${port.name}, but reading it back shows suspend=false: something rewrites the spec` +
      (read.managedBy ? ` (it is managed by ${read.managedBy})` : '') +
      '.',
    `Pause whatever re-applies it (or set suspend: true in its source of truth), then re-run \`cutover execute\` to resume.`,
  );
}

/**
 * Resumes the target copy; the caller has just confirmed the source copy suspended. Returns the copy as
 * the server stored it; the verify that follows reads both copies again.
 */
export async function enableTarget(ctx: HandoffContext, before: ObservedCronJob): Promise<ObservedCronJob> {
  const stored = await ctx.target.setSuspend(before, false);
  await journalWrite(ctx, ctx.target, before, { suspend: before.suspend }, { suspend: stored.suspend });
  return stored;
}

/** Writes status.lastScheduleTime on the target copy and checks the server kept it. */
export async function writeBaseline(ctx: HandoffContext, before: ObservedCronJob, baseline: Date): Promise<ObservedCronJob> {
  const stored = await ctx.target.setLastScheduleTime(before, kubeTime(baseline));
  await journalWrite(
    ctx,
    ctx.target,
    before,
    { lastScheduleTime: before.lastScheduleTime ?? null },
    { lastScheduleTime: stored.lastScheduleTime ?? null },
  );
  if ((toMs(stored.lastScheduleTime) ?? -Infinity) >= baseline.getTime()) return stored;
  throw new HaltError(
    `Wrote status.lastScheduleTime=${kubeTime(baseline)} on ${refKey(before)} in ${ctx.target.name}, but the server ` +
      `returned ${isoOrNever(stored.lastScheduleTime)}: resuming it now could start a Job for a tick the source already ran.`,
    'Check that the credentials may patch cronjobs/status, then re-run `cutover execute` to resume.',
  );
}

async function journalWrite(
  ctx: HandoffContext,
  port: ClusterPort,
  ref: CronJobRef,
  before: Record<string, string | boolean | null>,
  after: Record<string, string | boolean | null>,
): Promise<void> {
  const field = Object.keys(after)[0] ?? 'field';
  await ctx.journal('write', `${port.name}: ${refKey(ref)} ${field} ${String(before[field])} -> ${String(after[field])}`, {
    cluster: port.name,
    ref: refKey(ref),
    before,
    after,
  });
}
