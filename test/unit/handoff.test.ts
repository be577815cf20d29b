// The CronJob handoff (issue 3): no tick runs twice across both clusters and cutover never enables the
// target copy while its source copy is enabled. Runs the real executors against the simulated clusters
// (whose controller schedules like kube-controller-manager's) on a virtual clock, through a recording port
// that logs every call, checks the safety rule at every target resume, and can crash at any call.
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/adapters/sandbox/clock.js';
import { SimulatedCluster, type SimCronJobSpec } from '../../src/adapters/sandbox/cluster.js';
import type { CronJobsSection, LoadedRunbook, MoveCronJobsStep, PreflightStep } from '../../src/config/types.js';
import { ApiError, HaltError } from '../../src/core/errors.js';
import type { AccessCheck, AccessVerdict, ClusterPort } from '../../src/core/ports.js';
import type { CronJobRef, CronJobSelector, ObservedCronJob, ObservedJob } from '../../src/core/types.js';
import { refKey } from '../../src/core/types.js';
import type { CronJobAction, CronJobPlanEntry, Plan } from '../../src/plan/types.js';
import { chooseBaseline } from '../../src/steps/handoff/baseline.js';
import { handoffOrder, quietStart } from '../../src/steps/handoff/order.js';
import { runPool } from '../../src/steps/handoff/pool.js';
import { moveCronJobs } from '../../src/steps/move-cronjobs.js';
import { preflight } from '../../src/steps/preflight.js';
import type { JournalEntry, JsonValue, StepProgress, StepRuntime } from '../../src/steps/types.js';
import { loadedRunbook } from '../support/builders.js';

const START = new Date('2026-03-02T10:00:20Z');
const NS = 'billing';

// ---------------------------------------------------------------------------------------------------------
// A recording port around a simulated cluster

type Op = 'version' | 'listCronJobs' | 'getCronJob' | 'setSuspend' | 'setLastScheduleTime' | 'listJobs' | 'canI' | 'startJobForTick';

interface Call {
  seq: number;
  at: number;
  cluster: string;
  op: Op;
  ref?: string;
  value?: boolean | string;
  result?: { suspend: boolean; lastScheduleTime?: string };
  failed?: boolean;
}

interface Fault {
  cluster: string;
  op: Op;
  /** Armed only once this call has happened (a lost read-back after a write, for example). */
  armedAfter?: { cluster: string; op: Op; value?: boolean };
  /** `after`: the call reaches the server, its response is lost (the worst case for duplicate writes). */
  mode: 'before' | 'after';
}

type Hook = (call: Call, world: World) => Promise<void> | void;

class World {
  readonly clock = new VirtualClock(START);
  readonly sims: Record<string, SimulatedCluster> = {
    blue: new SimulatedCluster('blue', this.clock),
    green: new SimulatedCluster('green', this.clock),
  };
  readonly log: Call[] = [];
  /** Target resumes made while the source copy was enabled: must stay empty. */
  readonly violations: string[] = [];
  faults: Fault[] = [];
  hooks: Hook[] = [];
  readonly ports: Record<string, ClusterPort> = {
    blue: new RecordingPort(this, 'blue'),
    green: new RecordingPort(this, 'green'),
  };

  seed(over: Partial<SimCronJobSpec> & { name: string }, blue: Partial<SimCronJobSpec>, green: Partial<SimCronJobSpec>): CronJobRef {
    const base: SimCronJobSpec = {
      namespace: NS,
      schedule: '*/10 * * * *',
      jobSeconds: 20,
      creationTimestamp: '2026-02-01T00:00:00Z',
      ...over,
    };
    this.sims.blue!.addCronJob({ ...base, suspend: false, lastScheduleTime: '2026-03-02T10:00:00Z', ...blue });
    this.sims.green!.addCronJob({ ...base, suspend: true, ...green });
    return { namespace: NS, name: over.name };
  }

  async peek(cluster: string, ref: CronJobRef): Promise<ObservedCronJob> {
    const found = await this.sims[cluster]!.getCronJob(ref);
    if (!found) throw new Error(`no ${refKey(ref)} on ${cluster}`);
    return found;
  }

  writes(cluster: string, op: Op, ref?: CronJobRef): Call[] {
    return this.log.filter((c) => c.cluster === cluster && c.op === op && (!ref || c.ref === refKey(ref)));
  }
}

class RecordingPort implements ClusterPort {
  constructor(
    private readonly world: World,
    readonly name: string,
  ) {}

  private get sim(): SimulatedCluster {
    return this.world.sims[this.name]!;
  }

  version(): Promise<string> {
    return this.call('version', undefined, undefined, () => this.sim.version());
  }
  listCronJobs(selector: CronJobSelector): Promise<ObservedCronJob[]> {
    return this.call('listCronJobs', undefined, undefined, () => this.sim.listCronJobs(selector));
  }
  getCronJob(ref: CronJobRef): Promise<ObservedCronJob | undefined> {
    return this.call('getCronJob', ref, undefined, () => this.sim.getCronJob(ref));
  }
  async setSuspend(ref: CronJobRef, suspend: boolean): Promise<ObservedCronJob> {
    if (this.name === 'green' && !suspend) await this.checkSourceSuspended(ref);
    return this.call('setSuspend', ref, suspend, () => this.sim.setSuspend(ref, suspend));
  }
  setLastScheduleTime(ref: CronJobRef, time: string): Promise<ObservedCronJob> {
    return this.call('setLastScheduleTime', ref, time, () => this.sim.setLastScheduleTime(ref, time));
  }
  listJobs(namespace: string, ownerUid?: string): Promise<ObservedJob[]> {
    return this.call('listJobs', undefined, undefined, () => this.sim.listJobs(namespace, ownerUid));
  }
  async startJobForTick(ref: CronJobRef, tick: string): Promise<{ job: ObservedJob; created: boolean }> {
    if (this.name === 'green') await this.checkSourceSuspended(ref);
    return this.call('startJobForTick', ref, tick, () => this.sim.startJobForTick(ref, tick));
  }
  canI(checks: AccessCheck[]): Promise<AccessVerdict[]> {
    return this.call('canI', undefined, undefined, () => this.sim.canI(checks));
  }

  private async checkSourceSuspended(ref: CronJobRef): Promise<void> {
    const source = await this.world.peek('blue', ref);
    if (!source.suspend) this.world.violations.push(`${refKey(ref)} resumed on green at ${this.world.clock.now().toISOString()} while enabled on blue`);
  }

  private async call<T>(op: Op, ref: CronJobRef | undefined, value: boolean | string | undefined, send: () => Promise<T>): Promise<T> {
    const call: Call = { seq: this.world.log.length, at: this.world.clock.now().getTime(), cluster: this.name, op };
    if (ref) call.ref = refKey(ref);
    if (value !== undefined) call.value = value;
    const fault = this.takeFault(op);
    if (fault?.mode === 'before') {
      call.failed = true;
      this.world.log.push(call);
      throw new ApiError(`${this.name}: ${op} failed (injected: connection reset)`);
    }
    const result = await send();
    if (result && typeof result === 'object' && 'suspend' in result) {
      const cj = result as unknown as ObservedCronJob;
      call.result = { suspend: cj.suspend, ...(cj.lastScheduleTime ? { lastScheduleTime: cj.lastScheduleTime } : {}) };
    }
    this.world.log.push(call);
    for (const hook of this.world.hooks) await hook(call, this.world);
    if (fault?.mode === 'after') throw new ApiError(`${this.name}: ${op} response lost (injected)`);
    return result;
  }

  private takeFault(op: Op): Fault | undefined {
    const index = this.world.faults.findIndex(
      (f) =>
        f.cluster === this.name &&
        f.op === op &&
        (!f.armedAfter ||
          this.world.log.some(
            (c) => c.cluster === f.armedAfter!.cluster && c.op === f.armedAfter!.op && (f.armedAfter!.value === undefined || c.value === f.armedAfter!.value),
          )),
    );
    if (index < 0) return undefined;
    return this.world.faults.splice(index, 1)[0];
  }
}

// ---------------------------------------------------------------------------------------------------------
// A step runtime whose persisted state survives a crash of the executor, as the engine's does

interface Store {
  data: Record<string, JsonValue>;
  deadlines: Record<string, string>;
  journal: JournalEntry[];
  reported: string[];
  /** Throws from the next update whose data reaches this phase for the CronJob: a crash while persisting. */
  failPersistAt?: { key: string; phase: string };
  /** The run's Ctrl-C. */
  abort?: AbortController;
}

const newStore = (): Store => ({ data: {}, deadlines: {}, journal: [], reported: [] });

function cronjobsSection(over: Partial<CronJobsSection> = {}): CronJobsSection {
  return { namespaces: [NS], exclude: [], running: 'wait', drainTimeoutMs: 600_000, missedRuns: 'skip', missedRunsLimit: 10, concurrency: 2, ...over };
}

function loaded(cronjobs: CronJobsSection): LoadedRunbook {
  return loadedRunbook({ runbook: { name: 'handoff-test', cronjobs } });
}

function runtime<S extends MoveCronJobsStep | PreflightStep>(
  world: World,
  plan: Plan,
  store: Store,
  step: S,
  cronjobs: CronJobsSection,
): StepRuntime<S> {
  const clone = <T>(v: T): T => structuredClone(v);
  const progress: StepProgress = { status: 'running', deadlines: clone(store.deadlines), data: clone(store.data) };
  return {
    run: {
      runId: 'run-1',
      loaded: loaded(cronjobs),
      plan,
      startedBy: 'tester',
      ports: { clusters: world.ports, approvals: {}, workloads: {} },
      clock: world.clock,
      journal: {
        append: async (entry) => void store.journal.push({ at: world.clock.now().toISOString(), ...entry }),
        read: async () => store.journal,
      },
      reporter: {
        step: () => undefined,
        info: (m) => void store.reported.push(`info ${m}`),
        warn: (m) => void store.reported.push(`warn ${m}`),
        waiting: (what, until) => void store.reported.push(`waiting ${what} until ${until.toISOString()}`),
      },
      autoApprove: false,
      outputs: {},
    },
    index: step.kind === 'preflight' ? 0 : 1,
    step,
    label: step.kind,
    progress,
    update: async (data) => {
      const failing = store.failPersistAt;
      const entry = failing && (data['cronjobs'] as Record<string, { phase?: string }> | undefined)?.[failing.key];
      if (failing && entry?.phase === failing.phase) {
        store.failPersistAt = undefined;
        throw new Error('state store unavailable (injected)');
      }
      Object.assign(store.data, clone(data));
      Object.assign(progress.data, clone(data));
    },
    deadline: async (name, ms) => {
      store.deadlines[name] ??= new Date(world.clock.now().getTime() + ms).toISOString();
      return new Date(store.deadlines[name]!);
    },
    signal: (store.abort ?? new AbortController()).signal,
  };
}

async function planOf(world: World, refs: CronJobRef[], actions: Partial<Record<string, CronJobAction>> = {}): Promise<Plan> {
  const entries: CronJobPlanEntry[] = [];
  for (const ref of refs) {
    const source = await world.peek('blue', ref);
    const target = await world.peek('green', ref);
    const both = !source.suspend && !target.suspend;
    const moved = source.suspend && !target.suspend;
    entries.push({
      kind: 'cronjob',
      ref,
      action: actions[refKey(ref)] ?? (both ? 'suspend-target-then-move' : moved ? 'already-moved' : 'move'),
      schedule: source.schedule,
      ...(source.timeZone ? { timeZone: source.timeZone } : {}),
      source: side(source),
      target: side(target),
      differences: [],
      nextTicks: [],
      messages: [],
    });
  }
  return {
    runbook: 'handoff-test',
    environment: 'test',
    from: 'blue',
    to: 'green',
    observedAt: world.clock.now().toISOString(),
    fingerprint: 'test',
    cronJobs: entries,
    steps: [],
    messages: [],
  };
}

function side(cj: ObservedCronJob): CronJobPlanEntry['source'] {
  return { present: true, suspend: cj.suspend, uid: cj.uid, ...(cj.lastScheduleTime ? { lastScheduleTime: cj.lastScheduleTime } : {}), activeJobs: [] };
}

async function move(world: World, plan: Plan, store: Store, cronjobs = cronjobsSection()): Promise<Record<string, JsonValue>> {
  const output = await moveCronJobs(runtime(world, plan, store, { kind: 'moveCronJobs' }, cronjobs));
  return output ?? {};
}

// ---------------------------------------------------------------------------------------------------------
// Assertions shared by the scenarios

/** Every target resume came after a read of the source copy showing it suspended, with no source write since. */
function expectSourceConfirmedBeforeEveryResume(world: World): void {
  const resumes = world.log.filter((c) => c.cluster === 'green' && c.op === 'setSuspend' && c.value === false);
  for (const resume of resumes) {
    const before = world.log.slice(0, resume.seq).filter((c) => c.cluster === 'blue' && c.ref === resume.ref);
    const lastSuspend = before.map((c) => c.op === 'setSuspend' && c.value === true).lastIndexOf(true);
    const confirm = before.findLastIndex((c) => c.op === 'getCronJob' && c.result?.suspend === true);
    expect(lastSuspend, `${resume.ref}: the source was suspended before the target resume`).toBeGreaterThanOrEqual(0);
    expect(confirm, `${resume.ref}: a read showed the source suspended after its suspend`).toBeGreaterThan(lastSuspend);
  }
  expect(world.violations).toEqual([]);
}

/** Jobs per tick across both clusters, for ticks after `since`. */
function jobsPerTick(world: World, ref: CronJobRef, since = 0): Map<string, string[]> {
  const perTick = new Map<string, string[]>();
  for (const cluster of ['blue', 'green']) {
    for (const job of world.sims[cluster]!.jobs()) {
      if (job.cronJob !== refKey(ref) || Date.parse(job.scheduledTime!) <= since) continue;
      perTick.set(job.scheduledTime!, [...(perTick.get(job.scheduledTime!) ?? []), `${cluster}/${job.name}`]);
    }
  }
  return perTick;
}

function expectNoTickTwice(world: World, ref: CronJobRef, since = 0): void {
  const doubles = [...jobsPerTick(world, ref, since)].filter(([, jobs]) => jobs.length > 1);
  expect(doubles, `${refKey(ref)}: ticks run on both clusters`).toEqual([]);
}

async function expectMoved(world: World, ref: CronJobRef): Promise<void> {
  expect((await world.peek('blue', ref)).suspend, `${refKey(ref)} suspended on blue`).toBe(true);
  expect((await world.peek('green', ref)).suspend, `${refKey(ref)} enabled on green`).toBe(false);
}

const ticksOn = (world: World, cluster: string, ref: CronJobRef): string[] =>
  world.sims[cluster]!.jobs()
    .filter((j) => j.cronJob === refKey(ref))
    .map((j) => j.scheduledTime!);

const journalOf = (store: Store, type: JournalEntry['type']): JournalEntry[] => store.journal.filter((e) => e.type === type);

async function haltOf(promise: Promise<unknown>): Promise<HaltError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HaltError);
  return error as HaltError;
}

// ---------------------------------------------------------------------------------------------------------

describe('moveCronJobs: order of writes', () => {
  it('resumes no target copy before a separate read shows its source copy suspended, and runs no tick twice', async () => {
    const world = new World();
    const a = world.seed({ name: 'mailer' }, {}, {});
    const b = world.seed({ name: 'export', schedule: '*/5 * * * *', jobSeconds: 40 }, {}, {});
    const c = world.seed({ name: 'heartbeat', schedule: '* * * * *', jobSeconds: 5 }, {}, {});
    const d = world.seed(
      { name: 'digest', schedule: '0 9 * * *', timeZone: 'America/New_York' },
      { lastScheduleTime: '2026-03-01T14:00:00Z' },
      {},
    );
    world.sims.blue!.addRunningJob(b, '2026-03-02T10:00:00Z', 100);
    const store = newStore();
    const output = await move(world, await planOf(world, [a, b, c, d]), store);
    await world.clock.sleep(180_000);

    expect(output).toMatchObject({ moved: 4, alreadyMoved: 0, targetsSuspendedFirst: 0 });
    expectSourceConfirmedBeforeEveryResume(world);
    for (const ref of [a, b, c, d]) {
      await expectMoved(world, ref);
      expectNoTickTwice(world, ref);
      const sourceSuspendedAt = world.writes('blue', 'setSuspend', ref)[0]!.at;
      const lateSourceJobs = world.sims.blue!.jobs().filter((j) => j.cronJob === refKey(ref) && Date.parse(j.creationTimestamp) > sourceSuspendedAt);
      expect(lateSourceJobs, `${refKey(ref)}: no source Job after its suspend`).toEqual([]);
    }
    // The minutely CronJob kept running, on green, every minute after its resume there.
    const handedOff = world.writes('green', 'setSuspend', c)[0]!.at;
    const greenTicks = ticksOn(world, 'green', c).map(Date.parse);
    const expected = [];
    for (let t = Math.ceil(handedOff / 60_000) * 60_000; t <= world.clock.now().getTime(); t += 60_000) expected.push(t);
    expect(greenTicks).toEqual(expected);
    // Every write is journaled with what it changed.
    const writes = journalOf(store, 'write');
    expect(writes).toHaveLength(world.log.filter((c) => c.op === 'setSuspend' || c.op === 'setLastScheduleTime').length);
    expect(writes[0]!.data).toMatchObject({ cluster: expect.any(String), ref: expect.any(String), before: expect.any(Object), after: expect.any(Object) });
  });

  it('makes 14 API calls for a plain handoff: three writes, the reads that guard them, one verify', async () => {
    const world = new World();
    const ref = world.seed({ name: 'mailer' }, {}, {});
    await move(world, await planOf(world, [ref]), newStore());
    const calls = world.log.filter((c) => c.ref === refKey(ref) || c.op === 'listJobs');
    const count = (cluster: string, op: Op) => calls.filter((c) => c.cluster === cluster && c.op === op).length;
    expect({
      blueGet: count('blue', 'getCronJob'),
      blueSuspend: count('blue', 'setSuspend'),
      blueListJobs: count('blue', 'listJobs'),
      greenGet: count('green', 'getCronJob'),
      greenBaseline: count('green', 'setLastScheduleTime'),
      greenResume: count('green', 'setSuspend'),
      greenListJobs: count('green', 'listJobs'),
    }).toEqual({
      // first look, read-back of the suspend, last look before the resume, verify
      blueGet: 4,
      blueSuspend: 1,
      // the drain, and the check for a Job started since, right before the resume
      blueListJobs: 2,
      // first look, the read before the baseline, verify
      greenGet: 3,
      greenBaseline: 1,
      greenResume: 1,
      greenListJobs: 1,
    });
  });

  it('persists each CronJob phase in order, for cutover status and resume', async () => {
    const world = new World();
    const a = world.seed({ name: 'mailer' }, {}, {});
    const store = newStore();
    const phases: string[] = [];
    world.hooks.push(() => {
      const entry = (store.data['cronjobs'] as Record<string, { phase: string }> | undefined)?.[refKey(a)];
      if (entry && phases.at(-1) !== entry.phase) phases.push(entry.phase);
    });
    await move(world, await planOf(world, [a]), store);
    const final = (store.data['cronjobs'] as Record<string, Record<string, JsonValue>>)[refKey(a)]!;
    phases.push(final['phase'] as string);
    // A drain with nothing to wait for is stored with the baseline, not on its own.
    expect(phases).toEqual(['pending', 'source-suspended', 'baselined', 'resumed', 'verified']);
    expect(final).toMatchObject({ drain: 'none', baseline: '2026-03-02T10:00:00.000Z', targetLastBefore: '' });
  });
});

describe('moveCronJobs: both copies enabled', () => {
  it('suspends the target copy first and confirms it by a read, with a warning in the journal', async () => {
    const world = new World();
    const ref = world.seed({ name: 'mailer' }, {}, { suspend: false, lastScheduleTime: '2026-03-02T10:00:00Z' });
    const store = newStore();
    const output = await move(world, await planOf(world, [ref]), store);

    const writes = world.log.filter((c) => c.op === 'setSuspend' || c.op === 'setLastScheduleTime');
    expect(writes[0]).toMatchObject({ cluster: 'green', op: 'setSuspend', value: true });
    const confirmed = world.log.findIndex((c) => c.seq > writes[0]!.seq && c.cluster === 'green' && c.op === 'getCronJob' && c.result?.suspend === true);
    expect(confirmed).toBeLessThan(world.writes('blue', 'setSuspend')[0]!.seq);
    expect(journalOf(store, 'warning').map((e) => e.message)).toEqual([expect.stringContaining('enabled on both')]);
    expect(output).toMatchObject({ moved: 1, targetsSuspendedFirst: 1 });
    await expectMoved(world, ref);
    expectSourceConfirmedBeforeEveryResume(world);
  });
});

describe('moveCronJobs: drain', () => {
  it('halts at the drain deadline naming the running Jobs, leaving the target suspended', async () => {
    const world = new World();
    const ref = world.seed({ name: 'export' }, {}, {});
    const job = world.sims.blue!.addRunningJob(ref, '2026-03-02T10:00:00Z', 900);
    const store = newStore();
    const plan = await planOf(world, [ref]);
    const halt = await haltOf(move(world, plan, store, cronjobsSection({ drainTimeoutMs: 120_000 })));

    expect(halt.message).toContain(job.name);
    expect(halt.message).toContain('re-run `cutover execute`');
    expect(halt.message).toContain('running: ignore');
    expect(world.clock.now().getTime()).toBeGreaterThanOrEqual(START.getTime() + 120_000);
    expect((await world.peek('blue', ref)).suspend).toBe(true);
    expect((await world.peek('green', ref)).suspend).toBe(true);
    expect(world.writes('green', 'setSuspend')).toEqual([]);
    expect(journalOf(store, 'wait').some((e) => e.message.includes(job.name))).toBe(true);

    // Once the Job has finished, running the step again finishes the handoff against the same deadline.
    await world.clock.sleep(900_000);
    await move(world, plan, store, cronjobsSection({ drainTimeoutMs: 120_000 }));
    await expectMoved(world, ref);
    expect(world.writes('blue', 'setSuspend')).toHaveLength(1);
  });

  it('waits for a running source Job before resuming the target (Forbid holds across clusters)', async () => {
    const world = new World();
    const ref = world.seed({ name: 'export', concurrencyPolicy: 'Forbid' }, {}, {});
    const job = world.sims.blue!.addRunningJob(ref, '2026-03-02T10:00:00Z', 90);
    await move(world, await planOf(world, [ref]), newStore());
    const resume = world.writes('green', 'setSuspend')[0]!;
    expect(resume.at).toBeGreaterThanOrEqual(job.finishAt);
    await expectMoved(world, ref);
  });

  it('with running: ignore resumes the target without waiting, and journals it', async () => {
    const world = new World();
    const ref = world.seed({ name: 'export' }, {}, {});
    const job = world.sims.blue!.addRunningJob(ref, '2026-03-02T10:00:00Z', 900);
    const store = newStore();
    const output = await move(world, await planOf(world, [ref]), store, cronjobsSection({ running: 'ignore' }));
    expect(world.writes('green', 'setSuspend')[0]!.at).toBeLessThan(job.finishAt);
    expect(journalOf(store, 'warning').some((e) => e.message.includes('running: ignore'))).toBe(true);
    expect(output).toMatchObject({ moved: 1, drainIgnored: 1 });
    await expectMoved(world, ref);
  });
});

describe('moveCronJobs: baseline', () => {
  // `0 9 * * *` in America/New_York is 14:00Z in March (EST), four hours after START. The source last ran
  // yesterday's tick; its Job, still running across today's tick, keeps the handoff draining while it passes.
  const seedMorningDigest = (world: World): CronJobRef => {
    const ref = world.seed(
      { name: 'digest', schedule: '0 9 * * *', timeZone: 'America/New_York' },
      { lastScheduleTime: '2026-03-01T14:00:00Z' },
      { creationTimestamp: '2026-02-20T00:00:00Z' },
    );
    world.sims.blue!.addRunningJob(ref, '2026-03-01T14:00:00Z', 5 * 3600);
    return ref;
  };

  it('missedRuns: skip writes the latest tick in the CronJob time zone, so a tick during the handoff is skipped', async () => {
    const world = new World();
    const ref = seedMorningDigest(world);
    await move(world, await planOf(world, [ref]), newStore(), cronjobsSection({ drainTimeoutMs: 6 * 3600_000 }));
    expect(world.writes('green', 'setLastScheduleTime')[0]!.value).toBe('2026-03-02T14:00:00Z');
    await world.clock.sleep(600_000);
    expect(ticksOn(world, 'green', ref)).toEqual([]);
    expect(ticksOn(world, 'blue', ref)).toEqual(['2026-03-01T14:00:00.000Z']);
  });

  const tickRecords = (store: Store, ref: CronJobRef): { tick: string; outcome: string; job?: string; reason?: string }[] =>
    ((store.data['cronjobs'] as Record<string, { ticks?: [] }>)[refKey(ref)]?.ticks ?? []) as never;

  it('missedRuns: latest baselines the latest tick and starts the tick missed during the handoff on the target itself, once', async () => {
    const world = new World();
    const ref = seedMorningDigest(world);
    const store = newStore();
    await move(world, await planOf(world, [ref]), store, cronjobsSection({ drainTimeoutMs: 6 * 3600_000, missedRuns: 'latest' }));
    // The controller gets nothing to catch up: cutover started the missed tick's Job before resuming.
    expect(world.writes('green', 'setLastScheduleTime')[0]!.value).toBe('2026-03-02T14:00:00Z');
    expect(world.writes('green', 'startJobForTick').map((c) => c.value)).toEqual(['2026-03-02T14:00:00.000Z']);
    const start = world.writes('green', 'startJobForTick')[0]!.seq;
    const resume = world.writes('green', 'setSuspend').find((c) => c.value === false)!.seq;
    expect(start).toBeLessThan(resume);
    await world.clock.sleep(600_000);
    expect(ticksOn(world, 'green', ref)).toEqual(['2026-03-02T14:00:00.000Z']);
    expectNoTickTwice(world, ref);
    expect(tickRecords(store, ref)).toEqual([
      { tick: '2026-03-02T14:00:00.000Z', outcome: 'late', cluster: 'green', job: `digest-${Date.parse('2026-03-02T14:00:00Z') / 60_000}` },
    ]);
    expect(journalOf(store, 'tick').map((e) => e.message)).toEqual([
      expect.stringMatching(/billing\/digest: tick 2026-03-02T14:00:00Z ran late on green as Job digest-\d+ \(created by cutover\)/),
    ]);
  });

  it('missedRuns: skip records the tick it drops, in the journal and the progress', async () => {
    const world = new World();
    const ref = seedMorningDigest(world);
    const store = newStore();
    await move(world, await planOf(world, [ref]), store, cronjobsSection({ drainTimeoutMs: 6 * 3600_000 }));
    expect(world.writes('green', 'startJobForTick')).toEqual([]);
    expect(tickRecords(store, ref)).toEqual([{ tick: '2026-03-02T14:00:00.000Z', outcome: 'skipped', reason: 'missedRuns: skip' }]);
    expect(journalOf(store, 'tick')).toHaveLength(1);
  });

  it('missedRuns: all starts every tick missed during a long drain, up to missedRunsLimit (the latest ones), each once', async () => {
    const world = new World();
    const ref = world.seed({ name: 'sync', schedule: '*/20 * * * *', concurrencyPolicy: 'Allow' }, { lastScheduleTime: '2026-03-02T10:00:00Z' }, {});
    world.sims.blue!.addRunningJob(ref, '2026-03-02T10:00:00Z', 3600 + 30);
    const store = newStore();
    await move(world, await planOf(world, [ref]), store, cronjobsSection({ missedRuns: 'all', missedRunsLimit: 2, drainTimeoutMs: 2 * 3600_000 }));
    // The drain ran until 11:00:30; 10:20, 10:40 and 11:00 ran nowhere: the latest two run on green.
    expect(world.writes('green', 'startJobForTick').map((c) => c.value)).toEqual(['2026-03-02T10:40:00.000Z', '2026-03-02T11:00:00.000Z']);
    expect(tickRecords(store, ref).map((r) => [r.tick.slice(11, 16), r.outcome])).toEqual([
      ['10:20', 'skipped'],
      ['10:40', 'late'],
      ['11:00', 'late'],
    ]);
    expect(tickRecords(store, ref)[0]!.reason).toMatch(/missedRunsLimit 2/);
    await world.clock.sleep(1800_000);
    expect(ticksOn(world, 'green', ref)).toEqual(['2026-03-02T10:40:00.000Z', '2026-03-02T11:00:00.000Z', '2026-03-02T11:20:00.000Z']);
    expectNoTickTwice(world, ref);
  });

  it('missedRuns: all runs only the latest missed tick under concurrencyPolicy Forbid, and none past startingDeadlineSeconds', async () => {
    const world = new World();
    const forbid = world.seed({ name: 'forbid', schedule: '*/20 * * * *', concurrencyPolicy: 'Forbid' }, { lastScheduleTime: '2026-03-02T10:00:00Z' }, {});
    const late = world.seed(
      { name: 'late', schedule: '*/20 * * * *', concurrencyPolicy: 'Allow', startingDeadlineSeconds: 10 },
      { lastScheduleTime: '2026-03-02T10:00:00Z' },
      {},
    );
    for (const ref of [forbid, late]) world.sims.blue!.addRunningJob(ref, '2026-03-02T10:00:00Z', 3600 + 30);
    const store = newStore();
    await move(world, await planOf(world, [forbid, late]), store, cronjobsSection({ missedRuns: 'all', drainTimeoutMs: 2 * 3600_000 }));
    expect(world.writes('green', 'startJobForTick', forbid).map((c) => c.value)).toEqual(['2026-03-02T11:00:00.000Z']);
    expect(tickRecords(store, forbid).filter((r) => r.outcome === 'skipped').map((r) => r.reason)).toEqual([
      'concurrencyPolicy Forbid: only the latest missed tick runs',
      'concurrencyPolicy Forbid: only the latest missed tick runs',
    ]);
    expect(world.writes('green', 'startJobForTick', late)).toEqual([]);
    expect(tickRecords(store, late).every((r) => r.outcome === 'skipped' && /startingDeadlineSeconds/.test(r.reason ?? ''))).toBe(true);
  });

  it('a tick cutover let run on the source is confirmed from the source and recorded as run there', async () => {
    const world = new World();
    const ref = world.seed({ name: 'soon', schedule: '* * * * *' }, { lastScheduleTime: '2026-03-02T10:00:00Z' }, {});
    const store = newStore();
    // 10:00:55: the next tick is 5 s away, so the handoff lets it run on blue first.
    await world.clock.sleep(35_000);
    await move(world, await planOf(world, [ref]), store, cronjobsSection({ missedRuns: 'latest' }));
    expect(tickRecords(store, ref)).toEqual([
      { tick: '2026-03-02T10:01:00.000Z', outcome: 'source', cluster: 'blue', job: `soon-${Date.parse('2026-03-02T10:01:00Z') / 60_000}` },
    ]);
    expect(world.writes('green', 'startJobForTick')).toEqual([]);
    expectNoTickTwice(world, ref);
  });

  it('skips the baseline write when the target already holds that tick', async () => {
    const world = new World();
    const ref = world.seed({ name: 'mailer' }, {}, { lastScheduleTime: '2026-03-02T10:00:00Z' });
    await move(world, await planOf(world, [ref]), newStore());
    expect(world.writes('green', 'setLastScheduleTime')).toEqual([]);
    await expectMoved(world, ref);
  });

  it('chooses ticks in the time zone, never before the source last ran', () => {
    const digest = { schedule: '0 9 * * *', timeZone: 'America/New_York' };
    const summer = new Date('2026-07-01T12:00:00Z'); // 08:00 EDT: today's 09:00 has not come yet
    expect(chooseBaseline('skip', digest, '2026-06-30T13:00:00Z', summer).time).toEqual(new Date('2026-06-30T13:00:00Z'));
    expect(chooseBaseline('skip', { schedule: '0 9 * * *' }, undefined, summer).time).toEqual(new Date('2026-07-01T09:00:00Z'));
    expect(chooseBaseline('skip', { schedule: '30 9 * * *', timeZone: 'Asia/Kolkata' }, undefined, summer).time).toEqual(
      new Date('2026-07-01T04:00:00Z'),
    );
    // Every policy baselines the latest tick: the ticks a policy runs late are started by cutover itself.
    expect(chooseBaseline('latest', digest, '2026-06-28T13:00:00Z', summer).time).toEqual(new Date('2026-06-30T13:00:00Z'));
    // A source controller whose clock runs ahead may already have started the next tick: never go below it.
    expect(chooseBaseline('skip', digest, '2026-07-01T13:00:00Z', summer).time).toEqual(new Date('2026-07-01T13:00:00Z'));
  });
});

describe('moveCronJobs: crash and resume', () => {
  const crashes: { phase: string; fault?: Fault; persist?: string }[] = [
    { phase: 'suspend on source (response lost)', fault: { cluster: 'blue', op: 'setSuspend', mode: 'after' } },
    { phase: 'read-back of the source', fault: { cluster: 'blue', op: 'getCronJob', armedAfter: { cluster: 'blue', op: 'setSuspend' }, mode: 'before' } },
    { phase: 'persisting source-suspended', persist: 'source-suspended' },
    { phase: 'drain', fault: { cluster: 'blue', op: 'listJobs', mode: 'before' } },
    { phase: 'baseline (response lost)', fault: { cluster: 'green', op: 'setLastScheduleTime', mode: 'after' } },
    { phase: 'persisting baselined', persist: 'baselined' },
    { phase: 'resume on target (response lost)', fault: { cluster: 'green', op: 'setSuspend', mode: 'after' } },
    { phase: 'verify', fault: { cluster: 'green', op: 'listJobs', mode: 'before' } },
    { phase: 'persisting verified', persist: 'verified' },
  ];

  it.each(crashes)('re-running after a crash at $phase ends moved, without a duplicate write', async ({ fault, persist }) => {
    const world = new World();
    const ref = world.seed({ name: 'mailer' }, {}, {});
    const other = world.seed({ name: 'export', schedule: '*/15 * * * *' }, {}, {});
    const store = newStore();
    const plan = await planOf(world, [ref, other]);
    if (fault) world.faults.push({ ...fault });
    if (persist) store.failPersistAt = { key: refKey(ref), phase: persist };
    const cronjobs = cronjobsSection({ concurrency: 1 });

    const first = await move(world, plan, store, cronjobs).then(
      () => 'finished',
      (e: unknown) => e,
    );
    expect(first).not.toBe('finished');
    await move(world, plan, store, cronjobs);

    for (const r of [ref, other]) {
      await expectMoved(world, r);
      expect(world.writes('blue', 'setSuspend', r), `${refKey(r)}: one suspend on the source`).toHaveLength(1);
      expect(world.writes('green', 'setLastScheduleTime', r), `${refKey(r)}: one baseline`).toHaveLength(1);
      expect(world.writes('green', 'setSuspend', r), `${refKey(r)}: one resume`).toHaveLength(1);
      expect((await world.peek('green', r)).lastScheduleTime).toBe('2026-03-02T10:00:00.000Z');
    }
    expectSourceConfirmedBeforeEveryResume(world);
    await world.clock.sleep(900_000);
    expectNoTickTwice(world, ref);
    expect(ticksOn(world, 'green', ref)).toEqual(['2026-03-02T10:10:00.000Z']);
    const phases = store.data['cronjobs'] as Record<string, { phase: string }>;
    expect(phases[refKey(ref)]!.phase).toBe('verified');
  });
});

describe('moveCronJobs: stopped by the operator', () => {
  it('stops at the next safe point when the run is aborted, and a new run finishes the handoff', async () => {
    const world = new World();
    const ref = world.seed({ name: 'mailer' }, {}, {});
    const store = newStore();
    store.abort = new AbortController();
    world.hooks.push((call) => {
      if (call.cluster === 'blue' && call.op === 'setSuspend') store.abort!.abort(new HaltError('stopped by SIGINT'));
    });
    const plan = await planOf(world, [ref]);
    const halt = await haltOf(move(world, plan, store));
    expect(halt.message).toBe('stopped by SIGINT');
    expect((await world.peek('blue', ref)).suspend).toBe(true);
    expect(world.writes('green', 'setSuspend')).toEqual([]);

    store.abort = undefined;
    world.hooks = [];
    await move(world, plan, store);
    await expectMoved(world, ref);
    expect(world.writes('blue', 'setSuspend')).toHaveLength(1);
  });
});

describe('moveCronJobs: the source copy enabled again (a GitOps sync)', () => {
  it('suspends the source again before resuming the target when it is re-enabled after the baseline', async () => {
    const world = new World();
    const ref = world.seed({ name: 'mailer', annotations: { 'argocd.argoproj.io/tracking-id': 'billing:batch/CronJob:billing/mailer' } }, {}, {});
    let synced = false;
    world.hooks.push(async (call, w) => {
      if (synced || call.cluster !== 'green' || call.op !== 'setLastScheduleTime') return;
      synced = true;
      await w.sims.blue!.setSuspend(ref, false);
    });
    const store = newStore();
    await move(world, await planOf(world, [ref]), store);

    expect(world.writes('blue', 'setSuspend', ref).map((c) => c.value)).toEqual([true, true]);
    const resume = world.writes('green', 'setSuspend', ref)[0]!;
    expect(resume.seq).toBeGreaterThan(world.writes('blue', 'setSuspend', ref)[1]!.seq);
    expectSourceConfirmedBeforeEveryResume(world);
    expect(journalOf(store, 'drift').map((e) => e.message)).toEqual([expect.stringContaining('enabled again')]);
    await expectMoved(world, ref);
  });

  it('suspends the target again when the source is re-enabled after the resume, then completes', async () => {
    const world = new World();
    const ref = world.seed({ name: 'mailer' }, {}, {});
    let synced = false;
    world.hooks.push(async (call, w) => {
      if (synced || call.cluster !== 'green' || call.op !== 'setSuspend' || call.value !== false) return;
      synced = true;
      await w.sims.blue!.setSuspend(ref, false);
    });
    await move(world, await planOf(world, [ref]), newStore());
    expect(world.writes('green', 'setSuspend', ref).map((c) => c.value)).toEqual([false, true, false]);
    expectSourceConfirmedBeforeEveryResume(world);
    await expectMoved(world, ref);
  });

  it('halts instead of resuming again when the target reads back suspended right after its resume', async () => {
    const world = new World();
    const ref = world.seed({ name: 'mailer', annotations: { 'argocd.argoproj.io/tracking-id': 'billing:batch/CronJob:billing/mailer' } }, {}, {});
    world.hooks.push(async (call, w) => {
      // A sync on the target restores the suspend: true of its manifests.
      if (call.cluster === 'green' && call.op === 'setSuspend' && call.value === false) await w.sims.green!.setSuspend(ref, true);
    });
    const halt = await haltOf(move(world, await planOf(world, [ref]), newStore()));
    expect(halt.message).toContain('was resumed on green but reads back suspended');
    expect(halt.message).toContain('runs on neither cluster');
    expect(world.writes('green', 'setSuspend', ref).filter((c) => c.value === false)).toHaveLength(1);
    expect((await world.peek('blue', ref)).suspend).toBe(true);
  });

  it('halts with the target suspended when a sync keeps re-enabling the source', async () => {
    const world = new World();
    const ref = world.seed({ name: 'mailer' }, {}, {});
    world.hooks.push(async (call, w) => {
      if (call.cluster === 'green' && call.op === 'setLastScheduleTime') await w.sims.blue!.setSuspend(ref, false);
      if (call.cluster === 'blue' && call.op === 'listJobs') await w.sims.blue!.setSuspend(ref, false);
    });
    const halt = await haltOf(move(world, await planOf(world, [ref]), newStore()));
    expect(halt.message).toContain('enabled again 4 times');
    expect((await world.peek('green', ref)).suspend).toBe(true);
    expect(world.writes('green', 'setSuspend', ref).filter((c) => c.value === false)).toEqual([]);
  });
});

describe('moveCronJobs: verify', () => {
  it('halts loudly when the target started a Job for a tick the source already ran', async () => {
    const world = new World();
    const ref = world.seed({ name: 'mailer' }, {}, {});
    // A target controller that ignored the baseline (its clock far behind, say) starts the source's tick.
    world.hooks.push((call, w) => {
      if (call.cluster === 'green' && call.op === 'setSuspend' && call.value === false) w.sims.green!.addRunningJob(ref, '2026-03-02T10:00:00Z', 30);
    });
    const halt = await haltOf(move(world, await planOf(world, [ref]), newStore()));
    expect(halt.message).toContain('DOUBLE RUN');
    expect(halt.message).toContain(`mailer-${Date.parse('2026-03-02T10:00:00Z') / 60_000}`);
    expect(halt.message).toContain('kubectl -n billing delete job');
  });

  it('does not blame the handoff for target Jobs older than it', async () => {
    const world = new World();
    // The target copy ran until last week (the previous cutover went the other way); its history remains.
    const ref = world.seed({ name: 'mailer' }, {}, { lastScheduleTime: '2026-02-23T10:00:00Z' });
    world.sims.green!.addRunningJob(ref, '2026-02-23T10:00:00Z', 1);
    await world.clock.sleep(2_000);
    const output = await move(world, await planOf(world, [ref]), newStore());
    expect(output).toMatchObject({ moved: 1 });
  });

  it('reports a CronJob already moved by hand without writing to it', async () => {
    const world = new World();
    const ref = world.seed({ name: 'mailer' }, { suspend: true }, { suspend: false, lastScheduleTime: '2026-03-02T10:00:00Z' });
    const output = await move(world, await planOf(world, [ref]), newStore());
    expect(output).toMatchObject({ moved: 0, alreadyMoved: 1 });
    expect(world.log.filter((c) => c.op === 'setSuspend' || c.op === 'setLastScheduleTime')).toEqual([]);
  });
});

describe('moveCronJobs: ordering around ticks', () => {
  it('hands off first the copies enabled on both clusters, then the CronJobs whose next tick is furthest away', () => {
    const entry = (name: string, schedule: string, action: CronJobAction = 'move'): CronJobPlanEntry => ({
      kind: 'cronjob',
      ref: { namespace: NS, name },
      action,
      schedule,
      source: { present: true, activeJobs: [] },
      target: { present: true, activeJobs: [] },
      differences: [],
      nextTicks: [],
      messages: [],
    });
    const ordered = handoffOrder(
      [entry('minutely', '* * * * *'), entry('daily', '0 3 * * *'), entry('double', '*/5 * * * *', 'suspend-target-then-move'), entry('hourly', '0 * * * *')],
      START,
    );
    expect(ordered.map((e) => e.ref.name)).toEqual(['double', 'daily', 'hourly', 'minutely']);
  });

  it('starts a handoff at once unless a tick is closer than the guard window, then just after that tick', () => {
    const timing = { tickGuardMs: 10_000, tickMarginMs: 3_000 };
    expect(quietStart('* * * * *', undefined, new Date('2026-03-02T10:00:20Z'), timing)).toEqual({ at: new Date('2026-03-02T10:00:20Z') });
    expect(quietStart('* * * * *', undefined, new Date('2026-03-02T10:00:55Z'), timing)).toEqual({
      at: new Date('2026-03-02T10:01:03Z'),
      tick: new Date('2026-03-02T10:01:00Z'),
    });
  });

  it('lets an imminent tick run on the source, then hands off before the next one', async () => {
    const world = new World();
    await world.clock.sleep(35_000); // 10:00:55, five seconds before the next minute
    const ref = world.seed({ name: 'heartbeat', schedule: '* * * * *', jobSeconds: 2 }, {}, {});
    const store = newStore();
    await move(world, await planOf(world, [ref]), store);
    await world.clock.sleep(120_000);
    expect(ticksOn(world, 'blue', ref)).toEqual(['2026-03-02T10:01:00.000Z']);
    expect(ticksOn(world, 'green', ref)).toEqual(['2026-03-02T10:02:00.000Z', '2026-03-02T10:03:00.000Z']);
    expect(journalOf(store, 'wait').map((e) => e.message)).toEqual([expect.stringContaining('letting it run on blue first')]);
  });

  it('lends a slot out while an item only waits, and takes it back before the item goes on', async () => {
    let working = 0;
    let peak = 0;
    const order: string[] = [];
    const busy = async (label: string) => {
      order.push(label);
      working += 1;
      peak = Math.max(peak, working);
      await new Promise((r) => setTimeout(r, 2));
      working -= 1;
    };
    await runPool([1, 2, 3], 1, async (n, slot) => {
      await busy(`${n} before`);
      await slot.idle(() => new Promise((r) => setTimeout(r, 20)));
      await busy(`${n} after`);
    });
    // One slot: never two items at work; the others started while the first one waited.
    expect(peak).toBe(1);
    expect(order.slice(0, 3)).toEqual(['1 before', '2 before', '3 before']);
    expect(order).toHaveLength(6);
  });

  it('starts no new item after a failure and reports every failure', async () => {
    const started: number[] = [];
    const run = runPool([1, 2, 3, 4], 2, async (n) => {
      started.push(n);
      await new Promise((r) => setTimeout(r, n));
      if (n <= 2) throw new Error(`item ${n}`);
    });
    await expect(run).rejects.toMatchObject({ failures: [{ item: 1 }, { item: 2 }] });
    expect(started).toEqual([1, 2]);
  });

  it('runs at most `concurrency` handoffs at once, in the given order', async () => {
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    await runPool([1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running -= 1;
    });
    expect(peak).toBe(2);
    expect(started).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('moveCronJobs and preflight: refusals', () => {
  it('refuses a plan with a blocked CronJob, with each reason, before touching anything', async () => {
    const world = new World();
    const ref = world.seed({ name: 'mailer' }, {}, {});
    const plan = await planOf(world, [ref], { [refKey(ref)]: 'blocked' });
    plan.cronJobs[0]!.messages.push({ severity: 'error', code: 'missing-on-target', message: 'not found on green' });
    for (const run of [move(world, plan, newStore()), preflight(runtime(world, plan, newStore(), { kind: 'preflight' }, cronjobsSection()))]) {
      const halt = await haltOf(run);
      expect(halt.message).toContain('billing/mailer: not found on green');
    }
    expect(world.log.filter((c) => c.op !== 'getCronJob')).toEqual([]);
  });

  it('preflight reports both versions and journals drift since the plan', async () => {
    const world = new World();
    const ref = world.seed({ name: 'mailer' }, {}, {});
    const plan = await planOf(world, [ref]);
    await world.sims.green!.setSuspend(ref, false);
    const store = newStore();
    const output = await preflight(runtime(world, plan, store, { kind: 'preflight' }, cronjobsSection()));
    expect(output).toMatchObject({ sourceVersion: 'v1.34.4-sandbox', targetVersion: 'v1.34.4-sandbox', cronJobs: 1, drifted: 1 });
    expect(journalOf(store, 'drift').map((e) => e.message)).toEqual(['billing/mailer changed since the plan: target suspend true -> false']);
    expect(world.log.filter((c) => c.op === 'setSuspend' || c.op === 'setLastScheduleTime')).toEqual([]);
  });

  it('preflight halts, naming every refused permission, before any write', async () => {
    const world = new World();
    const ref = world.seed({ name: 'mailer' }, {}, {});
    const plan = await planOf(world, [ref]);
    world.sims.green!.denied.add('patch cronjobs/status billing');
    world.sims.blue!.denied.add('list jobs billing');
    const store = newStore();
    const halt = await haltOf(preflight(runtime(world, plan, store, { kind: 'preflight' }, cronjobsSection())));
    expect(halt.message).toContain('nothing has been changed');
    expect(halt.message).toContain('blue: list jobs in billing');
    expect(halt.message).toContain('green: patch cronjobs/status in billing');
    expect(halt.message).not.toContain('green: patch cronjobs in billing');
    expect(world.log.filter((c) => c.op === 'setSuspend' || c.op === 'setLastScheduleTime')).toEqual([]);

    world.sims.green!.denied.clear();
    world.sims.blue!.denied.clear();
    const output = await preflight(runtime(world, plan, store, { kind: 'preflight' }, cronjobsSection()));
    // Source: get and patch cronjobs, list jobs; target: those and patch cronjobs/status.
    expect(output).toMatchObject({ permissions: 7 });
    // One list of CronJobs per cluster, not a read per CronJob.
    expect(world.log.filter((c) => c.op === 'getCronJob')).toEqual([]);
  });

  it('preflight halts when a CronJob of the plan is gone from a cluster', async () => {
    const world = new World();
    const ref = world.seed({ name: 'mailer' }, {}, {});
    const plan = await planOf(world, [ref]);
    plan.cronJobs.push({ ...plan.cronJobs[0]!, ref: { namespace: NS, name: 'vanished' } });
    const halt = await haltOf(preflight(runtime(world, plan, newStore(), { kind: 'preflight' }, cronjobsSection())));
    expect(halt.message).toContain('billing/vanished: gone from the source cluster blue');
    expect(halt.message).toContain('billing/vanished: gone from the target cluster green');
  });
});
