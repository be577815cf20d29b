// The progress book of moveCronJobs: changes made while a write is on its way share the next write
// (group commit), writes never overlap or go back in time, and a failed write fails only its callers.
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/steps/types.js';
import { ProgressBook } from '../../src/steps/handoff/progress.js';

/** A persist function whose writes finish only when the test lets them. */
function gatedStore() {
  const writes: { cronjobs: Record<string, JsonValue>; finish: (error?: Error) => void }[] = [];
  let active = 0;
  let overlapped = false;
  const persist = (cronjobs: Record<string, JsonValue>) =>
    new Promise<void>((resolve, reject) => {
      active += 1;
      if (active > 1) overlapped = true;
      writes.push({
        cronjobs: structuredClone(cronjobs),
        finish: (error) => {
          active -= 1;
          if (error) reject(error);
          else resolve();
        },
      });
    });
  return { writes, persist, overlapped: () => overlapped };
}

const flush = () => new Promise((r) => setTimeout(r, 0));
const ref = (name: string) => ({ namespace: 'billing', name });
const phaseOf = (cronjobs: Record<string, JsonValue>, name: string) => (cronjobs[`billing/${name}`] as { phase: string }).phase;

describe('ProgressBook', () => {
  it('stores the changes made during a write together in the next one', async () => {
    const store = gatedStore();
    const book = new ProgressBook(undefined, store.persist);
    const first = book.record(ref('a'), { phase: 'source-suspended' });
    await flush();
    expect(store.writes).toHaveLength(1);
    const settled: string[] = [];
    const later = ['b', 'c', 'd'].map((name) => book.record(ref(name), { phase: 'source-suspended' }).then(() => settled.push(name)));
    await flush();
    // Still one write on its way: the three later changes wait for the next one.
    expect(store.writes).toHaveLength(1);
    store.writes[0]!.finish();
    await first;
    await flush();
    expect(store.writes).toHaveLength(2);
    expect(Object.keys(store.writes[1]!.cronjobs).sort()).toEqual(['billing/a', 'billing/b', 'billing/c', 'billing/d']);
    expect(settled).toEqual([]);
    store.writes[1]!.finish();
    await Promise.all(later);
    expect(settled.sort()).toEqual(['b', 'c', 'd']);
    expect(store.overlapped()).toBe(false);
  });

  it('never writes an older phase after a newer one', async () => {
    const seen: string[] = [];
    const book = new ProgressBook(undefined, async (cronjobs) => {
      seen.push(phaseOf(cronjobs, 'a'));
      await flush();
    });
    const phases = ['source-suspended', 'baselined', 'resumed', 'verified'];
    await Promise.all(phases.map((phase) => book.record(ref('a'), { phase: phase as 'baselined' })));
    // Made before the first write started: one write, holding the newest phase.
    expect(seen).toEqual(['verified']);
    await book.record(ref('a'), { phase: 'source-suspended' });
    const during = book.record(ref('a'), { phase: 'baselined' });
    const last = book.record(ref('a'), { phase: 'resumed' });
    await Promise.all([during, last]);
    expect(seen).toEqual(['verified', 'source-suspended', 'resumed']);
  });

  it('fails the callers of a failed write, and the next write still carries their changes', async () => {
    const store = gatedStore();
    const book = new ProgressBook(undefined, store.persist);
    const failed = book.record(ref('a'), { phase: 'baselined' });
    await flush();
    store.writes[0]!.finish(new Error('disk full'));
    await expect(failed).rejects.toThrow('disk full');
    const next = book.record(ref('b'), { phase: 'pending' });
    await flush();
    store.writes[1]!.finish();
    await next;
    expect(phaseOf(store.writes[1]!.cronjobs, 'a')).toBe('baselined');
    expect(book.get(ref('a')).phase).toBe('baselined');
  });
});
