// The run's journal over its store: what happened, in order, with the time of the run's clock. Appends
// keep the order of the calls, whoever makes them (the engine's transitions, the executors' writes and
// waits). Entries made while an append is on its way go out together in the next one (a group commit):
// many handoffs at once then share one write and one sync instead of queueing for one each.
import type { Clock } from '../core/clock.js';
import { GroupCommit } from '../core/group-commit.js';
import type { Journal, JournalEntry } from '../steps/types.js';
import type { StateStore } from './store.js';

export function createJournal(store: StateStore, clock: Clock): Journal {
  let pending: JournalEntry[] = [];
  const commit = new GroupCommit(() => {
    const entries = pending;
    pending = [];
    return store.appendJournal(...entries);
  });
  return {
    append(entry: Omit<JournalEntry, 'at'>): Promise<void> {
      // Stamped now, so the journal's times follow the calls even when the write comes later.
      pending.push({ at: clock.now().toISOString(), ...entry });
      return commit.request();
    },
    // What was appended before the read, included.
    read: async () => {
      await commit.settled();
      return store.readJournal();
    },
  };
}
