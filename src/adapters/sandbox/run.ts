// A run on the sandbox: observe the simulated clusters, plan, hand the plan to the engine's executeRun
// with the sandbox's ports, virtual clock and in-memory store, then report what every cluster did. The
// engine and the step executors are those of a real run. Nothing here reaches a real system.
import type { LoadedRunbook } from '../../config/types.js';
import { preRunWeights, reverseRunbook, rollbackExecutors } from '../../engine/rollback.js';
import { executeRun, findRun, newRunId, type RunResult } from '../../engine/run.js';
import { createSandboxStore } from './store.js';
import { seededRandom } from './random.js';
import type { Observation, Plan } from '../../plan/types.js';
import type { Reporter } from '../../steps/types.js';
import type { VirtualClock } from './clock.js';
import { createSandbox, type Sandbox } from './index.js';
import { planErrorsOf, planMessages, planner, type Planner } from './planner.js';
import { renderReport, type RehearsalReport } from './report.js';

/** Builds the reporter once the sandbox exists, so its lines carry virtual time. */
export type ReporterFactory = (clock: VirtualClock) => Reporter;

export interface SandboxRunOptions {
  reporter: Reporter | ReporterFactory;
  output?: 'table' | 'json';
  /** Who the run is started by (journal, approvals); `sandbox` by default. */
  startedBy?: string;
  /** `execute --approve`: approvals answered by the sandbox's `auto` port instead of the Slack script. */
  autoApprove?: boolean;
  signal?: AbortSignal;
}

export interface SandboxRunOutcome {
  /** Absent when the plan had errors and the run was refused, as a real execute would. */
  result?: RunResult;
  /** What the sandbox's clusters and zone looked like at the start (virtual time). */
  observation: Observation;
  plan: Plan;
  report: RehearsalReport;
  /** The report rendered as asked (`output`). */
  text: string;
}

/** `cutover execute` on a sandbox environment (config/sandbox.yaml). */
export async function runSandbox(loaded: LoadedRunbook, options: SandboxRunOptions): Promise<SandboxRunOutcome> {
  return simulate(loaded, options, { planner, refuseOnPlanErrors: true });
}

/**
 * `cutover rollback` on a sandbox environment: a sandbox keeps no run between commands, so the run to undo
 * is simulated first, then its rollback (the reverse runbook and executors of a real rollback) on the same
 * world; the report covers both.
 */
export async function runSandboxRollback(loaded: LoadedRunbook, options: SandboxRunOptions): Promise<SandboxRunOutcome> {
  const sandbox = createSandbox(loaded);
  const reporter = typeof options.reporter === 'function' ? options.reporter(sandbox.clock) : options.reporter;
  const observation = await planner.observe(loaded, sandbox.ports, sandbox.start);
  const plan = planner.buildPlan(observation, loaded);
  const messages = planMessages(plan);
  const errors = planErrorsOf(plan);
  if (errors.length > 0) {
    const report = await sandbox.finish(`refused: the plan has ${errors.length} error(s); nothing was run`, [], { planMessages: messages });
    return { observation, plan, report, text: render(report, options.output) };
  }
  const forward = await execute(loaded, sandbox, plan, reporter, options);
  reporter.info(`run ${forward.runId} ${forward.status}; rolling it back`);
  const before = preRunWeights(await findRun(loaded, sandbox.store));
  const reversed = reverseRunbook(loaded, before !== undefined);
  const store = createSandboxStore(sandbox.clock);
  const reversePlan = planner.buildPlan(await planner.observe(reversed, sandbox.ports, sandbox.clock.now()), reversed);
  const back = await executeRun({
    loaded: reversed,
    plan: reversePlan,
    ports: sandbox.ports,
    clock: sandbox.clock,
    store,
    reporter,
    startedBy: options.startedBy ?? 'sandbox',
    autoApprove: false,
    executors: rollbackExecutors(before),
    runId: newRunId(reversed.runbook.name, sandbox.clock.now(), seededRandom(sandbox.config.seed + 1)),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const journal = [...(await sandbox.store.readJournal()), ...(await store.readJournal())];
  const status = `${forward.status}, then rolled back: ${back.status}`;
  const message = back.message ?? forward.message;
  const report = await sandbox.finish(status, journal, { ...(message ? { message } : {}), planMessages: messages });
  return { result: back, observation, plan, report, text: render(report, options.output) };
}

/** `cutover plan` on a sandbox environment: the plan as of the sandbox's (virtual) start. */
export async function planSandbox(loaded: LoadedRunbook): Promise<Plan> {
  const sandbox = createSandbox(loaded);
  return planner.buildPlan(await planner.observe(loaded, sandbox.ports, sandbox.start), loaded);
}

export interface SimulateSettings {
  planner: Planner;
  /** A real execute refuses a plan with errors; a rehearsal runs it anyway to show where it stops. */
  refuseOnPlanErrors: boolean;
  /** Shown in the report instead of the sandbox plan's own messages (a rehearsal shows the live plan's). */
  planMessages?: Plan['messages'];
}

export async function simulate(loaded: LoadedRunbook, options: SandboxRunOptions, settings: SimulateSettings): Promise<SandboxRunOutcome> {
  const sandbox = createSandbox(loaded);
  const reporter = typeof options.reporter === 'function' ? options.reporter(sandbox.clock) : options.reporter;
  const observation = await settings.planner.observe(loaded, sandbox.ports, sandbox.start);
  const plan = settings.planner.buildPlan(observation, loaded);
  const messages = settings.planMessages ?? planMessages(plan);
  const errors = planErrorsOf(plan);
  if (settings.refuseOnPlanErrors && errors.length > 0) {
    const report = await sandbox.finish(`refused: the plan has ${errors.length} error(s); nothing was run`, [], { planMessages: messages });
    return { observation, plan, report, text: render(report, options.output) };
  }
  const result = await execute(loaded, sandbox, plan, reporter, options);
  const journal = await sandbox.store.readJournal();
  const report = await sandbox.finish(result.status, journal, { ...(result.message ? { message: result.message } : {}), planMessages: messages });
  return { result, observation, plan, report, text: render(report, options.output) };
}

function execute(loaded: LoadedRunbook, sandbox: Sandbox, plan: Plan, reporter: Reporter, options: SandboxRunOptions): Promise<RunResult> {
  return executeRun({
    loaded,
    plan,
    ports: sandbox.ports,
    clock: sandbox.clock,
    store: sandbox.store,
    reporter,
    startedBy: options.startedBy ?? 'sandbox',
    // Seeded like everything else in the sandbox: the same world gives the same report, run id included.
    runId: newRunId(loaded.runbook.name, sandbox.clock.now(), seededRandom(sandbox.config.seed)),
    autoApprove: options.autoApprove ?? false,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

const render = (report: RehearsalReport, output: SandboxRunOptions['output']): string =>
  output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : `${renderReport(report)}\n`;
