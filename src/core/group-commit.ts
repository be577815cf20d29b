// Group commit: writes go one at a time, in order, and every caller that asks while a write is under way
// shares the next one. The write reads what to store when it starts (the whole map, the entries queued so
// far), so a caller's change is in the write its promise waits for. With many handoffs at once, one write
// and one sync serve all of them instead of each waiting for its own turn.
export class GroupCommit {
  private queue: Promise<void> = Promise.resolve();
  /** The write that will pick up changes made now, if it has not started yet. */
  private next: Promise<void> | undefined;

  constructor(private readonly write: () => Promise<void>) {}

  /** Resolves once a write that started after this call is done; rejects with that write's failure. */
  request(): Promise<void> {
    if (this.next) return this.next;
    const write = this.queue.then(() => {
      // From here on, changes wait for the write after this one.
      this.next = undefined;
      return this.write();
    });
    this.next = write;
    // A failed write fails its own callers; the next one still goes ahead.
    this.queue = write.catch(() => undefined);
    return write;
  }

  /** Resolves once every write requested so far has ended, stored or failed. */
  settled(): Promise<void> {
    return this.queue;
  }
}
