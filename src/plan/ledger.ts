// The tick model shared by the rehearsal report and `cutover ledger`: for one CronJob, every tick of its
// schedule (in its zone) in a window, with the Jobs that ran for it on any cluster. A tick with two or more
// Jobs is a double run (the invariant says never); a tick with none ran nowhere. Jobs are matched to ticks
// by the controller's scheduled-timestamp annotation, normalised to UTC, never by creation time: a catch-up
// Job is created long after its tick.
import { ticksBetween } from './schedule.js';

/** One Job of a CronJob, on whichever cluster it ran. */
export interface TickJob {
  cluster: string;
  name: string;
  createdAt: string;
  outcome?: string;
}

export interface LedgerJob extends TickJob {
  /** The tick the Job is for, ISO-8601 in UTC. */
  scheduledTime: string;
}

export interface TickRow {
  tick: string;
  jobs: TickJob[];
}

export interface TickSchedule {
  schedule: string;
  timeZone?: string;
}

/** More ticks than this in one window is a schedule/window mistake, not a ledger to print. */
export const MAX_TICKS = 10_000;

const utc = (iso: string): string => new Date(iso).toISOString();

/**
 * The ticks in (start, end] with the Jobs run for each, sorted by tick. `jobs` are this CronJob's Jobs;
 * with `jobsOutsideWindow: 'include'` (the rehearsal, which seeds Jobs of older ticks) a Job's tick outside
 * the window gets a row of its own, with `'drop'` (the ledger of a chosen window) it is left out.
 */
export function tickRows(
  cronJob: TickSchedule,
  jobs: LedgerJob[],
  start: Date,
  end: Date,
  jobsOutsideWindow: 'include' | 'drop' = 'include',
): TickRow[] {
  const ticks = new Set(ticksBetween(cronJob.schedule, cronJob.timeZone, start, end, MAX_TICKS).map((t) => t.toISOString()));
  const byTick = new Map<string, TickJob[]>();
  for (const job of jobs) {
    const tick = utc(job.scheduledTime);
    const inside = Date.parse(tick) > start.getTime() && Date.parse(tick) <= end.getTime();
    if (!inside && jobsOutsideWindow === 'drop') continue;
    ticks.add(tick);
    const { scheduledTime: _tick, ...rest } = job;
    byTick.set(tick, [...(byTick.get(tick) ?? []), rest]);
  }
  return [...ticks].sort().map((tick) => ({ tick, jobs: byTick.get(tick) ?? [] }));
}

export const doubleRuns = (rows: TickRow[]): string[] => rows.filter((r) => r.jobs.length > 1).map((r) => r.tick);
export const ranNowhere = (rows: TickRow[]): string[] => rows.filter((r) => r.jobs.length === 0).map((r) => r.tick);

/** One copy of a CronJob on one cluster, as the ledger needs it. */
export interface LedgerCopy {
  cluster: string;
  creationTimestamp: string;
  suspend: boolean;
}

export interface LedgerInput extends TickSchedule {
  cronJob: string;
  copies: LedgerCopy[];
  jobs: LedgerJob[];
}

export type TickVerdict = 'once' | 'double' | 'nowhere' | 'before-created' | 'pending';

/** A tick this close to the end of the window may not have its Job yet: the controller syncs every 10 s. */
export const PENDING_MS = 60_000;

export interface LedgerTick extends TickRow {
  verdict: TickVerdict;
}

export interface LedgerEntry {
  cronJob: string;
  schedule: string;
  timeZone?: string;
  /** Clusters holding a copy, and whether it is enabled there now. */
  copies: { cluster: string; enabled: boolean }[];
  ticks: LedgerTick[];
  doubleRuns: string[];
  ranNowhere: string[];
}

export interface Ledger {
  from: string;
  until: string;
  cronJobs: LedgerEntry[];
  doubleRuns: number;
  ranNowhere: number;
}

/**
 * The ledger of a window: every tick of every CronJob and which clusters ran it. A tick before the oldest
 * copy was created could not have run anywhere, and one in the last minute of the window may still get its
 * Job: neither counts as run nowhere.
 */
export function buildLedger(inputs: LedgerInput[], from: Date, until: Date): Ledger {
  const cronJobs = inputs.map((input) => ledgerEntry(input, from, until));
  return {
    from: from.toISOString(),
    until: until.toISOString(),
    cronJobs,
    doubleRuns: cronJobs.reduce((n, c) => n + c.doubleRuns.length, 0),
    ranNowhere: cronJobs.reduce((n, c) => n + c.ranNowhere.length, 0),
  };
}

function ledgerEntry(input: LedgerInput, from: Date, until: Date): LedgerEntry {
  const created = Math.min(...input.copies.map((c) => Date.parse(c.creationTimestamp)));
  const ticks = tickRows(input, input.jobs, from, until, 'drop').map((row): LedgerTick => ({ ...row, verdict: verdictOf(row, created, until) }));
  return {
    cronJob: input.cronJob,
    schedule: input.schedule,
    ...(input.timeZone ? { timeZone: input.timeZone } : {}),
    copies: input.copies.map((c) => ({ cluster: c.cluster, enabled: !c.suspend })),
    ticks,
    doubleRuns: ticks.filter((t) => t.verdict === 'double').map((t) => t.tick),
    ranNowhere: ticks.filter((t) => t.verdict === 'nowhere').map((t) => t.tick),
  };
}

function verdictOf(row: TickRow, created: number, until: Date): TickVerdict {
  if (row.jobs.length > 1) return 'double';
  if (row.jobs.length === 1) return 'once';
  const at = Date.parse(row.tick);
  if (at < created) return 'before-created';
  return at > until.getTime() - PENDING_MS ? 'pending' : 'nowhere';
}
