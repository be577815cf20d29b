// The status of a persisted run as a plain, stable JSON shape (documented in docs/cli.md): the same data
// feeds `status --output json` and the table.
import type { LoadedRunbook } from '../../config/types.js';
import type { LockHolder } from '../../engine/lock.js';
import type { RunRecord } from '../../engine/run.js';
import { stepLabel } from '../../machine/labels.js';
import type { JournalEntry, JsonValue, StepProgress } from '../../steps/types.js';

export const STATUS_VERSION = 1;

export interface CronJobStatus {
  /** `namespace/name` */
  cronjob: string;
  phase: string;
  details: Record<string, JsonValue>;
}

export interface StepStatus {
  index: number;
  label: string;
  kind: string;
  status: StepProgress['status'];
  startedAt?: string;
  finishedAt?: string;
  error?: string;
  deadlines: Record<string, string>;
  /** Per-CronJob handoff phases (moveCronJobs steps only). */
  cronjobs?: CronJobStatus[];
  output?: Record<string, JsonValue>;
}

export interface RunStatusView {
  runId: string;
  status: string;
  message?: string;
  startedAt: string;
  startedBy: string;
  location: string;
  lock?: LockHolder;
  /** Index of the step running, or the step a resume goes back to. */
  current: number;
  steps: StepStatus[];
}

/** One run of the runbook or of its rollback, current or archived. */
export interface RunSummary {
  runId: string;
  /** `execute` for a run of the runbook, `rollback` for a run of `<runbook>-rollback`. */
  kind: 'execute' | 'rollback';
  status: string;
  startedAt: string;
  startedBy: string;
  message?: string;
}

export interface StatusView {
  version: typeof STATUS_VERSION;
  runbook: string;
  /** The newest run, execute or rollback, in detail. */
  run: RunStatusView | null;
  /** Every run of the runbook and of its rollback the store keeps, newest first. */
  runs: RunSummary[];
  /** Journal entries of type `decision`: who approved or rejected what, and when. */
  approvals: JournalEntry[];
  journal: JournalEntry[];
}

export function statusView(loaded: LoadedRunbook, record: RunRecord | undefined, journal: JournalEntry[], runs: RunSummary[] = []): StatusView {
  return {
    version: STATUS_VERSION,
    runbook: loaded.runbook.name,
    run: record ? runView(loaded, record) : null,
    runs,
    approvals: journal.filter((entry) => entry.type === 'decision'),
    journal,
  };
}

function runView(loaded: LoadedRunbook, record: RunRecord): RunStatusView {
  const context = record.snapshot.context;
  return {
    runId: record.runId,
    status: record.status,
    ...(record.message !== undefined ? { message: record.message } : {}),
    startedAt: record.startedAt,
    startedBy: record.startedBy,
    location: record.location,
    ...(record.lock ? { lock: record.lock } : {}),
    current: context.current,
    steps: loaded.runbook.steps.map((step, index) => {
      const progress = context.progress[index] ?? { status: 'pending', deadlines: {}, data: {} };
      const cronjobs = cronJobPhases(progress.data['cronjobs']);
      return {
        index,
        label: stepLabel(step),
        kind: step.kind,
        status: progress.status,
        ...optional('startedAt', progress.startedAt),
        ...optional('finishedAt', progress.finishedAt),
        ...optional('error', progress.error),
        deadlines: progress.deadlines,
        ...(cronjobs ? { cronjobs } : {}),
        ...optional('output', progress.output),
      };
    }),
  };
}

function cronJobPhases(value: JsonValue | undefined): CronJobStatus[] | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return Object.entries(value).map(([cronjob, entry]) => {
    const details = entry !== null && typeof entry === 'object' && !Array.isArray(entry) ? { ...entry } : {};
    const phase = typeof details.phase === 'string' ? details.phase : 'unknown';
    delete details.phase;
    return { cronjob, phase, details };
  });
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]: V });
}
