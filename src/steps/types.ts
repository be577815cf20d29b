// The contract between the engine and the step executors. A step executor is an idempotent async
// function: after a crash the engine runs it again from the start with the progress it had persisted, so
// it must read, then act only if needed. Every wait it does has an absolute deadline from `deadline()`.
import type { Clock } from '../core/clock.js';
import type { Ports } from '../core/ports.js';
import type { LoadedRunbook, Step } from '../config/types.js';
import type { Plan } from '../plan/types.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface StepProgress {
  status: 'pending' | 'running' | 'done' | 'failed';
  startedAt?: string;
  finishedAt?: string;
  /** Absolute deadlines (ISO), keyed by what is awaited; survive a restore unchanged. */
  deadlines: Record<string, string>;
  /** Executor-owned, JSON-serialisable progress (per-CronJob phase, DNS change id, message ts...). */
  data: Record<string, JsonValue>;
  /** Result of a finished step, shown by `status` and available to later steps. */
  output?: Record<string, JsonValue>;
  error?: string;
}

export type JournalType =
  | 'run'
  | 'transition'
  | 'write'
  | 'wait'
  | 'decision'
  | 'gate'
  | 'warning'
  | 'drift'
  /** What became of a tick a handoff affected: run late on the target, skipped, or left to the source. */
  | 'tick';

export interface JournalEntry {
  at: string;
  type: JournalType;
  step?: number;
  message: string;
  data?: Record<string, JsonValue>;
}

export interface Journal {
  append(entry: Omit<JournalEntry, 'at'>): Promise<void>;
  read(): Promise<JournalEntry[]>;
}

/** What the operator sees: a live line on a TTY, plain lines otherwise. */
export interface Reporter {
  step(index: number, label: string): void;
  info(message: string): void;
  warn(message: string): void;
  /** Something is awaited until `until`. */
  waiting(what: string, until: Date): void;
  /**
   * The wait `what` is over, and how (`INSYNC`, `passed: ...`, `soak done`). Optional: a wait nobody ends
   * is taken as over at the next step, or when a line about the same subject (`ns/name:`) comes.
   */
  waitOver?(what: string, how: string): void;
}

export interface RunContext {
  runId: string;
  loaded: LoadedRunbook;
  plan: Plan;
  /** Identity of the operator who started the run (for self-approval rules and the audit trail). */
  startedBy: string;
  ports: Ports;
  clock: Clock;
  journal: Journal;
  reporter: Reporter;
  /** `execute --approve`: approvals answered non-interactively where the environment allows it. */
  autoApprove: boolean;
  /** Outputs of steps finished earlier in this run, by index. */
  outputs: Record<number, Record<string, JsonValue> | undefined>;
}

export interface StepRuntime<S extends Step = Step> {
  run: RunContext;
  index: number;
  step: S;
  label: string;
  progress: StepProgress;
  /** Merges into progress.data and persists before resolving. */
  update(data: Record<string, JsonValue>): Promise<void>;
  /** Absolute deadline `name`: now + ms on the first call, the stored value on every later call. */
  deadline(name: string, ms: number): Promise<Date>;
  signal: AbortSignal;
}

export type StepExecutor<S extends Step = Step> = (
  rt: StepRuntime<S>,
) => Promise<Record<string, JsonValue> | void>;
