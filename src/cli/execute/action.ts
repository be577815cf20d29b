// `cutover execute`: resume the unfinished run of this runbook, or plan afresh (checking a saved plan is
// still true), confirm, and hand over to the engine. Ctrl-C aborts through the AbortSignal, so the run
// stops at a recorded, resumable point.
import { loadRunbook } from '../../config/load.js';
import type { LoadedRunbook } from '../../config/types.js';
import { HaltError, InputError } from '../../core/errors.js';
import type { Ports } from '../../core/ports.js';
import { refuseIfLocked } from '../../engine/lock.js';
import { currentLockHolder, type ExecuteOptions, executeRun, findRun, type RunRecord, type RunResult } from '../../engine/run.js';
import { stepLabel } from '../../machine/labels.js';
import type { Plan } from '../../plan/types.js';
import type { CliContext } from '../context.js';
import { paint } from '../io.js';
import { refuseUnallowedAutoApprove } from '../approve-option.js';
import { connect, freshPlan, planErrors, renderPlanText, staleness } from '../planning.js';
import { operator } from '../operator.js';
import { createTerminalReporter, DEFAULT_HEARTBEAT_MS, heartbeatOption } from '../reporter.js';
import { runSimulation } from '../simulation.js';
import type { ExecuteCliOptions } from './command.js';

export async function execute(options: ExecuteCliOptions, context: CliContext): Promise<void> {
  const heartbeatMs = heartbeatOption(options.heartbeat);
  const loaded = await loadRunbook(options.file, options.env !== undefined ? { environment: options.env } : {});
  refuseUnallowedAutoApprove(options.approve, loaded);
  if (loaded.environment.sandbox !== undefined) {
    await executeOnSandbox(options, loaded, context, heartbeatMs);
    return;
  }
  // Another live run holds the runbook: say so before planning or printing anything.
  const holder = await currentLockHolder(loaded);
  if (holder) refuseIfLocked(holder, options.stealLock === true);
  const existing = await findRun(loaded);
  const resume = existing && existing.status !== 'done' ? existing : undefined;
  if (resume && options.plan !== undefined) {
    throw new InputError(
      `run ${resume.runId} of ${loaded.runbook.name} is ${resume.status}: it continues with the plan it started with, so --plan is refused; run \`${invocation('execute', options)}\` without --plan to resume it`,
    );
  }
  // One controller for the whole command: Ctrl-C during the run also ends a retry pause in any adapter.
  const controller = new AbortController();
  const ports = await connect(loaded, controller.signal);
  const plan = resume ? resume.plan : await planToRun(options, loaded, ports, context);
  const direction = `${loaded.runbook.from} → ${loaded.runbook.to}`;
  const intent = resume ? resumeLine(resume, loaded) : `carrying out the plan of ${loaded.runbook.name}: ${direction}`;
  await confirm(options, context, intent);
  const result = await run(context, controller, heartbeatMs ?? DEFAULT_HEARTBEAT_MS, {
    loaded,
    plan,
    ports,
    startedBy: operator(context.io.env),
    autoApprove: options.approve === true,
    stealLock: options.stealLock === true,
    ...(resume ? { resume } : {}),
  });
  conclude(result, options, context);
}

/** A sandbox environment simulates everything and keeps its run in memory: nothing to confirm or resume. */
async function executeOnSandbox(options: ExecuteCliOptions, loaded: LoadedRunbook, context: CliContext, heartbeatMs: number | undefined): Promise<void> {
  if (options.plan !== undefined) {
    throw new InputError(`--plan: a sandbox run plans from its own simulated start; run \`${invocation('execute', options)}\` without --plan`);
  }
  const { runSandbox } = await import('../../adapters/sandbox/run.js');
  const settings = {
    output: 'table' as const,
    startedBy: operator(context.io.env),
    autoApprove: options.approve === true,
    what: 'sandbox run',
    ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
  };
  await runSimulation(loaded, context, settings, (run) => runSandbox(loaded, run));
}

/** A fresh plan; with --plan, the saved one must still describe the world, and then the fresh one runs. */
async function planToRun(options: ExecuteCliOptions, loaded: LoadedRunbook, ports: Ports, context: CliContext): Promise<Plan> {
  const fresh = await freshPlan(loaded, ports);
  if (options.plan !== undefined) {
    const changes = await staleness(options.plan, fresh);
    if (changes.length > 0) {
      throw new InputError(
        `plan is stale: ${options.plan} no longer matches the clusters; nothing was changed. What changed:\n${changes.map((c) => `  - ${c}`).join('\n')}\nRun \`${invocation('plan', options)} --out ${options.plan}\` again and review it.`,
      );
    }
  }
  context.io.stdout.write(renderPlanText(fresh, context.color()));
  const errors = planErrors(fresh);
  if (errors.length > 0) {
    throw new HaltError(
      `the plan has ${errors.length} error(s) (shown above); nothing was changed`,
      'Fix what they describe, check with `cutover plan`, then run execute again.',
    );
  }
  return fresh;
}

function resumeLine(resume: RunRecord, loaded: LoadedRunbook): string {
  const current = resume.snapshot.context.current;
  const step = loaded.runbook.steps[current];
  const label = step ? stepLabel(step) : '?';
  return `resuming run ${resume.runId} at step ${current + 1} (${label})`;
}

async function confirm(options: ExecuteCliOptions, context: CliContext, intent: string): Promise<void> {
  const { io } = context;
  if (options.yes === true) {
    io.stdout.write(`${intent}\n`);
    return;
  }
  if (!io.interactive) {
    throw new InputError(
      `not confirmed (${intent}): execute changes clusters and DNS, and there is no terminal to ask on; pass --yes to go ahead without asking`,
    );
  }
  if (!(await io.confirm(`${intent.charAt(0).toUpperCase()}${intent.slice(1)} — go ahead?`))) {
    throw new HaltError('not confirmed: nothing was changed');
  }
}

type RunRequest = Omit<ExecuteOptions, 'reporter' | 'signal'>;

async function run(context: CliContext, controller: AbortController, heartbeatMs: number, request: RunRequest): Promise<RunResult> {
  const { io } = context;
  const reporter = createTerminalReporter({
    out: io.stdout,
    color: context.color(),
    steps: request.loaded.runbook.steps.length,
    heartbeatMs,
  });
  const stopListening = io.onInterrupt((signal) => {
    reporter.warn(`${signal}: stopping at the next safe point (press Ctrl-C again to quit at once)`);
    controller.abort(new HaltError(`stopped by ${signal}`));
  });
  try {
    return await executeRun({ ...request, reporter, signal: controller.signal });
  } finally {
    stopListening();
    reporter.close();
  }
}

function conclude(result: RunResult, options: ExecuteCliOptions, context: CliContext): void {
  const again = `Run \`${invocation('execute', options)}\` again to resume run ${result.runId}; \`${invocation('status', options)}\` shows where it stands.`;
  if (result.status === 'halted') throw new HaltError(`run ${result.runId} halted: ${result.message ?? 'no reason recorded'}`, again);
  if (result.status === 'aborted') throw new HaltError(`run ${result.runId} stopped: ${result.message ?? 'aborted'}`, again);
  context.io.stdout.write(`${paint(context.color()).green('done:')} run ${result.runId} finished\n`);
}

/** The command line to suggest, with the same runbook and environment as this one. */
function invocation(command: string, options: ExecuteCliOptions): string {
  return `cutover ${command} -f ${options.file}${options.env !== undefined ? ` --env ${options.env}` : ''}`;
}
