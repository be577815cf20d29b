// A bounded worker pool: at most `limit` items at work, started in the given order. After the first
// failure no new item starts (the CronJobs not yet touched keep running on the source, a safe place),
// but items already in progress run to their end: stopping a handoff halfway would leave a CronJob
// suspended on both clusters for longer than needed.
//
// An item that only waits (the pause before a handoff's verify) can hand its slot to the next item for
// the wait with `slot.idle`, so the limit bounds the items making API calls, not the ones sleeping.

export interface PoolFailure<T> {
  item: T;
  error: unknown;
}

export class PoolError<T> extends Error {
  constructor(readonly failures: PoolFailure<T>[]) {
    super(`${failures.length} of the pool's items failed`);
    this.name = 'PoolError';
  }
}

export interface PoolSlot {
  /** Runs `wait` without holding a slot; resolves once the slot is taken back (after waiting in line). */
  idle<R>(wait: () => Promise<R>): Promise<R>;
}

/** Counting semaphore, first come first served. */
class Slots {
  private readonly waiting: (() => void)[] = [];

  constructor(private free: number) {}

  take(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}

export async function runPool<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, slot: PoolSlot) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  const failures: PoolFailure<T>[] = [];
  const slots = new Slots(Math.max(1, limit));
  const slot: PoolSlot = {
    async idle(wait) {
      slots.give();
      try {
        return await wait();
      } finally {
        await slots.take();
      }
    },
  };
  const started: Promise<void>[] = [];
  for (const [index, item] of items.entries()) {
    await slots.take();
    if (failures.length > 0) {
      slots.give();
      break;
    }
    started.push(
      work(item, slot)
        .then((result) => {
          results[index] = result;
        })
        .catch((error: unknown) => {
          failures.push({ item, error });
        })
        .finally(() => slots.give()),
    );
  }
  await Promise.all(started);
  if (failures.length > 0) throw new PoolError(failures);
  return results;
}
