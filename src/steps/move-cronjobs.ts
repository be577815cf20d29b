// Step `moveCronJobs`: hands every movable CronJob of the plan over from the source cluster to the target
// cluster (protocol in ./handoff/protocol.ts, reasoning in docs/handoff.md), a few at a time, in an order
// that keeps ticks out of the gap between "suspended on the source" and "resumed on the target".
import type { MoveCronJobsStep } from '../config/types.js';
import { CutoverError, HaltError } from '../core/errors.js';
import { refKey } from '../core/types.js';
import { DEFAULT_TIMING, type HandoffContext, type HandoffTiming } from './handoff/context.js';
import { handoffOrder } from './handoff/order.js';
import { clusterPort, movableEntries, refuseBlocked } from './handoff/plan.js';
import { PoolError, runPool } from './handoff/pool.js';
import { ProgressBook, progressToJson } from './handoff/progress.js';
import { handOff, type HandoffOutcome } from './handoff/protocol.js';
import type { JsonValue, StepExecutor, StepRuntime } from './types.js';

export const moveCronJobs: StepExecutor<MoveCronJobsStep> = (rt) => moveCronJobsPaced(rt, DEFAULT_TIMING);

/** The executor with explicit pacing; `moveCronJobs` uses the defaults. */
export async function moveCronJobsPaced(
  rt: StepRuntime<MoveCronJobsStep>,
  timing: HandoffTiming,
): Promise<Record<string, JsonValue>> {
  const { plan, loaded, reporter } = rt.run;
  refuseBlocked(plan);
  const book = new ProgressBook(rt.progress.data['cronjobs'], (cronjobs) => rt.update({ cronjobs }));
  const ctx = handoffContext(rt, book, timing);
  const entries = handoffOrder(movableEntries(plan), rt.run.clock.now());
  const concurrency = Math.max(1, loaded.runbook.cronjobs.concurrency);
  await recordPending(book, entries.map((entry) => entry.ref));
  reporter.info(
    `handing off ${entries.length} CronJob(s) from ${ctx.source.name} to ${ctx.target.name}, ${concurrency} at a time ` +
      `(running: ${ctx.policy.running}, missedRuns: ${ctx.policy.missedRuns})`,
  );
  const outcomes = await runPool(entries, concurrency, (entry, slot) => handOff(ctx, entry.ref, slot)).catch((error: unknown) => {
    throw stoppedHandoffs(error);
  });
  return summarise(outcomes);
}

function handoffContext(rt: StepRuntime<MoveCronJobsStep>, book: ProgressBook, timing: HandoffTiming): HandoffContext {
  const { plan, ports, loaded, clock, reporter, journal } = rt.run;
  const cronjobs = loaded.runbook.cronjobs;
  return {
    source: clusterPort(ports, plan.from, 'source'),
    target: clusterPort(ports, plan.to, 'target'),
    clock,
    signal: rt.signal,
    policy: {
      running: cronjobs.running,
      missedRuns: cronjobs.missedRuns,
      missedRunsLimit: cronjobs.missedRunsLimit,
      drainTimeoutMs: cronjobs.drainTimeoutMs,
    },
    timing,
    reporter,
    journal: (type, message, data) => journal.append({ type, step: rt.index, message, ...(data ? { data } : {}) }),
    deadline: (name, ms) => rt.deadline(name, ms),
    progress: (ref) => book.get(ref),
    record: (ref, patch) => book.record(ref, patch),
  };
}

/** Lists every CronJob in the progress from the start, so `cutover status` shows what is still to come. */
async function recordPending(book: ProgressBook, refs: { namespace: string; name: string }[]): Promise<void> {
  const known = book.all();
  const fresh = refs.filter((ref) => known[refKey(ref)] === undefined);
  if (fresh.length > 0) await book.recordMany(fresh.map((ref) => [ref, { phase: 'pending' }]));
}

/** One failed handoff is rethrown as is; several are told together so none goes unseen. */
function stoppedHandoffs(error: unknown): unknown {
  if (!(error instanceof PoolError)) return error;
  const failures = (error as PoolError<{ ref: { namespace: string; name: string } }>).failures;
  if (failures.length === 1) return failures[0]!.error;
  const lines = failures.map(({ item, error: cause }) => `  ${refKey(item.ref)}: ${describe(cause)}`);
  return new HaltError(
    `${failures.length} CronJob handoffs stopped:\n${lines.join('\n')}`,
    'Handle each one as its message says, then re-run `cutover execute` to resume; finished handoffs are not redone.',
  );
}

const describe = (error: unknown): string =>
  error instanceof CutoverError || error instanceof Error ? error.message.replace(/\n/g, ' ') : String(error);

function summarise(outcomes: HandoffOutcome[]): Record<string, JsonValue> {
  const cronjobs: Record<string, JsonValue> = {};
  for (const outcome of outcomes) {
    cronjobs[refKey(outcome.ref)] = { result: outcome.result, ...progressToJson(outcome.progress) };
  }
  return {
    moved: outcomes.filter((o) => o.result === 'moved').length,
    alreadyMoved: outcomes.filter((o) => o.result === 'already-moved').length,
    targetsSuspendedFirst: outcomes.filter((o) => o.progress.targetGuarded === true).length,
    drainIgnored: outcomes.filter((o) => o.progress.drain === 'ignored').length,
    cronjobs,
  };
}
