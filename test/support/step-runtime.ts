// A small StepRuntime for running one step executor outside the engine: progress and deadlines kept in
// memory the way the engine persists them (deadlines stored on first use), a journal and a reporter that
// record what they are told, and a virtual clock whose sleeps advance time at once.
import { stepLabel } from '../../src/machine/labels.js';
import type { Clock } from '../../src/core/clock.js';
import type { Ports } from '../../src/core/ports.js';
import type { Environment, LoadedRunbook, Runbook, Step } from '../../src/config/types.js';
import type { Plan } from '../../src/plan/types.js';
import type { JournalEntry, JsonValue, Reporter, RunContext, StepProgress, StepRuntime } from '../../src/steps/types.js';

export interface VirtualClock extends Clock {
  /** Every sleep asked for, in ms, in order. */
  sleeps: number[];
  advance(ms: number): void;
}

export function virtualClock(start = new Date('2026-03-01T12:00:00Z')): VirtualClock {
  let now = start.getTime();
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => new Date(now),
    advance(ms) {
      now += ms;
    },
    async sleep(ms, signal) {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      now += Math.max(0, ms);
      // Let other promises run, as a real timer would.
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

export interface RecordingReporter extends Reporter {
  lines: string[];
}

export function recordingReporter(): RecordingReporter {
  const lines: string[] = [];
  return {
    lines,
    step: (index, label) => lines.push(`step ${index} ${label}`),
    info: (message) => lines.push(`info ${message}`),
    warn: (message) => lines.push(`warn ${message}`),
    waiting: (what, until) => lines.push(`waiting ${what} until ${until.toISOString()}`),
  };
}

export function testEnvironment(overrides: Partial<Environment> = {}): Environment {
  return {
    apiVersion: 'cutover.dev/v1',
    kind: 'Environment',
    name: 'test',
    clusters: { blue: { kubeconfig: { context: 'lab-blue' } }, green: { kubeconfig: { context: 'lab-green' } } },
    allowNonInteractiveApproval: false,
    ...overrides,
  };
}

export function testLoaded(environment: Environment, steps: Step[], overrides: Partial<Runbook> = {}): LoadedRunbook {
  return {
    runbook: {
      apiVersion: 'cutover.dev/v1',
      kind: 'Runbook',
      name: 'test-blue-to-green',
      environment: 'env.yaml',
      from: 'blue',
      to: 'green',
      cronjobs: { namespaces: [], exclude: [], running: 'wait', drainTimeoutMs: 60_000, missedRuns: 'skip', missedRunsLimit: 10, concurrency: 1 },
      onFailure: 'halt',
      steps,
      ...overrides,
    },
    runbookFile: 'test/runbook.yaml',
    environment,
    environmentFile: 'test/env.yaml',
  };
}

export function emptyPlan(loaded: LoadedRunbook, observedAt: Date): Plan {
  return {
    runbook: loaded.runbook.name,
    environment: loaded.environment.name,
    from: loaded.runbook.from,
    to: loaded.runbook.to,
    observedAt: observedAt.toISOString(),
    fingerprint: 'test',
    cronJobs: [],
    steps: [],
    messages: [],
  };
}

export interface TestRun extends RunContext {
  entries: JournalEntry[];
  reporter: RecordingReporter;
}

export function testRun(options: { loaded: LoadedRunbook; ports: Partial<Ports>; clock: Clock; plan?: Plan; runId?: string }): TestRun {
  const entries: JournalEntry[] = [];
  const clock = options.clock;
  return {
    runId: options.runId ?? 'run-test',
    loaded: options.loaded,
    plan: options.plan ?? emptyPlan(options.loaded, clock.now()),
    startedBy: 'tester',
    ports: { clusters: {}, approvals: {}, workloads: {}, ...options.ports },
    clock,
    journal: {
      append: async (entry) => {
        entries.push({ at: clock.now().toISOString(), ...entry });
      },
      read: async () => [...entries],
    },
    entries,
    reporter: recordingReporter(),
    autoApprove: false,
    outputs: {},
  };
}

export function newProgress(): StepProgress {
  return { status: 'running', deadlines: {}, data: {} };
}

/** A runtime for step `index` of the run's runbook; pass the same `progress` again to simulate a resume. */
export function stepRuntime<S extends Step>(run: RunContext, index: number, progress: StepProgress = newProgress(), signal = new AbortController().signal): StepRuntime<S> {
  const step = run.loaded.runbook.steps[index] as S | undefined;
  if (!step) throw new Error(`the runbook has no step ${index}`);
  return {
    run,
    index,
    step,
    label: stepLabel(step),
    progress,
    async update(data: Record<string, JsonValue>) {
      // A JSON round trip, as the engine's persistence does: nothing non-serialisable slips through.
      Object.assign(progress.data, JSON.parse(JSON.stringify(data)) as Record<string, JsonValue>);
    },
    async deadline(name: string, ms: number) {
      const stored = progress.deadlines[name];
      if (stored) return new Date(stored);
      const at = new Date(run.clock.now().getTime() + ms);
      progress.deadlines[name] = at.toISOString();
      return at;
    },
    signal,
  };
}

/** Runs steps 0..n-1 of the runbook in order, feeding each output to the later steps, as the engine does. */
export async function runSteps(run: RunContext, executor: (rt: StepRuntime) => Promise<Record<string, JsonValue> | void>, count: number): Promise<void> {
  for (let index = 0; index < count; index++) {
    const output = await executor(stepRuntime(run, index));
    run.outputs[index] = output ?? undefined;
  }
}
