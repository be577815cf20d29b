// A bounded worker pool: at most `limit` items in progress, taken in the given order. After the first
// failure no new item starts (the CronJobs not yet touched keep running on the source, a safe place),
// but items already in progress run to their end: stopping a handoff halfway would leave a CronJob
// suspended on both clusters for longer than needed.

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

export async function runPool<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  const failures: PoolFailure<T>[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (failures.length === 0 && next < items.length) {
      const index = next;
      next += 1;
      const item = items[index] as T;
      try {
        results[index] = await work(item);
      } catch (error) {
        failures.push({ item, error });
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () => worker());
  await Promise.all(workers);
  if (failures.length > 0) throw new PoolError(failures);
  return results;
}
