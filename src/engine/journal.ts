// The run's journal over its store: what happened, in order, with the time of the run's clock. Appends
// keep the order of the calls, whoever makes them (the engine's transitions, the executors' writes and
// waits). Entries made while an append is on its way go out together in the next one (a group commit):
// many handoffs at once then share one write and one sync instead of queueing for one each.
import type { Clock } from '../core/clock.js';
import type { Journal, JournalEntry } from '../steps/types.js';
import type { StateStore } from './store.js';

export function createJournal(store: StateStore, clock: Clock): Journal {
  let tail: Promise<unknown> = Promise.resolve();
  let pending: JournalEntry[] = [];
  /** The append that will carry the pending entries, if it has not started yet. */
  let next: Promise<void> | undefined;
  return {
    append(entry: Omit<JournalEntry, 'at'>): Promise<void> {
      // Stamped now, so the journal's times follow the calls even when the write comes later.
      pending.push({ at: clock.now().toISOString(), ...entry });
      if (next) return next;
      const appended = tail.then(() => {
        const entries = pending;
        pending = [];
        next = undefined;
        return store.appendJournal(...entries);
      });
      next = appended;
      // The callers of this append see its failure; the chain itself goes on to the next one.
      tail = appended.catch(() => undefined);
      return appended;
    },
    // What was appended before the read, included.
    read: async () => {
      await tail;
      return store.readJournal();
    },
  };
}
