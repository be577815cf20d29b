// The run journal: entries keep the order of the calls, entries made while an append is on its way go out
// together in the next one (one write and one sync for many handoffs), and a failed append fails only the
// entries it carried.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/adapters/sandbox/clock.js';
import { createJournal } from '../../src/engine/journal.js';
import { MemoryStateStore } from '../../src/engine/memory-store.js';
import { LocalStateStore } from '../../src/engine/store.js';
import type { JournalEntry } from '../../src/steps/types.js';

const clock = new VirtualClock(new Date('2026-03-02T10:00:00Z'));

/** A memory store that counts appends and can fail the next one. */
class CountingStore extends MemoryStateStore {
  appends: number[] = [];
  failNext = false;
  override async appendJournal(...entries: JournalEntry[]): Promise<void> {
    this.appends.push(entries.length);
    await new Promise((r) => setTimeout(r, 1));
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    return super.appendJournal(...entries);
  }
}

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('run journal', () => {
  it('groups the entries made during an append into the next one, in call order', async () => {
    const store = new CountingStore();
    const journal = createJournal(store, clock);
    const all = Array.from({ length: 20 }, (_, i) => journal.append({ type: 'write', message: `write ${i}` }));
    await Promise.all(all);
    // The first append starts on the next turn and takes all twenty; nothing is left for a second one.
    expect(store.appends).toEqual([20]);
    const first = journal.append({ type: 'wait', message: 'first' });
    await new Promise((r) => setTimeout(r, 0));
    const rest = [journal.append({ type: 'wait', message: 'second' }), journal.append({ type: 'wait', message: 'third' })];
    await Promise.all([first, ...rest]);
    expect(store.appends).toEqual([20, 1, 2]);
    expect((await journal.read()).map((e) => e.message)).toEqual([...Array.from({ length: 20 }, (_, i) => `write ${i}`), 'first', 'second', 'third']);
  });

  it('fails the entries of a failed append only; later entries are stored', async () => {
    const store = new CountingStore();
    const journal = createJournal(store, clock);
    store.failNext = true;
    await expect(journal.append({ type: 'write', message: 'lost' })).rejects.toThrow('disk full');
    await journal.append({ type: 'write', message: 'kept' });
    expect((await journal.read()).map((e) => e.message)).toEqual(['kept']);
  });

  it('reads what was appended before the read, even while the append is on its way', async () => {
    const journal = createJournal(new CountingStore(), clock);
    void journal.append({ type: 'run', message: 'started' });
    expect((await journal.read()).map((e) => e.message)).toEqual(['started']);
  });

  it('writes a group to the local folder as one line per entry', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cutover-journal-'));
    dirs.push(dir);
    const store = new LocalStateStore(dir);
    const journal = createJournal(store, clock);
    await Promise.all(['a', 'b', 'c'].map((message) => journal.append({ type: 'decision', message })));
    expect((await store.readJournal()).map((e) => e.message)).toEqual(['a', 'b', 'c']);
  });
});
