// `cutover rollback`: undo a run with a run of its own (src/engine/rollback.ts). The run being undone keeps
// its lock for the whole rollback, so an `execute` of the same runbook cannot move CronJobs the other way
// at the same time.
import { loadRunbook } from '../../config/load.js';
import type { LoadedRunbook } from '../../config/types.js';
import { HaltError, InputError } from '../../core/errors.js';
import { preRunWeights, reverseRunbook, rollbackExecutors } from '../../engine/rollback.js';
import { executeRun, findRun, type RunRecord, type RunResult } from '../../engine/run.js';
import { openStateStore } from '../../engine/store.js';
import type { Plan } from '../../plan/types.js';
import type { CliContext } from '../context.js';
import { paint } from '../io.js';
import { operator } from '../operator.js';
import { connect, freshPlan, planErrors, renderPlanText } from '../planning.js';
import { createTerminalReporter, DEFAULT_HEARTBEAT_MS, heartbeatOption } from '../reporter.js';
import { runSimulation } from '../simulation.js';
import type { RollbackCliOptions } from './command.js';

export async function rollback(options: RollbackCliOptions, context: CliContext): Promise<void> {
  const heartbeatMs = heartbeatOption(options.heartbeat) ?? DEFAULT_HEARTBEAT_MS;
  const loaded = await loadRunbook(options.file, options.env !== undefined ? { environment: options.env } : {});
  if (loaded.environment.sandbox !== undefined) {
    await rollbackOnSandbox(options, loaded, context);
    return;
  }
  const steal = options.stealLock === true;
  const undoneLock = await openStateStore(loaded).lock({ steal });
  try {
    const undone = await findRun(loaded);
    const before = preRunWeights(undone);
    const existing = await findRun(reverseRunbook(loaded, before !== undefined));
    const resume = existing && existing.status !== 'done' ? existing : undefined;
    // A resumed rollback keeps its steps: with or without the restore, as it started.
    const reversed = reverseRunbook(loaded, resume ? resume.stepKinds[0] === 'shiftTraffic' : before !== undefined);
    const ports = await connect(loaded);
    const plan = resume ? resume.plan : await planRollback(reversed, ports, context);
    const intent = resume
      ? `resuming rollback run ${resume.runId} at step ${resume.snapshot.context.current + 1}`
      : `rolling back ${loaded.runbook.name}: CronJobs ${reversed.runbook.from} → ${reversed.runbook.to}${before ? ', weights restored to their values before the run' : ''}`;
    await confirm(options, context, intent);
    const result = await run(context, { reversed, plan, ports, resume, before, stealLock: steal, heartbeatMs });
    conclude(result, options, context);
  } finally {
    await undoneLock.release();
  }
}

/** A sandbox keeps no run to undo: the run and its rollback are simulated one after the other. */
async function rollbackOnSandbox(options: RollbackCliOptions, loaded: LoadedRunbook, context: CliContext): Promise<void> {
  const { runSandboxRollback } = await import('../../adapters/sandbox/run.js');
  const heartbeatMs = heartbeatOption(options.heartbeat);
  const settings = {
    output: 'table' as const,
    startedBy: operator(context.io.env),
    autoApprove: false,
    what: 'sandbox rollback',
    severalRuns: true,
    ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
  };
  await runSimulation(loaded, context, settings, (run) => runSandboxRollback(loaded, run));
}

async function planRollback(reversed: LoadedRunbook, ports: Awaited<ReturnType<typeof connect>>, context: CliContext): Promise<Plan> {
  const plan = await freshPlan(reversed, ports);
  context.io.stdout.write(await renderPlanText(plan, context.color()));
  const errors = planErrors(plan);
  if (errors.length > 0) {
    throw new HaltError(`the rollback plan has ${errors.length} error(s) (shown above); nothing was changed`, 'Fix what they describe, then run rollback again.');
  }
  return plan;
}

async function confirm(options: RollbackCliOptions, context: CliContext, intent: string): Promise<void> {
  const { io } = context;
  if (options.yes === true) {
    io.stdout.write(`${intent}\n`);
    return;
  }
  if (!io.interactive) {
    throw new InputError(`not confirmed (${intent}): rollback changes clusters and DNS, and there is no terminal to ask on; pass --yes to go ahead without asking`);
  }
  if (!(await io.confirm(`${intent.charAt(0).toUpperCase()}${intent.slice(1)} — go ahead?`))) throw new HaltError('not confirmed: nothing was changed');
}

interface RollbackRun {
  reversed: LoadedRunbook;
  plan: Plan;
  ports: Awaited<ReturnType<typeof connect>>;
  resume: RunRecord | undefined;
  before: ReturnType<typeof preRunWeights>;
  stealLock: boolean;
  heartbeatMs: number;
}

async function run(context: CliContext, request: RollbackRun): Promise<RunResult> {
  const { io } = context;
  const { reversed: loaded, plan, ports, resume, before, stealLock, heartbeatMs } = request;
  const reporter = createTerminalReporter({ out: io.stdout, color: context.color(), steps: loaded.runbook.steps.length, heartbeatMs });
  const controller = new AbortController();
  const stopListening = io.onInterrupt((signal) => {
    reporter.warn(`${signal}: stopping at the next safe point (press Ctrl-C again to quit at once)`);
    controller.abort(new HaltError(`stopped by ${signal}`));
  });
  try {
    return await executeRun({
      loaded,
      plan,
      ports,
      reporter,
      signal: controller.signal,
      startedBy: operator(io.env),
      autoApprove: false,
      stealLock,
      executors: rollbackExecutors(before),
      ...(resume ? { resume } : {}),
    });
  } finally {
    stopListening();
    reporter.close();
  }
}

function conclude(result: RunResult, options: RollbackCliOptions, context: CliContext): void {
  const again = `Run \`cutover rollback -f ${options.file}\` again to resume rollback run ${result.runId}.`;
  if (result.status === 'halted') throw new HaltError(`rollback run ${result.runId} halted: ${result.message ?? 'no reason recorded'}`, again);
  if (result.status === 'aborted') throw new HaltError(`rollback run ${result.runId} stopped: ${result.message ?? 'aborted'}`, again);
  context.io.stdout.write(`${paint(context.color()).green('done:')} rollback run ${result.runId} finished\n`);
}
