import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoadedRunbook, Step } from '../../src/config/types.js';
import type { Clock } from '../../src/core/clock.js';
import { HaltError, InputError, LockedError } from '../../src/core/errors.js';
import type { Ports, RunNotice, RunNotifier } from '../../src/core/ports.js';
import { acquireFileLock } from '../../src/engine/lock.js';
import { MemoryStateStore } from '../../src/engine/memory-store.js';
import { executeRun, findRun, newRunId, readRunJournal } from '../../src/engine/run.js';
import type { ExecuteOptions } from '../../src/engine/run.js';
import { LocalStateStore, localStateDir, parseJournal } from '../../src/engine/store.js';
import type { PersistedRun, StateStore } from '../../src/engine/store.js';
import type { StepExecutors } from '../../src/steps/index.js';
import type { JournalEntry, Reporter, StepExecutor } from '../../src/steps/types.js';
import type { Plan } from '../../src/plan/types.js';
import { MemoryCluster } from '../support/memory-cluster.js';
import { loadedRunbook } from '../support/builders.js';

const T0 = new Date('2025-06-01T10:00:00.000Z');
const MINUTE = 60_000;
const SOAK_MS = 5 * MINUTE;

/** A clock that moves only when the test says so; sleepers wake when time reaches their deadline. */
class ManualClock implements Clock {
  private sleepers: { until: number; wake: () => void }[] = [];
  private onSleep: (() => void)[] = [];

  constructor(private current: number) {}

  now(): Date {
    return new Date(this.current);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const sleeper = { until: this.current + ms, wake: resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(signal.reason);
      });
      this.onSleep.splice(0).forEach((notify) => notify());
    });
  }

  /** Resolves with how long the first sleeper waits, once someone sleeps. */
  async whenSleeping(): Promise<number> {
    if (this.sleepers.length === 0) await new Promise<void>((resolve) => this.onSleep.push(resolve));
    return this.sleepers[0]!.until - this.current;
  }

  advance(ms: number): void {
    this.current += ms;
    const due = this.sleepers.filter((s) => s.until <= this.current);
    this.sleepers = this.sleepers.filter((s) => s.until > this.current);
    due.forEach((s) => s.wake());
  }
}

/** A store that stops writing at `crash()`: what is on disk then is what a killed process leaves. */
class CrashingStore implements StateStore {
  private crashed = false;
  constructor(private readonly inner: StateStore) {}
  get location(): string {
    return this.inner.location;
  }
  crash(): void {
    this.crashed = true;
  }
  load = () => this.inner.load();
  readJournal = () => this.inner.readJournal();
  lockHolder = () => this.inner.lockHolder();
  archive = (runId: string) => this.inner.archive(runId);
  save = async (run: PersistedRun) => (this.crashed ? undefined : this.inner.save(run));
  appendJournal = async (...entries: JournalEntry[]) => (this.crashed ? undefined : this.inner.appendJournal(...entries));
  lock: StateStore['lock'] = async (request) => {
    const lock = await this.inner.lock(request);
    return {
      holder: lock.holder,
      renew: () => (this.crashed ? Promise.resolve() : lock.renew()),
      release: () => (this.crashed ? Promise.resolve() : lock.release()),
    };
  };
}

const STEPS: Step[] = [
  { kind: 'moveCronJobs' },
  { kind: 'shiftTraffic', percent: 10, soakMs: SOAK_MS },
  { kind: 'gate', timeoutMs: MINUTE, gate: { type: 'cronjobFirstRun' } },
];

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cutover-engine-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function loaded(steps: Step[] = STEPS): LoadedRunbook {
  return {
    ...loadedRunbook({ runbook: { name: 'lab-blue-to-green' }, steps }),
    runbookFile: join(dir, 'workflows', 'lab.yaml'),
    environmentFile: join(dir, 'config', 'lab.yaml'),
  };
}

const plan: Plan = {
  runbook: 'lab-blue-to-green',
  environment: 'lab',
  from: 'blue',
  to: 'green',
  observedAt: T0.toISOString(),
  fingerprint: 'sha256:test',
  cronJobs: [],
  steps: [],
  messages: [],
};

const silentReporter = (): Reporter & { lines: string[] } => {
  const lines: string[] = [];
  return {
    lines,
    step: (index, label) => lines.push(`step ${index + 1} ${label}`),
    info: (message) => lines.push(message),
    warn: (message) => lines.push(`warn ${message}`),
    waiting: (what, until) => lines.push(`waiting ${what} until ${until.toISOString()}`),
  };
};

const unexpected: StepExecutor = async (rt) => {
  throw new Error(`no executor for ${rt.step.kind} in this test`);
};

function executors(overrides: Partial<Record<Step['kind'], StepExecutor>>): StepExecutors {
  const all = { preflight: unexpected, moveCronJobs: unexpected, shiftTraffic: unexpected, gate: unexpected, approve: unexpected };
  return { ...all, ...overrides } as StepExecutors;
}

function portsWith(blue: MemoryCluster): Ports {
  return { clusters: { blue, green: new MemoryCluster('green') }, approvals: {}, workloads: {} };
}

function options(extra: Partial<ExecuteOptions> & Pick<ExecuteOptions, 'executors' | 'ports'>): ExecuteOptions {
  return {
    loaded: loaded(),
    plan,
    clock: new ManualClock(T0.getTime()),
    reporter: silentReporter(),
    startedBy: 'alice',
    autoApprove: false,
    ...extra,
  };
}

const transitions = (journal: JournalEntry[]) => journal.filter((e) => e.type === 'transition').map((e) => e.message);

/**
 * The kill-and-restore scenario: step 1 suspends a CronJob on the source cluster, step 2 records its
 * weights change and soaks on an absolute deadline. The first process dies during the soak; a second one
 * restores the run from disk two minutes later and finishes it.
 */
async function killDuringSoakThenResume() {
  const blue = new MemoryCluster('blue');
  blue.addCronJob({ namespace: 'billing', name: 'invoices' });
  const soakDeadlines: string[] = [];
  const dataSeenAtStart: Record<string, unknown>[] = [];
  const onDiskAfterUpdate: unknown[] = [];
  let weightWrites = 0;

  const registry = executors({
    moveCronJobs: async (rt) => {
      await rt.run.ports.clusters.blue!.setSuspend({ namespace: 'billing', name: 'invoices' }, true);
      return { moved: 1 };
    },
    shiftTraffic: async (rt) => {
      dataSeenAtStart.push({ ...rt.progress.data });
      if (rt.progress.data.changeId === undefined) {
        weightWrites++;
        await rt.update({ changeId: 'C-1' });
        const onDisk = JSON.parse(await readFile(join(localStateDir(rt.run.loaded), 'snapshot.json'), 'utf8')) as PersistedRun;
        onDiskAfterUpdate.push(onDisk.snapshot.context.progress[1]?.data.changeId);
      }
      const until = await rt.deadline('soak', SOAK_MS);
      soakDeadlines.push(until.toISOString());
      await rt.run.clock.sleep(until.getTime() - rt.run.clock.now().getTime(), rt.signal);
      return { soaked: true };
    },
    gate: async () => ({ passed: true }),
  });

  // First process: killed while soaking. Nothing it does after the kill reaches the disk.
  const firstClock = new ManualClock(T0.getTime());
  const firstStore = new CrashingStore(new LocalStateStore(localStateDir(loaded())));
  const interrupt = new AbortController();
  const first = executeRun(
    options({ executors: registry, ports: portsWith(blue), clock: firstClock, store: firstStore, signal: interrupt.signal }),
  );
  await firstClock.whenSleeping();
  firstStore.crash();
  interrupt.abort(new Error('killed'));
  await first;
  const afterKill = await findRun(loaded());

  // Second process, two minutes later: the first one's pid is dead, so its lock may be stolen.
  const secondClock = new ManualClock(T0.getTime() + 2 * MINUTE);
  const secondStore = new LocalStateStore(localStateDir(loaded()), { isProcessAlive: () => false });
  const second = executeRun(
    options({
      executors: registry,
      ports: portsWith(blue),
      clock: secondClock,
      store: secondStore,
      resume: afterKill,
      stealLock: true,
      startedBy: 'bob',
    }),
  );
  const remainingSoak = await secondClock.whenSleeping();
  secondClock.advance(remainingSoak);
  const result = await second;
  return { blue, afterKill, result, remainingSoak, soakDeadlines, dataSeenAtStart, onDiskAfterUpdate, weightWrites, store: secondStore };
}

// Every transition is fsynced: on a busy shared disk a run takes longer than vitest's default 5 s.
describe('engine persistence round trip', { timeout: 60_000 }, () => {
  it('restores a killed run from disk and finishes it on the original absolute deadline, without re-running done steps', async () => {
    const run = await killDuringSoakThenResume();

    expect(run.afterKill).toMatchObject({ status: 'running', snapshot: { value: 'step1' } });
    expect(run.afterKill?.snapshot.context.progress[1]?.deadlines).toEqual({ soak: '2025-06-01T10:05:00.000Z' });
    expect(run.afterKill?.lock?.pid).toBe(process.pid);

    expect(run.result).toMatchObject({ status: 'done', runId: run.afterKill?.runId });
    expect(run.soakDeadlines).toEqual(['2025-06-01T10:05:00.000Z', '2025-06-01T10:05:00.000Z']);
    expect(run.remainingSoak).toBe(3 * MINUTE);
    expect(run.blue.callsOf('setSuspend')).toEqual([[{ namespace: 'billing', name: 'invoices' }, true]]);

    const journal = await run.store.readJournal();
    expect(transitions(journal)).toEqual(['start → step0', 'step0 → step1', 'step1 → step2', 'step2 → done']);
    expect(journal.filter((e) => e.type === 'run').map((e) => e.message)).toEqual([
      `run ${run.result.runId} started by alice`,
      `run ${run.result.runId} resumed by bob`,
      'run done',
    ]);
    const saved = await findRun(loaded());
    expect(saved).toMatchObject({ status: 'done', startedBy: 'alice', snapshot: { value: 'done' } });
    expect(saved?.snapshot.context.progress.map((p) => p.output)).toEqual([{ moved: 1 }, { soaked: true }, { passed: true }]);
    expect(saved?.lock).toBeUndefined();
  });

  it('re-invokes the interrupted executor with the data it persisted, so it does not write twice', async () => {
    const run = await killDuringSoakThenResume();
    expect(run.dataSeenAtStart).toEqual([{}, { changeId: 'C-1' }]);
    expect(run.weightWrites).toBe(1);
    expect(run.onDiskAfterUpdate).toEqual(['C-1']);
  });
});

describe('engine outcomes', { timeout: 60_000 }, () => {
  const blue = () => new MemoryCluster('blue');

  it('halts on a HaltError with its message and next steps, and persists the halted run', async () => {
    const result = await executeRun(
      options({
        ports: portsWith(blue()),
        executors: executors({
          moveCronJobs: async () => ({}),
          shiftTraffic: async () => {
            throw new HaltError('Route 53 refused the change: Throttling', 'Wait a minute, then resume.');
          },
        }),
      }),
    );
    expect(result).toMatchObject({ status: 'halted', message: 'Route 53 refused the change: Throttling\nWait a minute, then resume.' });
    const saved = await findRun(loaded());
    expect(saved).toMatchObject({ status: 'halted', message: result.message, snapshot: { value: 'halted' } });
    expect(transitions(await readRunJournal(loaded()))).toEqual(['start → step0', 'step0 → step1', 'step1 → halted']);
    expect(saved?.lock).toBeUndefined();
  });

  it('halts on any other error with its message', async () => {
    const result = await executeRun(
      options({
        ports: portsWith(blue()),
        executors: executors({
          moveCronJobs: async () => {
            throw new RangeError('weight 300 out of range');
          },
        }),
      }),
    );
    expect(result).toMatchObject({ status: 'halted', message: 'RangeError: weight 300 out of range' });
  });

  it('resumes a halted run at the failed step with fresh deadlines and the data it kept', async () => {
    const seen: { data: unknown; deadline: string }[] = [];
    let attempt = 0;
    const clock = new ManualClock(T0.getTime());
    const registry = executors({
      moveCronJobs: async (rt) => {
        attempt++;
        const deadline = (await rt.deadline('drain', 10 * MINUTE)).toISOString();
        seen.push({ data: { ...rt.progress.data }, deadline });
        if (attempt === 1) {
          await rt.update({ suspended: ['billing/invoices'] });
          throw new HaltError('drain deadline passed with billing/invoices-123 still running');
        }
      },
      shiftTraffic: async () => {},
      gate: async () => {},
    });
    const first = await executeRun(options({ ports: portsWith(blue()), executors: registry, clock }));
    expect(first.status).toBe('halted');

    clock.advance(30 * MINUTE);
    const record = await findRun(loaded());
    const second = await executeRun(options({ ports: portsWith(blue()), executors: registry, clock, resume: record }));
    expect(second).toEqual({ runId: first.runId, status: 'done' });
    expect(seen).toEqual([
      { data: {}, deadline: '2025-06-01T10:10:00.000Z' },
      { data: { suspended: ['billing/invoices'] }, deadline: '2025-06-01T10:40:00.000Z' },
    ]);
  });

  it('stops in a resumable aborted state on SIGINT and finishes the same step on resume', async () => {
    const clock = new ManualClock(T0.getTime());
    const started: number[] = [];
    const registry = executors({
      moveCronJobs: async (rt) => void started.push(rt.index),
      shiftTraffic: async (rt) => {
        started.push(rt.index);
        const until = await rt.deadline('soak', SOAK_MS);
        await rt.run.clock.sleep(until.getTime() - rt.run.clock.now().getTime(), rt.signal);
      },
      gate: async (rt) => void started.push(rt.index),
    });
    const interrupt = new AbortController();
    const running = executeRun(options({ ports: portsWith(blue()), executors: registry, clock, signal: interrupt.signal }));
    await clock.whenSleeping();
    interrupt.abort(new Error('SIGINT'));
    const stopped = await running;
    expect(stopped).toMatchObject({ status: 'aborted', message: expect.stringContaining('step 2') });
    const record = await findRun(loaded());
    expect(record).toMatchObject({ status: 'aborted', snapshot: { value: 'aborted' } });
    expect(record?.lock).toBeUndefined();

    const resumed = executeRun(options({ ports: portsWith(blue()), executors: registry, clock, resume: record }));
    clock.advance(await clock.whenSleeping());
    expect(await resumed).toMatchObject({ status: 'done' });
    expect(started).toEqual([0, 1, 1, 2]);
    expect(transitions(await new LocalStateStore(localStateDir(loaded())).readJournal())).toEqual([
      'start → step0',
      'step0 → step1',
      'step1 → aborted',
      'aborted → step1',
      'step1 → step2',
      'step2 → done',
    ]);
  });

  it('refuses to resume a run whose runbook steps were added, removed or reordered since it started', async () => {
    const failing = executors({
      moveCronJobs: async () => {
        throw new HaltError('source cluster unreachable');
      },
    });
    await executeRun(options({ ports: portsWith(blue()), executors: failing }));
    const reordered = loaded([STEPS[1]!, STEPS[0]!, STEPS[2]!]);
    const resumed = executeRun(options({ loaded: reordered, ports: portsWith(blue()), executors: failing, resume: await findRun(reordered) }));
    await expect(resumed).rejects.toThrow(InputError);
    await expect(resumed).rejects.toThrow(
      'the steps changed since run lab-blue-to-green-20250601T100000-',
    );
    await expect(resumed).rejects.toThrow('(then: moveCronJobs, shiftTraffic, gate; now: shiftTraffic, moveCronJobs, gate)');
  });

  it('refuses to start a second run beside an unfinished one', async () => {
    const failing = executors({
      moveCronJobs: async () => {
        throw new HaltError('source cluster unreachable');
      },
    });
    const first = await executeRun(options({ ports: portsWith(blue()), executors: failing }));
    const again = executeRun(options({ ports: portsWith(blue()), executors: failing }));
    await expect(again).rejects.toThrow(InputError);
    await expect(again).rejects.toThrow(`run ${first.runId} of lab-blue-to-green is halted (source cluster unreachable)`);
  });

  it('starts a new run after a done one, keeping the old run under runs/<runId>/', async () => {
    const registry = executors({ moveCronJobs: async () => {}, shiftTraffic: async () => {}, gate: async () => {} });
    const first = await executeRun(options({ ports: portsWith(blue()), executors: registry }));
    const second = await executeRun(options({ ports: portsWith(blue()), executors: registry }));
    expect(second.runId).not.toBe(first.runId);
    const archived = join(localStateDir(loaded()), 'runs', first.runId);
    const oldJournal = parseJournal(await readFile(join(archived, 'journal.ndjson'), 'utf8'));
    expect(oldJournal[0]?.message).toBe(`run ${first.runId} started by alice`);
    expect(JSON.parse(await readFile(join(archived, 'snapshot.json'), 'utf8'))).toMatchObject({ runId: first.runId, status: 'done' });
    const current = await new LocalStateStore(localStateDir(loaded())).readJournal();
    expect(current[0]?.message).toBe(`run ${second.runId} started by alice`);
  });

  it('stops the run and throws when a transition cannot be saved', async () => {
    const store = new LocalStateStore(localStateDir(loaded()));
    let saves = 0;
    const failingStore: StateStore = Object.assign(Object.create(store) as LocalStateStore, {
      save: async (run: PersistedRun) => {
        if (++saves === 3) throw new Error('ENOSPC: no space left on device');
        return store.save(run);
      },
    });
    const started: number[] = [];
    const registry = executors({
      moveCronJobs: async (rt) => void started.push(rt.index),
      shiftTraffic: async (rt) => void started.push(rt.index),
      gate: async (rt) => void started.push(rt.index),
    });
    await expect(executeRun(options({ ports: portsWith(blue()), executors: registry, store: failingStore }))).rejects.toThrow('ENOSPC');
    // The third save is the one entering step 3: its executor never starts.
    expect(started).toEqual([0, 1]);
    expect(await store.lockHolder()).toBeUndefined();
  });

  it('announces the run and its steps, and a resumed run threads under the first announcement', async () => {
    const calls: string[] = [];
    const notices: RunNotice[] = [];
    const notifier: RunNotifier = {
      runStarted: async (notice) => {
        notices.push(notice);
        calls.push(`run started${notice.resume ? ` under ${notice.resume.ts}` : ''}`);
        if (!notice.resume) await notice.remember({ ts: '1717236000.000100' });
      },
      stepStarted: async (index) => void calls.push(`step ${index + 1} started`),
      stepFinished: async (index, _label, outcome) => void calls.push(`step ${index + 1} ${outcome}`),
      runFinished: async (outcome, detail) => void calls.push(`run ${outcome}${detail ? `: ${detail}` : ''}`),
    };
    let attempts = 0;
    const registry = executors({
      moveCronJobs: async () => {},
      shiftTraffic: async () => {
        if (++attempts === 1) throw new HaltError('gate failed');
      },
      gate: async () => {},
    });
    const ports = { ...portsWith(blue()), notifier };
    await executeRun(options({ ports, executors: registry }));
    expect((await findRun(loaded()))?.notice).toEqual({ ts: '1717236000.000100' });
    await executeRun(options({ ports, executors: registry, resume: await findRun(loaded()) }));
    expect(calls).toEqual([
      'run started',
      'step 1 started',
      'step 1 done',
      'step 2 started',
      'step 2 failed',
      'run halted: gate failed',
      'run started under 1717236000.000100',
      'step 2 started',
      'step 2 done',
      'step 3 started',
      'step 3 done',
      'run succeeded',
    ]);
    expect(notices[0]).toMatchObject({ runbook: 'lab-blue-to-green', environment: 'lab', from: 'blue', to: 'green', startedBy: 'alice' });
  });

  it('reports a failing announcement as a warning and goes on with the run', async () => {
    const reporter = silentReporter();
    const notifier: RunNotifier = {
      runStarted: async () => {
        throw new Error('slack: channel_not_found');
      },
      stepStarted: async () => {},
      stepFinished: async () => {},
      runFinished: async () => {},
    };
    const registry = executors({ moveCronJobs: async () => {}, shiftTraffic: async () => {}, gate: async () => {} });
    const result = await executeRun(options({ ports: { ...portsWith(blue()), notifier }, executors: registry, reporter }));
    expect(result.status).toBe('done');
    expect(reporter.lines).toContain('warn could not announce the run: Error: slack: channel_not_found');
    const journal = await new LocalStateStore(localStateDir(loaded())).readJournal();
    expect(journal.filter((e) => e.type === 'warning').map((e) => e.message)).toEqual([
      'could not announce the run: Error: slack: channel_not_found',
    ]);
  });

  it('runs, halts, resumes and archives the same way on the in-memory store used for rehearsals', async () => {
    const store = new MemoryStateStore(() => T0);
    let attempts = 0;
    const registry = executors({
      moveCronJobs: async (rt) => {
        if (++attempts === 1) {
          await rt.update({ suspended: 1 });
          throw new HaltError('drain deadline passed');
        }
        return { sawSuspended: rt.progress.data.suspended ?? null };
      },
      shiftTraffic: async () => {},
      gate: async () => {},
    });
    const first = await executeRun(options({ ports: portsWith(blue()), executors: registry, store }));
    expect(first.status).toBe('halted');
    const held = await store.lock({ steal: false });
    await expect(store.lock({ steal: true })).rejects.toThrow('run locked by this process since 2025-06-01T10:00:00.000Z');
    await held.release();
    const resumed = await executeRun(options({ ports: portsWith(blue()), executors: registry, store, resume: await findRun(loaded(), store) }));
    expect(resumed).toEqual({ runId: first.runId, status: 'done' });
    expect((await store.load())?.snapshot.context.progress[0]?.output).toEqual({ sawSuspended: 1 });
    const next = await executeRun(options({ ports: portsWith(blue()), executors: registry, store }));
    expect(next.status).toBe('done');
    expect(store.archived.get(first.runId)?.run?.status).toBe('done');
    expect(await findRun(loaded())).toBeUndefined();
  });

  it('names runs <runbook>-<yyyymmddThhmmss>-<4 hex>', () => {
    expect(newRunId('lab-blue-to-green', new Date('2025-06-01T10:02:03.456Z'))).toMatch(/^lab-blue-to-green-20250601T100203-[0-9a-f]{4}$/);
  });

  it('keeps the run state beside the environment file, in state.local.dir when set', () => {
    const base = loaded();
    expect(localStateDir(base)).toBe(join(dir, 'config', '.cutover', 'lab-blue-to-green'));
    const custom = { ...base, environment: { ...base.environment, state: { local: { dir: '../state' } } } };
    expect(localStateDir(custom)).toBe(join(dir, 'state', 'lab-blue-to-green'));
  });
});

describe('run lock', () => {
  const lockFile = () => join(dir, 'lock');

  it('refuses a second holder, naming who holds the run and since when', async () => {
    const held = await acquireFileLock(lockFile(), { steal: false }, { now: () => T0, user: 'alice', host: 'ops-1' });
    const second = acquireFileLock(lockFile(), { steal: false }, { now: () => T0, user: 'bob', host: 'ops-1' });
    await expect(second).rejects.toThrow(LockedError);
    await expect(second).rejects.toThrow(`run locked by alice@ops-1 (pid ${process.pid}) since 2025-06-01T10:00:00.000Z`);
    await held.release();
    expect(existsSync(lockFile())).toBe(false);
  });

  it('never steals a lock whose holder is alive and within its expiry, even when asked', async () => {
    await acquireFileLock(lockFile(), { steal: false }, { now: () => T0, host: 'ops-1' });
    const steal = acquireFileLock(lockFile(), { steal: true }, { now: () => T0, host: 'ops-1', isProcessAlive: () => true });
    await expect(steal).rejects.toThrow('cannot be stolen');
  });

  it('takes a lock whose process died on this host without --steal-lock: its holder is provably gone (issue 14)', async () => {
    await acquireFileLock(lockFile(), { steal: false, operator: 'alice' }, { now: () => T0, host: 'ops-1', pid: 4242 });
    const dead = { now: () => T0, host: 'ops-1', isProcessAlive: (pid: number) => pid !== 4242 };
    const taken = await acquireFileLock(lockFile(), { steal: false }, { ...dead, user: 'bob' });
    expect(taken.holder).toMatchObject({ holder: 'bob@ops-1', pid: process.pid });
    expect(JSON.parse(await readFile(lockFile(), 'utf8'))).toMatchObject({ holder: 'bob@ops-1' });
  });

  it('names the operator the run records, with host, pid and since, and refuses with a LockedError (issue 14)', async () => {
    await acquireFileLock(lockFile(), { steal: false, operator: 'alice' }, { now: () => T0, user: 'root', host: 'ops-1', pid: 4242 });
    const second = acquireFileLock(lockFile(), { steal: false }, { now: () => T0, host: 'ops-1', isProcessAlive: () => true });
    await expect(second).rejects.toThrow(LockedError);
    await expect(second).rejects.toThrow('run locked by alice (root@ops-1) (pid 4242) since 2025-06-01T10:00:00.000Z');
  });

  it('a holder on another host is not judged by its pid: expired and --steal-lock, or nothing', async () => {
    await acquireFileLock(lockFile(), { steal: false }, { now: () => T0, host: 'ops-2', pid: 4242 });
    const here = { now: () => T0, host: 'ops-1', isProcessAlive: () => false };
    await expect(acquireFileLock(lockFile(), { steal: false }, here)).rejects.toThrow(LockedError);
    await expect(acquireFileLock(lockFile(), { steal: true }, here)).rejects.toThrow('cannot be stolen');
  });

  it('takes a lock from another host only once it has expired, and only with --steal-lock', async () => {
    await acquireFileLock(lockFile(), { steal: false, ttlMs: MINUTE }, { now: () => T0, host: 'ops-2' });
    const beforeExpiry = { now: () => new Date(T0.getTime() + 30_000), host: 'ops-1' };
    await expect(acquireFileLock(lockFile(), { steal: true }, beforeExpiry)).rejects.toThrow('cannot be stolen');
    const afterExpiry = { now: () => new Date(T0.getTime() + 2 * MINUTE), host: 'ops-1' };
    await expect(acquireFileLock(lockFile(), { steal: false }, afterExpiry)).rejects.toThrow('it expired at 2025-06-01T10:01:00.000Z');
    await expect(acquireFileLock(lockFile(), { steal: true }, afterExpiry)).resolves.toMatchObject({ holder: { host: 'ops-1' } });
  });

  it('renewing a lock that was stolen meanwhile fails, and releasing it leaves the new holder alone', async () => {
    const mine = await acquireFileLock(lockFile(), { steal: false }, { now: () => T0, host: 'ops-1', pid: 4242 });
    await acquireFileLock(lockFile(), { steal: true }, { now: () => T0, host: 'ops-1', user: 'bob', isProcessAlive: () => false });
    await expect(mine.renew()).rejects.toThrow('lost the run lock: it is now held by bob@ops-1');
    await mine.release();
    expect(JSON.parse(await readFile(lockFile(), 'utf8'))).toMatchObject({ holder: 'bob@ops-1' });
  });

  it('refuses to execute while another process holds the run', async () => {
    const store = new LocalStateStore(localStateDir(loaded()));
    const held = await store.lock({ steal: false });
    const registry = executors({ moveCronJobs: async () => {}, shiftTraffic: async () => {}, gate: async () => {} });
    await expect(executeRun(options({ ports: portsWith(new MemoryCluster('blue')), executors: registry }))).rejects.toThrow(
      /^run locked by .+ since /,
    );
    await held.release();
    expect(await findRun(loaded())).toBeUndefined();
  });
});

describe('journal file', () => {
  it('leaves out a torn last line written by a process that died mid-append', async () => {
    const file = join(dir, 'journal.ndjson');
    await writeFile(file, '{"at":"2025-06-01T10:00:00.000Z","type":"run","message":"run x started"}\n{"at":"2025-06-01T10:');
    expect(parseJournal(await readFile(file, 'utf8'))).toEqual([{ at: '2025-06-01T10:00:00.000Z', type: 'run', message: 'run x started' }]);
  });
});
