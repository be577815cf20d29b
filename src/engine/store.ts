// Where a run is kept: its snapshot (rewritten after every transition), its append-only journal and its
// lock. The engine only sees `StateStore`, so a Kubernetes-backed store can replace the local folder.
//
// Local layout, one folder per runbook:
//   <state dir>/<runbook name>/snapshot.json    the current run, replaced atomically
//   <state dir>/<runbook name>/journal.ndjson   the current run's journal, one JSON entry a line
//   <state dir>/<runbook name>/lock             held while a run executes
//   <state dir>/<runbook name>/runs/<runId>/    finished runs, moved aside when a new run starts
// The state dir is `state.local.dir` of the environment file, relative to that file like every other
// path there; without a `state` section it is `.cutover` beside the environment file.
// With `state.kubernetes`, the same run lives in ConfigMaps and a Lease of that namespace on that cluster (no
// cluster named: the one cutover runs in, through its pod's ServiceAccount; src/adapters/k8s/state-store.ts).
import { mkdir, open, readdir, rename } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
// Pure naming only (no client): the Kubernetes store module itself is imported when first used.
import { IN_CLUSTER, stateLocation } from '../adapters/k8s/state-objects.js';
import type { LoadedRunbook, StepKind } from '../config/types.js';
import { InputError } from '../core/errors.js';
import type { RunbookContext } from '../machine/runbook.js';
import type { Plan } from '../plan/types.js';
import type { JournalEntry } from '../steps/types.js';
import { errno, readIfExists, syncDir, writeFileAtomic } from './files.js';
import { acquireFileLock, readFileLock } from './lock.js';
import type { FileLockOptions, LockHolder, LockRequest, RunLock } from './lock.js';

export const RUN_VERSION = 1;

export type RunStatus = 'running' | 'done' | 'halted' | 'aborted';

/** The machine's persisted snapshot, as JSON; `createActor(machine, { snapshot })` takes it back. */
export interface PersistedSnapshot {
  status: string;
  value: unknown;
  context: RunbookContext;
  [key: string]: unknown;
}

export interface PersistedRun {
  version: typeof RUN_VERSION;
  runId: string;
  runbook: string;
  startedAt: string;
  startedBy: string;
  /** The runbook's steps when the run started; a resume needs the same steps in the same order. */
  stepKinds: StepKind[];
  status: RunStatus;
  /** Why the run halted or stopped, for `status`. */
  message?: string;
  /** Where the run was announced (e.g. its Slack thread), so a resumed run threads under it. */
  notice?: Record<string, string>;
  plan: Plan;
  snapshot: PersistedSnapshot;
}

export interface StateStore {
  /** Where runs are kept, for messages. */
  readonly location: string;
  load(): Promise<PersistedRun | undefined>;
  save(run: PersistedRun): Promise<void>;
  /** Appends the entries in order, as one write where the store can. */
  appendJournal(...entries: JournalEntry[]): Promise<void>;
  readJournal(): Promise<JournalEntry[]>;
  lock(request: LockRequest): Promise<RunLock>;
  /** The current lock holder, if any, for `status`. */
  lockHolder(): Promise<LockHolder | undefined>;
  /** Moves the current run (snapshot and journal) aside, so a new run starts with a clean journal. */
  archive(runId: string): Promise<void>;
  /** The runs moved aside, for `status`; a store that cannot list them leaves this out. */
  archivedRuns?(): Promise<PersistedRun[]>;
}

export function localStateDir(loaded: LoadedRunbook): string {
  const state = loaded.environment.state;
  const dir = state && 'local' in state ? state.local.dir : '.cutover';
  return join(resolve(dirname(loaded.environmentFile), dir), loaded.runbook.name);
}

/** The store the environment asks for. */
export function openStateStore(loaded: LoadedRunbook): StateStore {
  const state = loaded.environment.state;
  if (state && 'kubernetes' in state) return kubernetesStateStore(loaded, state.kubernetes);
  return new LocalStateStore(localStateDir(loaded));
}

/**
 * The Kubernetes store lives with the Kubernetes adapter (the only code that speaks to API servers); it is
 * loaded on first use, so runs kept in a local folder never load the Kubernetes client.
 */
function kubernetesStateStore(loaded: LoadedRunbook, where: { cluster?: string; namespace: string }): StateStore {
  const { cluster = IN_CLUSTER, namespace } = where;
  if (where.cluster !== undefined && !(cluster in loaded.environment.clusters)) {
    throw new InputError(`invalid state in ${loaded.environmentFile}`, [
      {
        file: loaded.environmentFile,
        path: 'state.kubernetes.cluster',
        message: `unknown cluster "${cluster}"; expected one of: ${Object.keys(loaded.environment.clusters).join(', ')}`,
      },
    ]);
  }
  let opened: Promise<StateStore> | undefined;
  const open = (): Promise<StateStore> =>
    (opened ??= import('../adapters/k8s/state-store.js').then((m) => m.openKubernetesStateStore(loaded)));
  return {
    // Known before anything is dialled; the same text the store itself reports.
    location: stateLocation({ cluster, namespace, runbook: loaded.runbook.name }),
    load: async () => (await open()).load(),
    save: async (run) => (await open()).save(run),
    appendJournal: async (...entries) => (await open()).appendJournal(...entries),
    readJournal: async () => (await open()).readJournal(),
    lock: async (request) => (await open()).lock(request),
    lockHolder: async () => (await open()).lockHolder(),
    archive: async (runId) => (await open()).archive(runId),
  };
}

export function parseRun(text: string, source: string): PersistedRun {
  let run: { version?: unknown };
  try {
    run = JSON.parse(text) as { version?: unknown };
  } catch (error) {
    throw new InputError(`${source}: not a cutover run file (${(error as Error).message})`);
  }
  if (run.version !== RUN_VERSION) {
    throw new InputError(`${source}: expected version ${RUN_VERSION}, received ${String(run.version)}`);
  }
  return run as PersistedRun;
}

/** Journal lines; a torn last line (the process died mid-append) is left out. */
export function parseJournal(text: string): JournalEntry[] {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return lines.flatMap((line, i) => {
    try {
      return [JSON.parse(line) as JournalEntry];
    } catch (error) {
      if (i === lines.length - 1) return [];
      throw error;
    }
  });
}

export class LocalStateStore implements StateStore {
  constructor(
    readonly location: string,
    private readonly lockOptions: FileLockOptions = {},
  ) {}

  private get snapshotFile(): string {
    return join(this.location, 'snapshot.json');
  }

  private get journalFile(): string {
    return join(this.location, 'journal.ndjson');
  }

  private get lockFile(): string {
    return join(this.location, 'lock');
  }

  async load(): Promise<PersistedRun | undefined> {
    const text = await readIfExists(this.snapshotFile);
    return text === undefined ? undefined : parseRun(text, this.snapshotFile);
  }

  async save(run: PersistedRun): Promise<void> {
    await mkdir(this.location, { recursive: true });
    await writeFileAtomic(this.snapshotFile, `${JSON.stringify(run, null, 2)}\n`);
  }

  async appendJournal(...entries: JournalEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await mkdir(this.location, { recursive: true });
    const handle = await open(this.journalFile, 'a');
    try {
      await handle.appendFile(entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  async readJournal(): Promise<JournalEntry[]> {
    const text = await readIfExists(this.journalFile);
    return text === undefined ? [] : parseJournal(text);
  }

  async lock(request: LockRequest): Promise<RunLock> {
    await mkdir(this.location, { recursive: true });
    return acquireFileLock(this.lockFile, request, this.lockOptions);
  }

  lockHolder(): Promise<LockHolder | undefined> {
    return readFileLock(this.lockFile);
  }

  async archivedRuns(): Promise<PersistedRun[]> {
    const folder = join(this.location, 'runs');
    const ids = await readdir(folder).catch((error: unknown) => {
      if (errno(error) === 'ENOENT') return [] as string[];
      throw error;
    });
    const runs: PersistedRun[] = [];
    for (const id of ids.sort()) {
      const file = join(folder, id, 'snapshot.json');
      const text = await readIfExists(file);
      if (text !== undefined) runs.push(parseRun(text, file));
    }
    return runs;
  }

  async archive(runId: string): Promise<void> {
    const target = join(this.location, 'runs', runId);
    await mkdir(target, { recursive: true });
    for (const file of [this.snapshotFile, this.journalFile]) {
      await rename(file, join(target, basename(file))).catch((error: unknown) => {
        if (errno(error) !== 'ENOENT') throw error;
      });
    }
    await syncDir(this.location);
  }
}
