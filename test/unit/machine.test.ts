import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import type { Snapshot } from 'xstate';
import type { FailurePolicy, LoadedRunbook, Step } from '../../src/config/types.js';
import type { Clock } from '../../src/core/clock.js';
import { HaltError } from '../../src/core/errors.js';
import { toMermaid } from '../../src/machine/graph.js';
import { RUN_SYSTEM_ID, createRunbookMachine } from '../../src/machine/runbook.js';
import type { RollbackInput, RunbookMachine, RunbookSnapshot, StepInput, StepOutput } from '../../src/machine/runbook.js';
import { loadedRunbook } from '../support/builders.js';

const NOW = new Date('2025-06-01T10:00:00.000Z');
const fixedClock: Clock = { now: () => NOW, sleep: async () => {} };

const STEPS: Step[] = [
  { kind: 'preflight' },
  { kind: 'moveCronJobs' },
  { kind: 'shiftTraffic', percent: 10, soakMs: 300_000 },
  { kind: 'gate', name: 'api healthy', timeoutMs: 60_000, gate: { type: 'cronjobFirstRun' } },
  { kind: 'approve', via: 'slack', required: 1, timeoutMs: 600_000 },
];

function loadedWith(steps: Step[], onFailure: FailurePolicy = 'halt'): LoadedRunbook {
  return { ...loadedRunbook({ runbook: { name: 'lab-blue-to-green', onFailure }, steps }), runbookFile: 'workflows/lab.yaml' };
}

type StepImpl = (input: StepInput) => Promise<StepOutput>;

function machineWith(loaded: LoadedRunbook, impl: StepImpl): RunbookMachine {
  return createRunbookMachine(loaded, fixedClock).provide({
    actors: { runStep: fromPromise<StepOutput, StepInput>(({ input }) => impl(input)) },
  });
}

const atRest = (s: RunbookSnapshot) => s.status !== 'active' || ['halted', 'aborted'].includes(String(s.value));

async function runToRest(machine: RunbookMachine, snapshot?: unknown) {
  const actor = createActor(machine, {
    systemId: RUN_SYSTEM_ID,
    ...(snapshot ? { snapshot: snapshot as Snapshot<unknown> } : {}),
  }).start();
  return { actor, final: await waitFor(actor, atRest) };
}

describe('runbook machine', () => {
  it('runs the steps one after another, in runbook order, and ends done', async () => {
    const started: number[] = [];
    const machine = machineWith(loadedWith(STEPS), async (input) => {
      started.push(input.index);
      return { kind: input.step.kind };
    });
    const { final } = await runToRest(machine);
    expect(final.value).toBe('done');
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(final.context.progress.map((p) => p.status)).toEqual(['done', 'done', 'done', 'done', 'done']);
    expect(final.context.progress[2]).toMatchObject({
      output: { kind: 'shiftTraffic' },
      startedAt: NOW.toISOString(),
      finishedAt: NOW.toISOString(),
    });
  });

  it('halts on a failing step with its message and next steps, and runs nothing after it', async () => {
    const started: number[] = [];
    const machine = machineWith(loadedWith(STEPS), async (input) => {
      started.push(input.index);
      if (input.index === 2) throw new HaltError('gate api healthy failed: 503', 'Check the green ingress, then resume.');
    });
    const { final } = await runToRest(machine);
    expect(final.value).toBe('halted');
    expect(started).toEqual([0, 1, 2]);
    expect(final.context.halt).toEqual({ step: 2, message: 'gate api healthy failed: 503\nCheck the green ingress, then resume.' });
    expect(final.context.progress.map((p) => p.status)).toEqual(['done', 'done', 'failed', 'pending', 'pending']);
    expect(final.context.progress[2]?.error).toContain('503');
  });

  it('names an unexpected error by its type when a step throws one', async () => {
    const machine = machineWith(loadedWith(STEPS.slice(0, 1)), async () => {
      throw new TypeError('cannot read properties of undefined');
    });
    const { final } = await runToRest(machine);
    expect(final.context.halt?.message).toBe('TypeError: cannot read properties of undefined');
  });

  it('runs no step by itself: without a provided runStep the first step halts the run', async () => {
    const { final } = await runToRest(createRunbookMachine(loadedWith(STEPS), fixedClock));
    expect(final.value).toBe('halted');
    expect(final.context.halt?.message).toContain('runStep is provided by the engine');
  });

  it('records PROGRESS data and deadlines of a running step, merging with what was there', async () => {
    let release!: () => void;
    const machine = machineWith(loadedWith(STEPS.slice(0, 2)), (input) =>
      input.index === 1 ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve(),
    );
    const actor = createActor(machine, { systemId: RUN_SYSTEM_ID }).start();
    await waitFor(actor, (s) => String(s.value) === 'step1');
    actor.send({ type: 'PROGRESS', index: 1, data: { phase: 'suspended', count: 1 } });
    actor.send({ type: 'PROGRESS', index: 1, deadlines: { drain: '2025-06-01T10:10:00.000Z' } });
    actor.send({ type: 'PROGRESS', index: 1, data: { count: 2 } });
    expect(actor.getSnapshot().context.progress[1]).toMatchObject({
      status: 'running',
      data: { phase: 'suspended', count: 2 },
      deadlines: { drain: '2025-06-01T10:10:00.000Z' },
    });
    release();
    expect((await waitFor(actor, atRest)).value).toBe('done');
  });

  it('stops in aborted on ABORT, and a restored snapshot resumes the interrupted step, keeping its progress', async () => {
    const invocations: StepInput[] = [];
    const machine = machineWith(loadedWith(STEPS.slice(0, 3)), (input) => {
      invocations.push(input);
      return input.index === 1 && invocations.length === 2 ? new Promise(() => {}) : Promise.resolve();
    });
    const first = createActor(machine, { systemId: RUN_SYSTEM_ID }).start();
    await waitFor(first, (s) => String(s.value) === 'step1');
    first.send({ type: 'PROGRESS', index: 1, deadlines: { drain: '2025-06-01T10:10:00.000Z' } });
    first.send({ type: 'ABORT' });
    expect(first.getSnapshot().value).toBe('aborted');
    const saved = JSON.parse(JSON.stringify(first.getPersistedSnapshot())) as unknown;
    first.stop();

    const second = createActor(machine, { systemId: RUN_SYSTEM_ID, snapshot: saved as Snapshot<unknown> }).start();
    expect(second.getSnapshot().value).toBe('aborted');
    second.send({ type: 'RESUME' });
    const final = await waitFor(second, atRest);
    expect(final.value).toBe('done');
    expect(invocations.map((i) => i.index)).toEqual([0, 1, 1, 2]);
    expect(final.context.progress[1]?.deadlines).toEqual({ drain: '2025-06-01T10:10:00.000Z' });
  });

  it('retries the failed step on RESUME after a halt, with fresh deadlines and the data it had recorded', async () => {
    let attempts = 0;
    const machine = machineWith(loadedWith(STEPS.slice(0, 2)), async (input) => {
      if (input.index === 1 && ++attempts === 1) throw new HaltError('drain deadline passed');
    });
    const { actor } = await runToRest(machine);
    actor.send({ type: 'PROGRESS', index: 1, data: { phase: 'suspended' }, deadlines: { drain: '2025-06-01T10:10:00.000Z' } });
    actor.send({ type: 'RESUME' });
    const final = await waitFor(actor, atRest);
    expect(final.value).toBe('done');
    expect(attempts).toBe(2);
    expect(final.context.progress[1]).toMatchObject({ status: 'done', deadlines: {}, data: { phase: 'suspended' } });
    expect(final.context.halt).toBeUndefined();
  });

  it('with onFailure: rollback, a failing step runs the rollback actor and then rests in halted', async () => {
    const rolledBack: RollbackInput[] = [];
    const machine = createRunbookMachine(loadedWith(STEPS.slice(0, 2), 'rollback'), fixedClock).provide({
      actors: {
        runStep: fromPromise<StepOutput, StepInput>(async ({ input }) => {
          if (input.index === 1) throw new HaltError('moving CronJobs failed');
        }),
        rollback: fromPromise<void, RollbackInput>(async ({ input }) => void rolledBack.push(input)),
      },
    });
    const { final } = await runToRest(machine);
    expect(rolledBack).toEqual([{ failedStep: 1 }]);
    expect(final.value).toBe('halted');
    expect(final.context.halt?.message).toBe('moving CronJobs failed');
  });
});

describe('runbook graph', () => {
  it('draws every step in order with its label, then done, halted and aborted', () => {
    const graph = toMermaid(loadedWith(STEPS));
    const lines = graph.trim().split('\n');
    expect(lines[0]).toBe('stateDiagram-v2');
    expect(lines).toContain('  [*] --> step0');
    expect(lines).toContain('  step0: 1. preflight');
    expect(lines).toContain('  step1: 2. move CronJobs');
    expect(lines).toContain('  step2: 3. shift 10% of traffic to the target');
    expect(lines).toContain('  step3: 4. api healthy');
    expect(lines).toContain('  step4: 5. approval via slack');
    for (let i = 0; i < 4; i++) expect(lines).toContain(`  step${i} --> step${i + 1}: done`);
    expect(lines).toContain('  step4 --> done: done');
    for (let i = 0; i < 5; i++) {
      expect(lines).toContain(`  step${i} --> halted: failed`);
      expect(lines).toContain(`  step${i} --> aborted: ABORT`);
      expect(lines).toContain(`  halted --> step${i}: RESUME`);
    }
    expect(lines).toContain('  done --> [*]');
    expect(graph).not.toContain('rollback');
  });

  it('draws the rollback path only when the runbook asks for onFailure: rollback', () => {
    const lines = toMermaid(loadedWith(STEPS.slice(0, 2), 'rollback')).split('\n');
    expect(lines).toContain('  step0 --> rollback: failed');
    expect(lines).toContain('  step1 --> rollback: failed');
    expect(lines).toContain('  rollback --> halted: done');
    expect(lines).not.toContain('  step0 --> halted: failed');
  });

  it('keeps user text from breaking the diagram', () => {
    const graph = toMermaid(loadedWith([{ kind: 'preflight', name: 'check; then\n#go' }]));
    expect(graph).toContain('  step0: 1. check then go');
  });
});
