// The run's journal over its store: what happened, in order, with the time of the run's clock. Appends
// are chained so the file's order is the order of the calls, whoever makes them (the engine's
// transitions, the executors' writes and waits).
import type { Clock } from '../core/clock.js';
import type { Journal, JournalEntry } from '../steps/types.js';
import type { StateStore } from './store.js';

export function createJournal(store: StateStore, clock: Clock): Journal {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    append(entry: Omit<JournalEntry, 'at'>): Promise<void> {
      const appended = tail.then(() => store.appendJournal({ at: clock.now().toISOString(), ...entry }));
      // The caller sees this append's failure; the chain itself goes on to the next entry.
      tail = appended.catch(() => undefined);
      return appended;
    },
    read: () => store.readJournal(),
  };
}
