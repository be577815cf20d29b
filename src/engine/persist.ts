// Saves the run after every snapshot the machine emits, in emission order: a transition is journaled
// (write-ahead: journal, then snapshot) and the whole run rewritten before the next one is handled.
// Executors await `flush()` so "recorded" means "on disk" when their update resolves.
import { ABORTED, DONE, HALTED, stepStateName } from '../machine/runbook.js';
import type { RunbookContext } from '../machine/runbook.js';
import type { Journal } from '../steps/types.js';
import type { PersistedRun, PersistedSnapshot, RunStatus, StateStore } from './store.js';

export type RunHeader = Omit<PersistedRun, 'status' | 'message' | 'snapshot'>;

export function statusOf(value: string): RunStatus {
  if (value === DONE) return 'done';
  if (value === HALTED) return 'halted';
  if (value === ABORTED) return 'aborted';
  return 'running';
}

export function stopMessage(value: string, context: RunbookContext, labels: string[]): string | undefined {
  if (value === HALTED) return context.halt?.message;
  if (value === ABORTED) return `stopped during step ${context.current + 1} (${labels[context.current] ?? '?'}); the run can be resumed`;
  return undefined;
}

/** Index of the step a state runs, for journal entries. */
function stepOf(value: string, stepCount: number): number | undefined {
  for (let i = 0; i < stepCount; i++) if (stepStateName(i) === value) return i;
  return undefined;
}

export class RunPersister {
  private tail: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly store: StateStore,
    private readonly journal: Journal,
    private readonly header: RunHeader,
    private readonly labels: string[],
    /** The state of the snapshot already on disk (a resumed run), so restoring is not journaled as a move. */
    private lastValue: string | undefined,
    private readonly onFailure: (error: unknown) => void,
  ) {}

  /** Called synchronously for each emitted snapshot; the save itself is queued. */
  record(snapshot: PersistedSnapshot): void {
    const value = String(snapshot.value);
    const from = this.lastValue;
    this.lastValue = value;
    const run: PersistedRun = {
      ...this.header,
      status: statusOf(value),
      ...optional('message', stopMessage(value, snapshot.context, this.labels)),
      snapshot: JSON.parse(JSON.stringify(snapshot)) as PersistedSnapshot,
    };
    this.enqueue(async () => {
      if (from !== value) await this.journalTransition(from, value);
      await this.store.save(run);
    });
  }

  /** Resolves once everything recorded so far is saved; rejects with the first save that failed. */
  async flush(): Promise<void> {
    await this.tail;
    if (this.failure) throw this.failure.error;
  }

  private journalTransition(from: string | undefined, to: string): Promise<void> {
    const step = stepOf(to, this.labels.length);
    return this.journal.append({
      type: 'transition',
      message: `${from ?? 'start'} → ${to}`,
      ...optional('step', step),
      data: { from: from ?? null, to },
    });
  }

  private enqueue(save: () => Promise<void>): void {
    this.tail = this.tail.then(save).catch((error: unknown) => {
      // Acting on after a state could not be saved would leave effects no resume knows about.
      if (!this.failure) {
        this.failure = { error };
        this.onFailure(error);
      }
    });
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
