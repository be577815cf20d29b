// A StateStore kept in memory, for rehearsals on simulated clusters and for tests: the same contract as
// the local folder (JSON copies in and out, one lock holder at a time), nothing written to disk.
import type { JournalEntry } from '../steps/types.js';
import { lockRefusal } from './lock.js';
import type { LockHolder, LockRequest, RunLock } from './lock.js';
import type { PersistedRun, StateStore } from './store.js';

const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export class MemoryStateStore implements StateStore {
  readonly location = 'memory';
  readonly archived = new Map<string, { run?: PersistedRun; journal: JournalEntry[] }>();
  private run?: PersistedRun;
  private journal: JournalEntry[] = [];
  private holder?: LockHolder;

  constructor(private readonly now: () => Date = () => new Date()) {}

  async load(): Promise<PersistedRun | undefined> {
    return this.run && copy(this.run);
  }

  async save(run: PersistedRun): Promise<void> {
    this.run = copy(run);
  }

  async appendJournal(...entries: JournalEntry[]): Promise<void> {
    for (const entry of entries) this.journal.push(copy(entry));
  }

  async readJournal(): Promise<JournalEntry[]> {
    return copy(this.journal);
  }

  // Every holder of an in-memory lock lives in this process, so a held lock is never stale.
  async lock(request: LockRequest): Promise<RunLock> {
    if (this.holder) throw lockRefusal(this.holder, undefined, request.steal);
    const since = this.now();
    const holder: LockHolder = { holder: 'this process', since: since.toISOString(), expiresAt: new Date(8.64e15).toISOString() };
    this.holder = holder;
    return {
      holder,
      renew: async () => {},
      release: async () => {
        if (this.holder === holder) this.holder = undefined;
      },
    };
  }

  async lockHolder(): Promise<LockHolder | undefined> {
    return this.holder;
  }

  async archivedRuns(): Promise<PersistedRun[]> {
    return [...this.archived.values()].flatMap((a) => (a.run ? [a.run] : []));
  }

  async archive(runId: string): Promise<void> {
    this.archived.set(runId, { ...(this.run ? { run: this.run } : {}), journal: this.journal });
    this.run = undefined;
    this.journal = [];
  }
}
