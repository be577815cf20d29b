// `cutover execute`: runs the runbook machine under the run lock, saving the run after every transition,
// until it is done, halted or aborted.
//
// Runs of a runbook: there is one current run per runbook. A run that is not done (running after a
// crash, aborted, halted) is continued with `resume`; starting a new run beside it is refused, since two
// runs would move the same CronJobs. A done run is never resumed: the next execute moves it (snapshot
// and journal) to `runs/<runId>/` and starts a new run with a fresh journal.
import { randomBytes } from 'node:crypto';
import { createActor, waitFor } from 'xstate';
import type { Actor, Snapshot, Subscription } from 'xstate';
import type { LoadedRunbook } from '../config/types.js';
import { systemClock } from '../core/clock.js';
import type { Clock } from '../core/clock.js';
import { InputError } from '../core/errors.js';
import type { Ports, RunNotice } from '../core/ports.js';
import { stepLabel } from '../machine/labels.js';
import { RUN_SYSTEM_ID, createRunbookMachine, describeFailure } from '../machine/runbook.js';
import type { RunbookMachine, RunbookSnapshot } from '../machine/runbook.js';
import type { Plan } from '../plan/types.js';
import { stepExecutors } from '../steps/index.js';
import type { StepExecutors } from '../steps/index.js';
import type { Journal, JournalEntry, Reporter } from '../steps/types.js';
import { createJournal } from './journal.js';
import type { LockHolder, RunLock } from './lock.js';
import { createNotices } from './notify.js';
import type { Notices } from './notify.js';
import { RUN_VERSION, openStateStore } from './store.js';
import type { PersistedRun, PersistedSnapshot, StateStore } from './store.js';
import { RunPersister, statusOf, stopMessage } from './persist.js';
import type { RunHeader } from './persist.js';
import { rollbackActor, stepActor } from './runtime.js';

export interface ExecuteOptions {
  loaded: LoadedRunbook;
  /** The plan a new run carries out; a resumed run keeps the plan it was started with. */
  plan: Plan;
  ports: Ports;
  clock?: Clock;
  reporter: Reporter;
  /** Who runs this execute; a resumed run keeps the identity that started it. */
  startedBy: string;
  autoApprove: boolean;
  /** Take over a stale run lock (holder process dead, or lock expired). */
  stealLock?: boolean;
  /** SIGINT: the run stops in the resumable `aborted` state. */
  signal?: AbortSignal;
  /** The run to continue, as `findRun` returned it. */
  resume?: RunRecord;
  /** Defaults to the store the environment names. */
  store?: StateStore;
  /** The id of a new run; `newRunId` by default (a sandbox passes one from its seed, so its report is reproducible). */
  runId?: string;
  /** Defaults to the executors of src/steps; tests pass their own. */
  executors?: StepExecutors;
}

export interface RunResult {
  runId: string;
  status: 'done' | 'halted' | 'aborted';
  message?: string;
}

/** The current run of a runbook as persisted, with where it is kept and who holds its lock. */
export interface RunRecord extends PersistedRun {
  location: string;
  lock?: LockHolder;
}

export async function findRun(loaded: LoadedRunbook, store: StateStore = openStateStore(loaded)): Promise<RunRecord | undefined> {
  const run = await store.load();
  if (!run) return undefined;
  const lock = await store.lockHolder();
  return { ...run, location: store.location, ...(lock ? { lock } : {}) };
}

/** Who holds the runbook's run lock now, if anyone (with or without a persisted run). */
export function currentLockHolder(loaded: LoadedRunbook, store: StateStore = openStateStore(loaded)): Promise<LockHolder | undefined> {
  return store.lockHolder();
}

export function readRunJournal(loaded: LoadedRunbook, store: StateStore = openStateStore(loaded)): Promise<JournalEntry[]> {
  return store.readJournal();
}

export async function executeRun(options: ExecuteOptions): Promise<RunResult> {
  const store = options.store ?? openStateStore(options.loaded);
  const lock = await store.lock({ steal: options.stealLock ?? false, operator: options.startedBy });
  try {
    const opened = await openRun(options, store);
    return await new RunSession(options, store, opened).run(lock);
  } finally {
    await lock.release();
  }
}

/** `<runbook>-<yyyymmddThhmmss>-<4 hex>`, UTC; the hex from `random` when given (a number in [0, 1)). */
export function newRunId(runbook: string, now: Date, random?: () => number): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').slice(0, 15);
  const hex = random ? Math.floor(random() * 0x10000).toString(16).padStart(4, '0') : randomBytes(2).toString('hex');
  return `${runbook}-${stamp}-${hex}`;
}

interface OpenedRun {
  header: RunHeader;
  /** Present when an existing run is continued. */
  snapshot?: PersistedSnapshot;
}

async function openRun(options: ExecuteOptions, store: StateStore): Promise<OpenedRun> {
  // Read under the lock: the record the caller found may have moved on since.
  const current = await store.load();
  if (options.resume) {
    const opened = resumable(options.resume, current, store.location);
    checkSameSteps(opened.header, options.loaded);
    return opened;
  }
  if (current && current.status !== 'done') {
    const why = current.message ? ` (${current.message.split('\n')[0]})` : '';
    throw new InputError(
      `run ${current.runId} of ${current.runbook} is ${current.status}${why}: resume it rather than starting another run beside it`,
    );
  }
  if (current) await store.archive(current.runId);
  return { header: newHeader(options) };
}

function newHeader(options: ExecuteOptions): RunHeader {
  const { runbook } = options.loaded;
  const now = (options.clock ?? systemClock).now();
  return {
    version: RUN_VERSION,
    runId: options.runId ?? newRunId(runbook.name, now),
    runbook: runbook.name,
    startedAt: now.toISOString(),
    startedBy: options.startedBy,
    stepKinds: runbook.steps.map((s) => s.kind),
    plan: options.plan,
  };
}

function resumable(wanted: RunRecord, current: PersistedRun | undefined, location: string): OpenedRun {
  if (!current || current.runId !== wanted.runId) {
    const now = current ? `the current run is ${current.runId}` : 'there is no run';
    throw new InputError(`cannot resume run ${wanted.runId}: ${now} in ${location}`);
  }
  if (current.status === 'done') {
    throw new InputError(`run ${current.runId} is done: there is nothing to resume; a new execute starts a new run`);
  }
  const { status: _status, message: _message, snapshot, ...header } = current;
  return { header, snapshot };
}

/**
 * A run's states are its steps by position: a runbook whose steps were added, removed or reordered
 * since the run started cannot continue it. Changed settings of a step (a longer gate timeout) are
 * fine: the executor runs the step as the runbook says now.
 */
function checkSameSteps(run: RunHeader, loaded: LoadedRunbook): void {
  const now = loaded.runbook.steps.map((s) => s.kind);
  if (now.join(',') === run.stepKinds.join(',')) return;
  throw new InputError(
    `${loaded.runbookFile}: the steps changed since run ${run.runId} started (then: ${run.stepKinds.join(', ')}; now: ${now.join(', ')}); put them back to resume the run`,
  );
}

/** Renews the lock while the run goes on; a lock that cannot be renewed stops the run. */
function keepLockAlive(lock: RunLock, onLost: (error: unknown) => void): () => void {
  const ttl = Date.parse(lock.holder.expiresAt) - Date.parse(lock.holder.since);
  const every = Math.min(Math.max(1_000, Math.floor(ttl / 3)), 60_000);
  const timer = setInterval(() => {
    lock.renew().catch(onLost);
  }, every);
  timer.unref();
  return () => clearInterval(timer);
}

// The machine is flat, so its state value is the state's name.
const stateOf = (s: RunbookSnapshot): string => String(s.value);
/** done, halted or aborted: nothing runs until an operator acts. */
const atRest = (s: RunbookSnapshot): boolean => statusOf(stateOf(s)) !== 'running';

class RunSession {
  private readonly clock: Clock;
  private readonly labels: string[];
  private readonly journal: Journal;
  private readonly notices: Notices;
  private readonly persister: RunPersister;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly actor: Actor<RunbookMachine>;
  private subscription: Subscription | undefined;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly options: ExecuteOptions,
    store: StateStore,
    private readonly opened: OpenedRun,
  ) {
    this.clock = options.clock ?? systemClock;
    this.labels = options.loaded.runbook.steps.map(stepLabel);
    this.journal = createJournal(store, this.clock);
    this.notices = createNotices(options.ports.notifier, options.reporter, this.journal);
    const restoredValue = opened.snapshot ? String(opened.snapshot.value) : undefined;
    this.persister = new RunPersister(store, this.journal, opened.header, this.labels, restoredValue, (e) => this.fail(e));
    this.actor = createActor(this.machine(), {
      systemId: RUN_SYSTEM_ID,
      ...(opened.snapshot ? { snapshot: opened.snapshot as unknown as Snapshot<unknown> } : {}),
    });
  }

  async run(lock: RunLock): Promise<RunResult> {
    const stopKeeping = keepLockAlive(lock, (e) => this.fail(e));
    const signal = this.options.signal;
    const onAbort = (): void => this.actor.send({ type: 'ABORT' });
    let final: RunbookSnapshot | undefined;
    try {
      await this.begin();
      // Listened to only once the machine runs (and a resumed run has left its resting state).
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) onAbort();
      final = await waitFor(this.actor, atRest);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // An aborted executor may still be finishing a write: the lock is held until it has settled.
      await Promise.allSettled([...this.inflight]);
      stopKeeping();
      this.subscription?.unsubscribe();
      this.actor.stop();
    }
    await this.persister.flush().catch((error: unknown) => this.fail(error));
    if (this.failure) {
      await this.notices.runFinished('failed', describeFailure(this.failure.error));
      throw this.failure.error;
    }
    return this.finish(final);
  }

  private machine() {
    const { options } = this;
    const deps = {
      run: {
        runId: this.opened.header.runId,
        loaded: options.loaded,
        plan: this.opened.header.plan,
        startedBy: this.opened.header.startedBy,
        ports: options.ports,
        clock: this.clock,
        journal: this.journal,
        reporter: options.reporter,
        autoApprove: options.autoApprove,
      },
      executors: options.executors ?? stepExecutors,
      notices: this.notices,
      persisted: () => this.persister.flush(),
      inflight: this.inflight,
    };
    return createRunbookMachine(options.loaded, this.clock).provide({
      actors: { runStep: stepActor(deps), rollback: rollbackActor(deps) },
    });
  }

  private async begin(): Promise<void> {
    const { header, snapshot } = this.opened;
    const verb = snapshot ? `resumed by ${this.options.startedBy}` : `started by ${this.options.startedBy}`;
    await this.journal.append({ type: 'run', message: `run ${header.runId} ${verb}` });
    this.options.reporter.info(`run ${header.runId} ${verb}`);
    await this.notices.runStarted(this.notice());
    this.subscription = this.actor.subscribe({
      next: () => this.persister.record(this.actor.getPersistedSnapshot() as unknown as PersistedSnapshot),
      error: (error) => this.fail(error),
    });
    this.actor.start();
    if (snapshot && atRest(this.actor.getSnapshot())) this.actor.send({ type: 'RESUME' });
  }

  private notice(): RunNotice {
    const { header } = this.opened;
    const { runbook, environment } = this.options.loaded;
    return {
      runId: header.runId,
      runbook: runbook.name,
      environment: environment.name,
      from: runbook.from,
      to: runbook.to,
      startedBy: header.startedBy,
      ...(header.notice ? { resume: header.notice } : {}),
      // Kept in the run's header: saved with the snapshot the machine emits as it starts.
      remember: async (data) => {
        header.notice = { ...header.notice, ...data };
      },
    };
  }

  private async finish(final: RunbookSnapshot | undefined): Promise<RunResult> {
    const value = final ? stateOf(final) : 'unknown';
    const status = statusOf(value);
    if (!final || status === 'running') throw new Error(`the run stopped in state ${value}, which is not a resting state`);
    const message = stopMessage(value, final.context, this.labels);
    await this.journal.append({ type: 'run', message: message ? `run ${status}: ${message}` : `run ${status}` });
    await this.notices.runFinished(status === 'done' ? 'succeeded' : 'halted', message);
    return { runId: this.opened.header.runId, status, ...(message ? { message } : {}) };
  }

  /** A save or the lock failed: stop acting at once, and let `run` throw the cause. */
  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = { error };
    if (this.actor.getSnapshot().status === 'active') this.actor.send({ type: 'ABORT' });
  }
}
