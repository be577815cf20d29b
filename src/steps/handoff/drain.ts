// Drain: after the source copy is suspended, its Jobs that are still running must finish before the target
// copy may start one. `suspend` stops new ticks but not running Jobs, and concurrencyPolicy Forbid only
// holds inside one cluster, so across two clusters this wait is what keeps two runs from overlapping.
import { HaltError } from '../../core/errors.js';
import type { ObservedCronJob, ObservedJob } from '../../core/types.js';
import { jobFinished, refKey } from '../../core/types.js';
import { formatDuration } from '../../core/duration.js';
import type { HandoffContext } from './context.js';
import type { DrainOutcome } from './progress.js';

export async function unfinishedSourceJobs(ctx: HandoffContext, source: ObservedCronJob): Promise<ObservedJob[]> {
  const jobs = await ctx.source.listJobs(source.namespace, source.uid);
  return jobs.filter((job) => !jobFinished(job));
}

/** Waits, up to the drain deadline, until no Job of the source copy is unfinished. */
export async function drainSource(ctx: HandoffContext, source: ObservedCronJob): Promise<DrainOutcome> {
  const key = refKey(source);
  let running = await unfinishedSourceJobs(ctx, source);
  if (running.length === 0) return 'none';
  if (ctx.policy.running === 'ignore') {
    await ctx.journal('warning', `${key}: moving while Jobs still run on ${ctx.source.name} (running: ignore)`, {
      cluster: ctx.source.name,
      ref: key,
      jobs: running.map((job) => job.name),
    });
    ctx.reporter.warn(`${key}: not waiting for ${names(running)} on ${ctx.source.name} (running: ignore)`);
    return 'ignored';
  }
  const deadline = await ctx.deadline(`drain:${key}`, ctx.policy.drainTimeoutMs);
  await ctx.journal('wait', `${key}: waiting for ${names(running)} to finish on ${ctx.source.name}`, {
    cluster: ctx.source.name,
    ref: key,
    jobs: running.map((job) => job.name),
    until: deadline.toISOString(),
  });
  ctx.reporter.waiting(`${key}: ${names(running)} to finish on ${ctx.source.name}`, deadline);
  for (;;) {
    const left = deadline.getTime() - ctx.clock.now().getTime();
    if (left <= 0) throw drainTimedOut(ctx, source, running, deadline);
    await ctx.clock.sleep(Math.min(ctx.timing.drainPollMs, left), ctx.signal);
    running = await unfinishedSourceJobs(ctx, source);
    if (running.length === 0) return 'waited';
  }
}

function drainTimedOut(ctx: HandoffContext, source: ObservedCronJob, running: ObservedJob[], deadline: Date): HaltError {
  const key = refKey(source);
  return new HaltError(
    `${key}: Jobs of the source copy are still running on ${ctx.source.name} at the drain deadline ` +
      `${deadline.toISOString()} (drainTimeout ${formatDuration(ctx.policy.drainTimeoutMs)}): ${names(running)}. ` +
      `The CronJob is suspended on both clusters, so no tick runs anywhere until the handoff resumes.`,
    `Wait for them to finish (kubectl -n ${source.namespace} get jobs ${running.map((job) => job.name).join(' ')}) and ` +
      're-run `cutover execute` to resume, or set `cronjobs.running: ignore` to move without waiting for running Jobs.',
  );
}

const names = (jobs: ObservedJob[]): string => jobs.map((job) => job.name).join(', ');
