// The handoff of one CronJob from the source cluster to the target cluster. Each round reads both copies
// and takes the one action their state calls for, so a run resumed after a crash at any point, or a sync
// that re-enables the source halfway, lands on the right next action without trusting remembered state:
//
//   source  target
//   enabled enabled    guard: suspend the target first (every tick is running twice right now)
//   enabled suspended  suspend the source (after letting an imminent tick run there), confirm by a read
//   susp.   suspended  drain the source's running Jobs, baseline the target, re-check, start the missed
//                      ticks the policy runs (./missed-ticks.ts), resume the target
//   susp.   enabled    verify: no target Job for a tick the source already ran; done
//
// The target is enabled only at the end of the third row, right after a fresh read showed the source
// suspended, so cutover never makes both copies enabled at once; the Jobs of missed ticks start there too,
// after that read and never for a tick with a Job on the source.
import { HaltError } from '../../core/errors.js';
import type { CronJobRef, ObservedCronJob } from '../../core/types.js';
import { jobFinished, refKey } from '../../core/types.js';
import { latestTick } from '../../plan/schedule.js';
import { formatDuration } from '../../core/duration.js';
import { ensureBaseline } from './baseline.js';
import type { HandoffContext } from './context.js';
import { drainSource } from './drain.js';
import { fenceSource, ownTarget } from './fence.js';
import { handleMissedTicks } from './missed-ticks.js';
import type { TickRecord } from '../../plan/catch-up.js';
import type { PoolSlot } from './pool.js';
import { quietStart } from './order.js';
import { PHASES, type CronJobProgress, type DrainOutcome, type HandoffPhase } from './progress.js';
import { kubeTime, toMs } from './ticks.js';
import { targetSuspendedAgain, verifyHandoff } from './verify.js';
import { enableTarget, readBoth, readCronJob, suspendConfirmed, type Pair } from './writes.js';

export interface HandoffOutcome {
  ref: CronJobRef;
  result: 'moved' | 'already-moved';
  progress: CronJobProgress;
}

type Next = Pair | 'done';

const rank = (phase: HandoffPhase): number => PHASES.indexOf(phase);

/** How often the source is read while cutover waits for it to start a tick it let run there. */
const CONFIRM_POLL_MS = 1_000;

/**
 * Ticks after the returned instant fell during the handoff. When the source copy is enabled as the handoff
 * starts, its controller may not have started the latest tick yet, and the suspend would stop it: that tick
 * is in the window too (and is dropped from it again once a Job or lastScheduleTime shows it ran).
 */
function missedFrom(pair: Pair, now: Date): Date {
  if (pair.source.suspend) return now;
  const tick = latestTick(pair.target.schedule, pair.target.timeZone, now);
  return tick ? new Date(tick.getTime() - 1) : now;
}

/** `slot`: the worker-pool slot the handoff runs in, lent out while it only waits before its verify. */
export async function handOff(ctx: HandoffContext, ref: CronJobRef, slot?: PoolSlot): Promise<HandoffOutcome> {
  return new Handoff(ctx, ref, slot).run();
}

class Handoff {
  private readonly key: string;
  private sourceSeenSuspended: boolean;
  private reenabled: number;
  /** The tick this handoff waited for so it would run on the source; stored with the source's suspend. */
  private awaitedTick: string | undefined;
  /** The ticks the handoff affected, stored with the resume (after each Job cutover starts, at once). */
  private ticks: TickRecord[] | undefined;

  constructor(
    private readonly ctx: HandoffContext,
    private readonly ref: CronJobRef,
    private readonly slot?: PoolSlot,
  ) {
    this.key = refKey(ref);
    const hint = ctx.progress(ref);
    this.sourceSeenSuspended = rank(hint.phase) >= rank('source-suspended');
    this.reenabled = hint.reenabled ?? 0;
  }

  async run(): Promise<HandoffOutcome> {
    let pair = await readBoth(this.ctx, this.ref);
    await this.begin(pair);
    const maxRounds = 8 + 4 * this.ctx.timing.maxReenables;
    for (let round = 1; round <= maxRounds; round += 1) {
      // Between rounds both copies are in a state the next run can pick up: stop there when asked to.
      this.ctx.signal.throwIfAborted();
      const next = await this.advance(pair);
      if (next === 'done') return this.outcome();
      pair = next;
    }
    throw new HaltError(
      `The handoff of ${this.key} did not settle after ${maxRounds} rounds: the copies keep changing under it.`,
      'Run `cutover plan` to see both copies, stop whatever changes them, then re-run `cutover execute` to resume.',
    );
  }

  private advance(pair: Pair): Promise<Next> {
    if (!pair.source.suspend && !pair.target.suspend) return this.guardTarget(pair);
    if (!pair.source.suspend) return this.suspendSource(pair);
    this.sourceSeenSuspended = true;
    if (!pair.target.suspend) return this.verify(pair);
    return this.moveWhileBothSuspended(pair.source);
  }

  /** Remembers, before any write, what verify needs to tell this handoff's Jobs from older ones. */
  private async begin(pair: Pair): Promise<void> {
    if (this.ctx.progress(this.ref).startedAt !== undefined) return;
    const foundMoved = pair.source.suspend && !pair.target.suspend;
    const now = this.ctx.clock.now();
    await this.ctx.record(this.ref, {
      phase: 'pending',
      startedAt: now.toISOString(),
      targetLastBefore: pair.target.lastScheduleTime ?? '',
      missedFrom: missedFrom(pair, now).toISOString(),
      ...(foundMoved ? { foundMoved } : {}),
    });
  }

  private async guardTarget(pair: Pair): Promise<Next> {
    const { ctx } = this;
    await ctx.journal('warning', `${this.key}: enabled on both ${ctx.source.name} and ${ctx.target.name}; suspending the target first`, {
      ref: this.key,
      source: ctx.source.name,
      target: ctx.target.name,
    });
    ctx.reporter.warn(`${this.key}: enabled on both clusters, suspending it on ${ctx.target.name} first`);
    await suspendConfirmed(ctx, 'target', pair.target);
    await ctx.record(this.ref, { phase: 'target-suspended', targetGuarded: true });
    // Only now, with the target safe, may a re-enabled source halt the handoff.
    await this.noteReenabled(pair);
    return readBoth(ctx, this.ref);
  }

  private async suspendSource(pair: Pair): Promise<Next> {
    await this.noteReenabled(pair);
    // After waiting out a tick, both copies are read again: the wait may have changed either one.
    if (await this.letImminentTickRun(pair)) return readBoth(this.ctx, this.ref);
    const source = await suspendConfirmed(this.ctx, 'source', pair.source);
    this.sourceSeenSuspended = true;
    this.ctx.reporter.info(`${this.key}: suspended on ${this.ctx.source.name} (confirmed)`);
    // Both copies are suspended now (the source just read back so, the target as last read): straight on
    // to the drain, while the phase is stored. Every write after this one waits until it is stored.
    const awaited = this.awaitedTick !== undefined ? { awaitedTick: this.awaitedTick } : {};
    return this.moveWhileBothSuspended(source, this.ctx.record(this.ref, { phase: 'source-suspended', ...awaited }));
  }

  private async letImminentTickRun(pair: Pair): Promise<boolean> {
    const { ctx } = this;
    const now = ctx.clock.now();
    const { at, tick } = quietStart(pair.source.schedule, pair.source.timeZone, now, ctx.timing);
    if (!tick) return false;
    const away = formatDuration(tick.getTime() - now.getTime());
    await ctx.journal('wait', `${this.key}: next tick ${kubeTime(tick)} is ${away} away; letting it run on ${ctx.source.name} first`, {
      ref: this.key,
      tick: tick.toISOString(),
      until: at.toISOString(),
    });
    ctx.reporter.waiting(`${this.key}: tick ${kubeTime(tick)} to run on ${ctx.source.name} before the handoff`, at);
    // Stored with the source's suspend (no save of its own: a run's saves stay the same whatever the timing).
    this.awaitedTick = tick.toISOString();
    await ctx.clock.sleep(at.getTime() - now.getTime(), ctx.signal);
    await this.confirmSourceRan(tick);
    return true;
  }

  /**
   * A busy source controller may start a tick seconds late: read the source until its lastScheduleTime
   * shows the tick, up to a deadline. Past it the handoff goes on; the tick is then handled by missedRuns
   * (handleMissedTicks), never lost without a record.
   */
  private async confirmSourceRan(tick: Date): Promise<void> {
    const { ctx } = this;
    const until = tick.getTime() + ctx.timing.tickConfirmMs;
    for (;;) {
      const source = await readCronJob(ctx, 'source', this.ref);
      if (source.suspend || (toMs(source.lastScheduleTime) ?? Number.NEGATIVE_INFINITY) >= tick.getTime()) return;
      const left = until - ctx.clock.now().getTime();
      if (left <= 0) return;
      await ctx.clock.sleep(Math.min(CONFIRM_POLL_MS, left), ctx.signal);
    }
  }

  /**
   * Drain, baseline, resume. The ownerless gap of the CronJob runs from the source's confirmed suspend to
   * the resume, so whatever does not depend on each other goes side by side: the drain and the target's
   * read, storing a phase and the reads before the next write.
   */
  private async moveWhileBothSuspended(source: ObservedCronJob, stored: Promise<void> = Promise.resolve()): Promise<Next> {
    const { ctx } = this;
    // Both copies suspended is a safe place to stop when asked to, once the phase is stored.
    if (ctx.signal.aborted) {
      await stored;
      ctx.signal.throwIfAborted();
    }
    let [drain, target] = await settledTogether(drainSource(ctx, source), readCronJob(ctx, 'target', this.ref), stored, fenceSource(ctx, this.ref));
    if (drain !== 'none') {
      // The drain waited or was skipped: say so, and read the target again after the wait.
      [target] = await settledTogether(readCronJob(ctx, 'target', this.ref), ctx.record(this.ref, { phase: 'drained', drain }));
    }
    if (!(await this.resumeTarget(source, target, drain))) return readBoth(ctx, this.ref);
    await ctx.record(this.ref, { phase: 'resumed', ...(this.ticks ? { ticks: this.ticks } : {}) });
    ctx.reporter.info(`${this.key}: resumed on ${ctx.target.name}`);
    // The handoff only waits here: its pool slot goes to the next CronJob meanwhile.
    const settle = () => ctx.clock.sleep(ctx.timing.verifySettleMs, ctx.signal);
    await (this.slot ? this.slot.idle(settle) : settle());
    const settled = await readBoth(ctx, this.ref);
    // Resuming it again would fight whatever suspended it (a sync restoring suspend: true): stop and say so.
    if (settled.source.suspend && settled.target.suspend) throw targetSuspendedAgain(ctx, settled);
    return settled;
  }

  /**
   * Enables the target, only after a read made right before shows the source still suspended (a GitOps
   * sync may have re-enabled it since) and no new source Job running. The baseline is written first, from
   * the source as confirmed suspended, and checked again against that last read: a tick that passed
   * meanwhile would otherwise start on the target at once.
   */
  private async resumeTarget(confirmed: ObservedCronJob, target: ObservedCronJob, drain: DrainOutcome): Promise<boolean> {
    const { ctx } = this;
    if (!target.suspend) return false;
    const baselined = await ensureBaseline(ctx, confirmed, target);
    ctx.reporter.info(`${this.key}: target baseline ${baselined.baseline ?? 'none'} (${baselined.reason})`);
    const [source, sourceJobs] = await settledTogether(
      readCronJob(ctx, 'source', this.ref),
      ctx.source.listJobs(confirmed.namespace, confirmed.uid),
      ctx.record(this.ref, { phase: 'baselined', drain, baseline: baselined.baseline ?? '', baselineReason: baselined.reason }),
    );
    if (!source.suspend) return false;
    const unfinished = ctx.policy.running === 'wait' ? sourceJobs.filter((job) => !jobFinished(job)) : [];
    if (unfinished.length > 0) {
      await ctx.journal('drift', `${this.key}: a Job started on ${ctx.source.name} after the drain; draining again`, { ref: this.key });
      return false;
    }
    const rechecked = await ensureBaseline(ctx, source, baselined.target);
    if (rechecked.wrote) {
      await ctx.record(this.ref, { baseline: rechecked.baseline ?? '', baselineReason: rechecked.reason });
    }
    // The source is suspended and drained as just read: a missed tick may now run on the target.
    const { records } = await handleMissedTicks(ctx, source, rechecked.target, sourceJobs);
    if (records.length > 0) this.ticks = records;
    await ownTarget(ctx, this.ref);
    await enableTarget(ctx, rechecked.target);
    return true;
  }

  private async verify(pair: Pair): Promise<Next> {
    const { ctx } = this;
    const progress = ctx.progress(this.ref);
    const floor = toMs(progress.targetLastBefore);
    const late = (progress.ticks ?? []).filter((t) => t.outcome === 'late').map((t) => Date.parse(t.tick));
    const verdict = await verifyHandoff(ctx, pair, floor, late);
    if (verdict.outcome === 'source-enabled') return verdict.pair;
    await ownTarget(ctx, this.ref);
    await ctx.record(this.ref, { phase: 'verified', finishedAt: ctx.clock.now().toISOString() });
    ctx.reporter.info(`${this.key}: verified: suspended on ${ctx.source.name}, running on ${ctx.target.name}`);
    return 'done';
  }

  /** A source copy found enabled after it had been suspended was re-enabled by someone else. */
  private async noteReenabled(pair: Pair): Promise<void> {
    if (!this.sourceSeenSuspended) return;
    const { ctx } = this;
    this.sourceSeenSuspended = false;
    this.reenabled += 1;
    const by = pair.source.managedBy ? ` (managed by ${pair.source.managedBy})` : '';
    await ctx.record(this.ref, { reenabled: this.reenabled });
    await ctx.journal('drift', `${this.key}: the source copy on ${ctx.source.name} was enabled again${by}`, {
      ref: this.key,
      cluster: ctx.source.name,
      times: this.reenabled,
    });
    ctx.reporter.warn(`${this.key}: enabled again on ${ctx.source.name}${by}; suspending it again before any resume`);
    if (this.reenabled > ctx.timing.maxReenables) {
      throw new HaltError(
        `${this.key}: the source copy on ${ctx.source.name} was enabled again ${this.reenabled} times during its handoff${by}.`,
        'Pause the sync that re-applies it (or set suspend: true in its source of truth), then re-run `cutover execute` to resume.',
      );
    }
  }

  private outcome(): HandoffOutcome {
    const progress = this.ctx.progress(this.ref);
    return { ref: this.ref, result: progress.foundMoved ? 'already-moved' : 'moved', progress };
  }
}

/**
 * Like Promise.all, but waits for every promise to settle before it rejects with the first failure: no
 * read, wait or save goes on unwatched after the handoff has stopped.
 */
async function settledTogether<T extends readonly unknown[]>(...promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
