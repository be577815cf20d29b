// The runbook as an xstate machine: one state per step, in order (`step0`, `step1`, …), then `done`.
// A failing step leads to `halted` (or `rollback` with `onFailure: rollback`); SIGINT leads to `aborted`.
// `halted` and `aborted` are resting, not final: a RESUME goes back to the step that was running, so a
// persisted snapshot can always be continued.
//
// Persistence rules this machine keeps (see DOMAIN.md, xstate v5 persistence):
//   - every effect is the named actor `runStep`, provided by the engine; the machine creates no client;
//   - no `after`: delayed transitions are not persisted, so every wait is an awaited promise inside the
//     step whose absolute deadline lives in context (PROGRESS events record it);
//   - context is plain JSON: no ActorRef, no Error object, no Date.
// On restore xstate restarts the invoked actor with the input it had when first invoked, so an executor
// must read its progress from the root's live context (`system.get(RUN_SYSTEM_ID)`), not from its input.
import { assign, fromPromise, setup } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import type { LoadedRunbook, Step } from '../config/types.js';
import { systemClock } from '../core/clock.js';
import type { Clock } from '../core/clock.js';
import { CutoverError } from '../core/errors.js';
import type { JsonValue, StepProgress } from '../steps/types.js';
import { stepLabel } from './labels.js';

/** systemId of the root actor: how a step actor reaches the run to report progress. */
export const RUN_SYSTEM_ID = 'cutover-run';

export interface RunHalt {
  step: number;
  message: string;
}

export interface RunbookContext {
  runbook: string;
  /** The step being run; after an abort or a halt, the step a RESUME goes back to. */
  current: number;
  progress: StepProgress[];
  halt?: RunHalt;
}

export type RunbookEvent =
  | { type: 'PROGRESS'; index: number; data?: Record<string, JsonValue>; deadlines?: Record<string, string> }
  | { type: 'ABORT' }
  | { type: 'RESUME' };

export interface StepInput {
  index: number;
  step: Step;
  label: string;
  /** Progress when the step was (re)entered; live progress is in the root's context. */
  progress: StepProgress;
}

export type StepOutput = Record<string, JsonValue> | void;

export interface RollbackInput {
  failedStep: number;
}

export type RunbookSnapshot = SnapshotFrom<ReturnType<typeof createRunbookMachine>>;

/** Names of the states that are not steps. */
export const DONE = 'done';
export const HALTED = 'halted';
export const ABORTED = 'aborted';
export const ROLLBACK = 'rollback';

export const stepStateName = (index: number): string => `step${index}`;

/** How a failure reads in context and in the operator's output: our own errors speak for themselves. */
export function describeFailure(error: unknown): string {
  if (error instanceof CutoverError) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

const pending = (): StepProgress => ({ status: 'pending', deadlines: {}, data: {} });

function replaceAt(progress: StepProgress[], index: number, change: Partial<StepProgress>): StepProgress[] {
  return progress.map((p, i) => (i === index ? { ...p, ...change } : p));
}

function mergeProgress(progress: StepProgress[], event: Extract<RunbookEvent, { type: 'PROGRESS' }>): StepProgress[] {
  const old = progress[event.index];
  if (!old) return progress;
  return replaceAt(progress, event.index, {
    data: { ...old.data, ...event.data },
    deadlines: { ...old.deadlines, ...event.deadlines },
  });
}

function runbookSetup(clock: Clock) {
  const now = (): string => clock.now().toISOString();
  return setup({
    types: {
      context: {} as RunbookContext,
      events: {} as RunbookEvent,
    },
    actors: {
      // Placeholders so the machine names its effects; the engine (or a test) provides the real ones.
      runStep: fromPromise<StepOutput, StepInput>(async ({ input }) => {
        throw new Error(`step ${input.index + 1} (${input.label}) has no executor: runStep is provided by the engine`);
      }),
      rollback: fromPromise<void, RollbackInput>(async () => {
        throw new Error('rollback is provided by the engine');
      }),
    },
    guards: {
      isCurrent: ({ context }, params: { index: number }) => context.current === params.index,
    },
    actions: {
      enterStep: assign(({ context }, params: { index: number }) => ({
        current: params.index,
        halt: undefined,
        progress: replaceAt(context.progress, params.index, {
          status: 'running',
          startedAt: context.progress[params.index]?.startedAt ?? now(),
          error: undefined,
        }),
      })),
      finishStep: assign(({ context }, params: { index: number; output: StepOutput }) => ({
        progress: replaceAt(context.progress, params.index, {
          status: 'done',
          finishedAt: now(),
          output: params.output ?? undefined,
        }),
      })),
      failStep: assign(({ context }, params: { index: number; message: string }) => ({
        halt: { step: params.index, message: params.message },
        progress: replaceAt(context.progress, params.index, {
          status: 'failed',
          finishedAt: now(),
          error: params.message,
        }),
      })),
      // A retry after a halt is a new attempt: it gets fresh deadlines (the old ones have passed), but
      // keeps `data` so work already done is not done again.
      forgetDeadlines: assign(({ context }) => ({
        progress: replaceAt(context.progress, context.current, { deadlines: {}, finishedAt: undefined }),
      })),
      recordProgress: assign(({ context, event }) => ({
        progress: event.type === 'PROGRESS' ? mergeProgress(context.progress, event) : context.progress,
      })),
    },
  });
}

type RunbookSetup = ReturnType<typeof runbookSetup>;
type StatesConfig = NonNullable<Parameters<RunbookSetup['createMachine']>[0]['states']>;

function stepState(steps: Step[], index: number, failureTarget: string): StatesConfig[string] {
  const step = steps[index]!;
  const label = stepLabel(step);
  const next = index + 1 < steps.length ? stepStateName(index + 1) : DONE;
  return {
    description: label,
    meta: { kind: step.kind, index },
    entry: { type: 'enterStep', params: { index } },
    invoke: {
      id: `runStep${index}`,
      src: 'runStep',
      input: ({ context }) => ({ index, step, label, progress: context.progress[index] ?? pending() }),
      onDone: {
        target: next,
        actions: { type: 'finishStep', params: ({ event }) => ({ index, output: event.output }) },
      },
      onError: {
        target: failureTarget,
        actions: { type: 'failStep', params: ({ event }) => ({ index, message: describeFailure(event.error) }) },
      },
    },
    on: { ABORT: ABORTED },
  };
}

/** RESUME goes back to the step in `current`: one guarded transition per step. */
function resumeTransitions(steps: Step[], extraActions: 'forgetDeadlines' | undefined) {
  return steps.map((_, index) => ({
    target: stepStateName(index),
    guard: { type: 'isCurrent' as const, params: { index } },
    ...(extraActions ? { actions: extraActions } : {}),
  }));
}

function rollbackState(): StatesConfig[string] {
  return {
    description: 'roll back the steps done so far',
    invoke: {
      id: 'rollback',
      src: 'rollback',
      input: ({ context }) => ({ failedStep: context.halt?.step ?? context.current }),
      onDone: HALTED,
      onError: {
        target: HALTED,
        actions: assign(({ context, event }) => ({
          halt: { step: context.current, message: `${context.halt?.message ?? ''}\nrollback failed: ${describeFailure(event.error)}`.trim() },
        })),
      },
    },
    on: { ABORT: ABORTED },
  };
}

function buildStates(loaded: LoadedRunbook): StatesConfig {
  const { steps, onFailure } = loaded.runbook;
  const failureTarget = onFailure === 'rollback' ? ROLLBACK : HALTED;
  const states: StatesConfig = {};
  steps.forEach((_, index) => {
    states[stepStateName(index)] = stepState(steps, index, failureTarget);
  });
  states[DONE] = { type: 'final', description: 'every step done' };
  states[HALTED] = {
    description: 'stopped by a failure, resume retries the failed step',
    on: { RESUME: resumeTransitions(steps, 'forgetDeadlines') },
  };
  states[ABORTED] = {
    description: 'interrupted, resume continues the interrupted step',
    on: { RESUME: resumeTransitions(steps, undefined) },
  };
  if (onFailure === 'rollback') states[ROLLBACK] = rollbackState();
  return states;
}

/**
 * The machine for one runbook. `clock` stamps startedAt/finishedAt; the engine passes its own so a
 * virtual clock (tests, sandbox) gives virtual times.
 */
export function createRunbookMachine(loaded: LoadedRunbook, clock: Clock = systemClock) {
  const { name, steps } = loaded.runbook;
  return runbookSetup(clock).createMachine({
    id: 'runbook',
    description: name,
    initial: steps.length > 0 ? stepStateName(0) : DONE,
    context: () => ({ runbook: name, current: 0, progress: steps.map(pending) }),
    on: {
      PROGRESS: { actions: 'recordProgress' },
    },
    states: buildStates(loaded),
  });
}

export type RunbookMachine = ReturnType<typeof createRunbookMachine>;
