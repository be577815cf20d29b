// The engine's side of a step: the `runStep` actor the machine invokes, and the StepRuntime an executor
// works with. The runtime reaches the run through the actor system (never through its input, which is
// persisted and, after a restore, stale), so `progress` is always the live, persisted progress.
import { fromPromise } from 'xstate';
import type { ActorSystem } from 'xstate';
import { RUN_SYSTEM_ID, describeFailure } from '../machine/runbook.js';
import type { RollbackInput, RunbookContext, RunbookEvent, StepInput, StepOutput } from '../machine/runbook.js';
import { executorFor } from '../steps/index.js';
import { startDriftGuard } from './drift.js';
import { rollbackTraffic } from '../steps/shift-traffic.js';
import type { StepExecutors } from '../steps/index.js';
import type { JsonValue, RunContext, StepRuntime } from '../steps/types.js';
import { stepSummary, type Notices } from './notify.js';

/** What a step actor needs of the root actor. */
interface RunRef {
  send(event: RunbookEvent): void;
  getSnapshot(): { context: RunbookContext };
}

export interface StepActorDeps {
  run: Omit<RunContext, 'outputs'>;
  executors: StepExecutors;
  notices: Notices;
  /** Resolves once everything sent so far is persisted. */
  persisted(): Promise<void>;
  /** Executors still running, so the engine does not release the lock under them. */
  inflight: Set<Promise<unknown>>;
}

function rootOf(system: ActorSystem<any>): RunRef {
  const root = system.get(RUN_SYSTEM_ID) as RunRef | undefined;
  if (!root) throw new Error(`the run actor is not registered as ${RUN_SYSTEM_ID}`);
  return root;
}

function outputsBefore(context: RunbookContext, index: number): RunContext['outputs'] {
  const outputs: RunContext['outputs'] = {};
  context.progress.slice(0, index).forEach((p, i) => {
    outputs[i] = p.output;
  });
  return outputs;
}

export function createStepRuntime(deps: StepActorDeps, input: StepInput, root: RunRef, signal: AbortSignal): StepRuntime {
  const { index } = input;
  const live = () => root.getSnapshot().context.progress[index] ?? input.progress;
  return {
    run: { ...deps.run, outputs: outputsBefore(root.getSnapshot().context, index) },
    index,
    // The runbook as it is now (the engine checked its steps are the same), not the copy in the input.
    step: deps.run.loaded.runbook.steps[index] ?? input.step,
    label: input.label,
    get progress() {
      return live();
    },
    async update(data: Record<string, JsonValue>) {
      root.send({ type: 'PROGRESS', index, data });
      await deps.persisted();
    },
    async deadline(name: string, ms: number) {
      const stored = live().deadlines[name];
      if (stored) return new Date(stored);
      const at = new Date(deps.run.clock.now().getTime() + ms);
      root.send({ type: 'PROGRESS', index, deadlines: { [name]: at.toISOString() } });
      await deps.persisted();
      return at;
    },
    signal,
  };
}

async function runStep(deps: StepActorDeps, input: StepInput, root: RunRef, signal: AbortSignal): Promise<StepOutput> {
  // No effect before the state that runs it is on disk, so a restore always knows this step started.
  // xstate starts an invoked actor before it hands the new snapshot to observers: yield once so that
  // snapshot is queued for saving, then wait for the save.
  await Promise.resolve();
  await deps.persisted();
  deps.run.reporter.step(input.index, input.label);
  await deps.notices.stepStarted(input.index, input.label);
  // After the CronJobs moved, later steps run under the drift watch (src/engine/drift.ts).
  const guard = startDriftGuard(deps.run, () => root.getSnapshot().context, input.index, signal);
  try {
    const running = executorFor(deps.executors, input.step)(createStepRuntime(deps, input, root, guard?.signal ?? signal));
    const output = guard ? await guard.watch(running) : await running;
    await deps.notices.stepFinished(input.index, input.label, 'done', stepSummary(output));
    return output;
  } catch (error) {
    if (!signal.aborted) await deps.notices.stepFinished(input.index, input.label, 'failed', describeFailure(error));
    throw error;
  } finally {
    await guard?.stop();
  }
}

/** The `runStep` actor: runs the step's executor and keeps track of it until it settles. */
export function stepActor(deps: StepActorDeps) {
  return fromPromise<StepOutput, StepInput>(({ input, system, signal }) => {
    const running = runStep(deps, input, rootOf(system), signal);
    deps.inflight.add(running);
    const forget = () => deps.inflight.delete(running);
    void running.then(forget, forget);
    return running;
  });
}

/**
 * `onFailure: rollback`: puts Route 53 weights back to what they were before the run (recorded by the
 * first shift step), then the run halts with the original failure. CronJobs already moved stay on the
 * target: moving them back is a reverse handoff the operator starts deliberately.
 */
async function rollback(deps: StepActorDeps, input: RollbackInput, root: RunRef, signal: AbortSignal): Promise<void> {
  const context = root.getSnapshot().context;
  const index = input.failedStep;
  const step = deps.run.loaded.runbook.steps[index];
  if (!step) return;
  const progress = context.progress[index] ?? { status: 'failed' as const, deadlines: {}, data: {} };
  // The failed step's runtime persists the rollback's deadlines with that step, so a restore keeps them.
  const rt = createStepRuntime(deps, { index, step, label: `rollback after step ${index + 1}`, progress }, root, signal);
  const restored = await rollbackTraffic(rt, context.progress.slice(0, index + 1));
  const message = restored
    ? `rollback: weights restored to their values before the run`
    : 'rollback: no traffic step had changed weights, nothing to restore';
  deps.run.reporter.info(message);
  await deps.run.journal.append({ type: 'write', step: index, message, ...(restored ? { data: restored } : {}) });
}

/** The `rollback` actor, tracked like a step so the lock outlives it. */
export function rollbackActor(deps: StepActorDeps) {
  return fromPromise<void, RollbackInput>(({ input, system, signal }) => {
    const running = rollback(deps, input, rootOf(system), signal);
    deps.inflight.add(running);
    const forget = () => deps.inflight.delete(running);
    void running.then(forget, forget);
    return running;
  });
}
