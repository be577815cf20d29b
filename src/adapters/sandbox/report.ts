// The rehearsal report: for every CronJob and every tick of the rehearsal window, which cluster ran it.
// A tick with two Jobs is a double run (the product's invariant says: never); a tick with none is missed
// (expected only for ticks that fell while both copies were suspended, with `missedRuns: skip`). Beside
// the ticks: each CronJob's handoff window (source suspended → target resumed) and the ticks inside it,
// any instant both copies were enabled, the Route 53 weights over time, gates and approvals.
import { formatDuration } from '../../core/duration.js';
import type { ConcurrencyPolicy } from '../../core/types.js';
import { effectiveShares } from '../../plan/weights.js';
import { ticksBetween } from '../../plan/schedule.js';
import { doubleRuns, ranNowhere, tickRows as ledgerRows, type LedgerJob, type TickJob, type TickRow } from '../../plan/ledger.js';
import type { PlanMessage } from '../../plan/types.js';
import type { JournalEntry } from '../../steps/types.js';
import type { SimEvent, SimJob, SuspendChange } from './cluster.js';
import type { WeightChange } from './dns.js';

export type { TickJob, TickRow };

export interface HandoffWindow {
  /** When the source copy was suspended by the run. */
  sourceSuspendedAt: string;
  /** When the target copy was resumed; absent when the run stopped before. */
  targetResumedAt?: string;
  /** Ticks that fell while neither copy was enabled. */
  ticksInside: string[];
}

export interface Interval {
  from: string;
  /** Absent: still so at the end of the rehearsal. */
  to?: string;
  /** Already so when the simulated world started (the state the rehearsal was seeded with). */
  atStart?: boolean;
}

export interface CronJobReport {
  cronJob: string;
  schedule: string;
  timeZone?: string;
  ticks: TickRow[];
  missedTicks: string[];
  doubleRuns: string[];
  handoff?: HandoffWindow;
  /** Intervals during which the copies on both clusters were enabled (those `atStart` were found so). */
  enabledOnBoth: Interval[];
  /** Forbid/Replace CronJobs: Jobs that ran at the same time on both clusters. */
  concurrentRuns: string[];
  /** Clusters on which the CronJob is enabled at the end. */
  enabledAtEnd: string[];
}

export interface RehearsalReport {
  runbook: string;
  from: string;
  to: string;
  /** The simulated window, in virtual time. */
  startedAt: string;
  endedAt: string;
  status: string;
  /** Why the run stopped, when it did not finish. */
  message?: string;
  run?: { startedAt: string; endedAt: string; durationMs: number };
  notes: string[];
  planMessages: PlanMessage[];
  cronJobs: CronJobReport[];
  doubleRuns: number;
  missedTicks: number;
  ticksInsideHandoffs: number;
  /** Times a CronJob became enabled on both clusters during the rehearsal (not counting the starting state). */
  enabledOnBoth: number;
  concurrentRuns: number;
  weights: WeightChange[];
  gates: JournalEntry[];
  approvals: JournalEntry[];
  /** Controller warnings a real cluster would record as events (Forbid holding a tick back, ...). */
  events: SimEvent[];
  apiCalls: Record<string, Record<string, number>>;
}

export interface ReportCronJob {
  key: string;
  schedule: string;
  timeZone?: string;
  concurrencyPolicy: ConcurrencyPolicy;
}

export interface ReportInput {
  runbook: string;
  from: string;
  to: string;
  status: string;
  message?: string;
  start: Date;
  end: Date;
  cronJobs: ReportCronJob[];
  jobs: SimJob[];
  /** Suspend changes per cluster name. */
  suspendHistory: Record<string, SuspendChange[]>;
  events: SimEvent[];
  weights: WeightChange[];
  journal: JournalEntry[];
  apiCalls: Record<string, Record<string, number>>;
  notes?: string[];
  planMessages?: PlanMessage[];
}

const NOTABLE_EVENTS = new Set<SimEvent['reason']>(['JobAlreadyActive', 'TooManyMissedTimes', 'MissSchedule']);

export function buildReport(input: ReportInput): RehearsalReport {
  const byCronJob = new Map<string, LedgerJob[]>();
  for (const job of input.jobs) {
    if (!job.scheduledTime || job.deleted) continue;
    const entry: LedgerJob = { cluster: job.cluster, name: job.name, createdAt: job.creationTimestamp, scheduledTime: job.scheduledTime, ...(job.outcome ? { outcome: job.outcome } : {}) };
    byCronJob.set(job.cronJob, [...(byCronJob.get(job.cronJob) ?? []), entry]);
  }
  const run = runWindow(input.journal);
  const cronJobs = input.cronJobs.map((cj) => cronJobReport(cj, input, byCronJob.get(cj.key) ?? [], run));
  const sum = (count: (c: CronJobReport) => number): number => cronJobs.reduce((n, c) => n + count(c), 0);
  return {
    runbook: input.runbook,
    from: input.from,
    to: input.to,
    startedAt: input.start.toISOString(),
    endedAt: input.end.toISOString(),
    status: input.status,
    ...(input.message ? { message: input.message } : {}),
    ...(run ? { run: { startedAt: iso(run.start), endedAt: iso(run.end), durationMs: run.end - run.start } } : {}),
    notes: input.notes ?? [],
    planMessages: input.planMessages ?? [],
    cronJobs,
    doubleRuns: sum((c) => c.doubleRuns.length),
    missedTicks: sum((c) => c.missedTicks.length),
    ticksInsideHandoffs: sum((c) => c.handoff?.ticksInside.length ?? 0),
    enabledOnBoth: sum((c) => c.enabledOnBoth.filter((i) => !i.atStart).length),
    concurrentRuns: sum((c) => c.concurrentRuns.length),
    weights: input.weights,
    gates: input.journal.filter((e) => e.type === 'gate'),
    approvals: input.journal.filter((e) => e.type === 'decision'),
    events: input.events.filter((e) => NOTABLE_EVENTS.has(e.reason)).sort((a, b) => a.at.localeCompare(b.at)),
    apiCalls: input.apiCalls,
  };
}

/** First and last `run` entries of the journal: when the engine started and finished the run. */
function runWindow(journal: JournalEntry[]): { start: number; end: number } | undefined {
  const runs = journal.filter((e) => e.type === 'run');
  const first = runs[0];
  const last = runs[runs.length - 1];
  if (!first || !last) return undefined;
  return { start: Date.parse(first.at), end: Date.parse(last.at) };
}

function cronJobReport(
  cj: ReportCronJob,
  input: ReportInput,
  jobs: LedgerJob[],
  run: { start: number; end: number } | undefined,
): CronJobReport {
  // Jobs for ticks before the window (seeded running Jobs, catch-ups of old ticks) are reported too.
  const rows = ledgerRows(cj, jobs, input.start, input.end, 'include');
  const source = historyOf(input.suspendHistory[input.from], cj.key);
  const target = historyOf(input.suspendHistory[input.to], cj.key);
  const handoff = handoffWindow(cj, source, target, run?.start ?? input.start.getTime(), input.end);
  return {
    cronJob: cj.key,
    schedule: cj.schedule,
    ...(cj.timeZone ? { timeZone: cj.timeZone } : {}),
    ticks: rows,
    missedTicks: ranNowhere(rows),
    doubleRuns: doubleRuns(rows),
    ...(handoff ? { handoff } : {}),
    enabledOnBoth: enabledOnBoth(source, target, input.start.getTime()),
    concurrentRuns: cj.concurrencyPolicy === 'Allow' ? [] : concurrentRuns(cj.key, input.jobs),
    enabledAtEnd: Object.entries(input.suspendHistory)
      .filter(([, history]) => historyOf(history, cj.key).at(-1)?.suspend === false)
      .map(([cluster]) => cluster)
      .sort(),
  };
}

const historyOf = (history: SuspendChange[] | undefined, key: string): SuspendChange[] =>
  (history ?? []).filter((h) => h.cronJob === key).sort((a, b) => a.at - b.at);

function handoffWindow(
  cj: ReportCronJob,
  source: SuspendChange[],
  target: SuspendChange[],
  runStart: number,
  end: Date,
): HandoffWindow | undefined {
  const suspended = source.find((h) => h.at >= runStart && h.suspend);
  if (!suspended) return undefined;
  const resumed = target.find((h) => h.at >= suspended.at && !h.suspend);
  const until = resumed ? new Date(resumed.at) : end;
  const inside = ticksBetween(cj.schedule, cj.timeZone, new Date(suspended.at), until, 10_000).map((t) => t.toISOString());
  return { sourceSuspendedAt: iso(suspended.at), ...(resumed ? { targetResumedAt: iso(resumed.at) } : {}), ticksInside: inside };
}

/** Walks both copies' suspend changes in time order and collects the intervals with both enabled. */
export function enabledOnBoth(source: SuspendChange[], target: SuspendChange[], worldStart: number): Interval[] {
  if (source.length === 0 || target.length === 0) return [];
  const changes = [...source.map((h) => ({ ...h, side: 0 })), ...target.map((h) => ({ ...h, side: 1 }))].sort((a, b) => a.at - b.at || a.side - b.side);
  const enabled: [boolean | undefined, boolean | undefined] = [undefined, undefined];
  const intervals: Interval[] = [];
  let openSince: number | undefined;
  for (const change of changes) {
    enabled[change.side] = !change.suspend;
    const both = enabled[0] === true && enabled[1] === true;
    if (both && openSince === undefined) openSince = change.at;
    if (!both && openSince !== undefined) {
      if (change.at > openSince) intervals.push(interval(openSince, change.at, worldStart));
      openSince = undefined;
    }
  }
  if (openSince !== undefined) intervals.push(interval(openSince, undefined, worldStart));
  return intervals;
}

function interval(from: number, to: number | undefined, worldStart: number): Interval {
  return { from: iso(from), ...(to !== undefined ? { to: iso(to) } : {}), ...(from <= worldStart ? { atStart: true } : {}) };
}

function concurrentRuns(key: string, jobs: SimJob[]): string[] {
  const own = jobs.filter((j) => j.cronJob === key && !j.deleted);
  const found: string[] = [];
  for (const [i, a] of own.entries()) {
    for (const b of own.slice(i + 1)) {
      if (a.cluster === b.cluster) continue;
      const overlap = Date.parse(a.creationTimestamp) < b.finishAt && Date.parse(b.creationTimestamp) < a.finishAt;
      if (overlap) found.push(`${a.cluster}/${a.name} and ${b.cluster}/${b.name}`);
    }
  }
  return found;
}

const iso = (ms: number): string => new Date(ms).toISOString();
/** Times without milliseconds: the simulation never needs them, and the report reads better. */
const t = (text: string): string => text.replace(/\.000Z$/, 'Z');

export function renderReport(report: RehearsalReport): string {
  return [...header(report), ...cronJobLines(report), ...weightLines(report), ...decisionLines(report), ...summaryLines(report)].join('\n');
}

function header(report: RehearsalReport): string[] {
  const lines = [`Rehearsal of ${report.runbook}: ${report.from} → ${report.to}, ${t(report.startedAt)} .. ${t(report.endedAt)} (virtual time)`];
  const took = report.run ? ` in ${formatDuration(report.run.durationMs)} (${t(report.run.startedAt)} → ${t(report.run.endedAt)})` : '';
  lines.push(`Run: ${report.status}${took}`);
  if (report.message) lines.push(...report.message.split('\n').map((l) => `  ${l}`));
  for (const note of report.notes) lines.push(`Note: ${note}`);
  const messages = report.planMessages.filter((m) => m.severity !== 'info');
  if (messages.length > 0) {
    lines.push('', 'Plan messages (what validation would refuse or warn about):');
    for (const m of messages) lines.push(`  ${m.severity}: ${m.subject ? `${m.subject}: ` : ''}${m.message}`);
  }
  return lines;
}

function cronJobLines(report: RehearsalReport): string[] {
  const lines = ['', 'CronJobs (Jobs per tick and cluster):'];
  if (report.cronJobs.length === 0) lines.push('  (none)');
  for (const cj of report.cronJobs) {
    const enabled = cj.enabledAtEnd.length > 0 ? `enabled at the end on ${cj.enabledAtEnd.join(', ')}` : 'suspended everywhere at the end';
    lines.push(`  ${cj.cronJob}  "${cj.schedule}"${cj.timeZone ? ` ${cj.timeZone}` : ''}  (${enabled})`);
    if (cj.handoff) lines.push(`    handoff: ${describeWindow(cj.handoff)}`);
    for (const both of cj.enabledOnBoth) {
      const found = both.atStart ? ' (so when the rehearsal started)' : '';
      lines.push(`    ENABLED ON BOTH clusters from ${t(both.from)}${both.to ? ` to ${t(both.to)}` : ' until the end'}${found}`);
    }
    for (const run of cj.concurrentRuns) lines.push(`    RAN AT THE SAME TIME (concurrencyPolicy not Allow): ${run}`);
    if (cj.ticks.length === 0) lines.push('    (no tick in the simulated window)');
    for (const line of tickLines(cj.ticks)) lines.push(`    ${line}`);
  }
  if (report.events.length > 0) {
    lines.push('', 'Controller events:');
    for (const e of report.events) lines.push(`  ${t(e.at)}  ${e.cluster} ${e.cronJob} ${e.reason}: ${e.message}`);
  }
  return lines;
}

/** A routine row: one Job, started at its tick, finished. Long stretches of them are folded in the text. */
const routine = (row: TickRow): string | undefined => {
  const [job, ...others] = row.jobs;
  if (!job || others.length > 0 || !job.outcome || Date.parse(job.createdAt) - Date.parse(row.tick) >= 1_000) return undefined;
  return `${job.cluster} ${job.outcome}`;
};

const FOLD_AFTER = 4;

function tickLines(rows: TickRow[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i < rows.length; ) {
    const kind = routine(rows[i]!);
    let end = i + 1;
    while (kind !== undefined && end < rows.length && routine(rows[end]!) === kind) end += 1;
    if (kind !== undefined && end - i > FOLD_AFTER) {
      const [cluster, outcome] = kind.split(' ');
      lines.push(`${t(rows[i]!.tick)}  ${describeRow(rows[i]!)}`);
      lines.push(`  … ${end - i - 2} more tick(s), each run once on ${cluster} (${outcome}) …`);
      lines.push(`${t(rows[end - 1]!.tick)}  ${describeRow(rows[end - 1]!)}`);
    } else {
      for (const row of rows.slice(i, end)) lines.push(`${t(row.tick)}  ${describeRow(row)}`);
    }
    i = end;
  }
  return lines;
}

function describeWindow(w: HandoffWindow): string {
  const until = w.targetResumedAt ? `target resumed ${t(w.targetResumedAt)}` : 'target NOT resumed before the end';
  const inside = w.ticksInside.length === 0 ? 'no tick inside' : `${w.ticksInside.length} tick(s) inside: ${w.ticksInside.map(t).join(', ')}`;
  return `source suspended ${t(w.sourceSuspendedAt)}, ${until}; ${inside}`;
}

function describeRow(row: TickRow): string {
  if (row.jobs.length === 0) return 'MISSED (no Job on either cluster)';
  const jobs = row.jobs.map((j) => {
    const lateMs = Date.parse(j.createdAt) - Date.parse(row.tick);
    const late = lateMs >= 1_000 ? `, started ${formatDuration(lateMs)} after the tick` : '';
    return `${j.cluster}:${j.name} (${j.outcome ?? 'running'}${late})`;
  });
  return `${jobs.join(', ')}${row.jobs.length > 1 ? '  DOUBLE RUN' : ''}`;
}

function weightLines(report: RehearsalReport): string[] {
  const lines = ['', 'Weights timeline:'];
  if (report.weights.length === 0) lines.push('  (no weight change)');
  for (const w of report.weights) {
    for (const [group, weights] of Object.entries(w.groups)) {
      const shares = effectiveShares(Object.entries(weights).map(([setIdentifier, weight]) => ({ setIdentifier, weight })));
      const text = shares.map((s) => `${s.setIdentifier}=${s.weight} (${s.percent}%)`).join(' ');
      lines.push(`  ${t(w.at)}  ${group.replace('|', ' ')}  ${text}  [${w.changeId}]`);
    }
  }
  return lines;
}

function decisionLines(report: RehearsalReport): string[] {
  const lines = ['', 'Gates:'];
  if (report.gates.length === 0) lines.push('  (none)');
  for (const g of report.gates) lines.push(`  ${t(g.at)}  step ${(g.step ?? -1) + 1}: ${g.message}`);
  lines.push('Approvals:');
  if (report.approvals.length === 0) lines.push('  (none)');
  for (const a of report.approvals) lines.push(`  ${t(a.at)}  step ${(a.step ?? -1) + 1}: ${a.message}`);
  return lines;
}

function summaryLines(report: RehearsalReport): string[] {
  return [
    '',
    `Double runs: ${report.doubleRuns}`,
    `Missed ticks: ${report.missedTicks}`,
    `Ticks inside handoff windows: ${report.ticksInsideHandoffs}`,
    `Enabled on both clusters: ${report.enabledOnBoth}`,
    `Concurrent runs across clusters: ${report.concurrentRuns}`,
  ];
}
