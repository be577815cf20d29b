// The page of a recorded run (`status --output html`): the status view turned into the plain model the HTML
// renderer takes. What a real run knows comes from its journal: the suspend writes give each CronJob's
// handoff window, entries that name a tick (`data.tick`) give its marks, gate and decision entries the
// markers, the shift steps' outputs the weight steps. Pure.
import type { RunStatusView, StatusView } from '../cli/status/view.js';
import type { JournalEntry, JsonValue } from '../steps/types.js';
import { markerOf } from './rehearsal-page.js';
import { type CutoverPage, type PageCronJob, type PageTable, type PageWeightStep, utc } from './html.js';

type Obj = Record<string, JsonValue>;
const isObj = (v: JsonValue | undefined): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export function statusPage(view: StatusView, direction: { from: string; to: string }, now: Date): CutoverPage {
  const run = view.run;
  const page: CutoverPage = {
    title: `No run of ${view.runbook} is recorded`,
    subtitle: 'cutover execute starts one.',
    window: { from: now.toISOString(), to: now.toISOString() },
    clusters: [direction.from, direction.to],
    facts: [],
    cronJobs: cronJobsOf(view.journal),
    weights: [],
    markers: [
      ...view.journal.filter((e) => e.type === 'gate').map((e) => markerOf(e, 'gate')),
      ...view.journal.filter((e) => e.type === 'decision').map((e) => markerOf(e, 'approval')),
    ],
    tables: [runsTable(view), journalTable(view.journal)],
  };
  if (!run) return { ...page, window: { from: now.toISOString(), to: endOf(view, now) } };
  return {
    ...page,
    title: `Run ${run.runId}: ${run.status}`,
    subtitle: `Runbook ${view.runbook}, started ${utc(run.startedAt)} by ${run.startedBy}${run.message ? `; ${run.message.split('\n')[0]}` : ''}.`,
    window: { from: run.startedAt, to: endOf(view, now) },
    facts: [
      { label: 'Run', value: run.status, bad: run.status === 'halted' || run.status === 'failed' },
      { label: 'Steps done', value: `${run.steps.filter((s) => s.status === 'done').length} of ${run.steps.length}` },
      { label: 'Runs recorded', value: String(view.runs.length) },
    ],
    weights: weightSteps(run),
    tables: [stepsTable(run), ...page.tables],
  };
}

/** A running run's page ends now; any other at its last step end or journal entry. */
function endOf(view: StatusView, now: Date): string {
  const run = view.run;
  const start = run?.startedAt ?? now.toISOString();
  if (run?.status === 'running') return now.toISOString();
  const finished = run?.steps.flatMap((s) => (s.finishedAt ? [s.finishedAt] : [])) ?? [];
  return [start, ...finished, ...view.journal.map((e) => e.at)].sort().at(-1)!;
}

function cronJobsOf(journal: JournalEntry[]): PageCronJob[] {
  const byRef = new Map<string, PageCronJob>();
  for (const entry of journal) {
    const data = entry.data;
    if (!data || typeof data.ref !== 'string') continue;
    let cj = byRef.get(data.ref);
    if (!cj) byRef.set(data.ref, (cj = { name: data.ref, ticks: [], windows: [], bothEnabled: [] }));
    noteWindow(cj, entry, data);
    noteTick(cj, entry, data);
  }
  return [...byRef.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The suspend write opens a handoff window, the resume closes it. */
function noteWindow(cj: PageCronJob, entry: JournalEntry, data: Obj): void {
  if (entry.type !== 'write') return;
  const after = isObj(data.after) ? data.after : undefined;
  if (after?.suspend === true && cj.windows.every((w) => w.to !== undefined)) {
    cj.windows.push({ from: entry.at, label: `handoff: ${entry.message}` });
  } else if (after?.suspend === false) {
    const open = cj.windows.find((w) => w.to === undefined);
    if (open) Object.assign(open, { to: entry.at, label: `${open.label}; ${entry.message}` });
  }
}

/** An entry that names a tick marks it, with the cluster and Job that ran it when it says so. */
function noteTick(cj: PageCronJob, entry: JournalEntry, data: Obj): void {
  if (typeof data.tick !== 'string') return;
  const cluster = typeof data.cluster === 'string' ? data.cluster : undefined;
  const job = typeof data.job === 'string' ? data.job : undefined;
  cj.ticks.push({ at: data.tick, runs: cluster ? [{ cluster, ...(job ? { job } : {}), startedAt: entry.at }] : [], note: entry.message });
}

function weightSteps(run: RunStatusView): PageWeightStep[] {
  return run.steps.flatMap((step) => {
    const shares = step.output?.shares;
    if (!step.finishedAt || !isObj(shares)) return [];
    return Object.entries(shares).flatMap(([group, records]) => {
      if (!Array.isArray(records)) return [];
      const pairs = records.flatMap((r) => (isObj(r) && typeof r.setIdentifier === 'string' && typeof r.percent === 'number' ? [[r.setIdentifier, r.percent] as const] : []));
      return [{ at: step.startedAt ?? step.finishedAt!, group: group.replace('|', ' '), shares: Object.fromEntries(pairs) }];
    });
  });
}

function stepsTable(run: RunStatusView): PageTable {
  return {
    title: 'Steps',
    columns: ['#', 'step', 'status', 'started', 'finished', 'error'],
    rows: run.steps.map((s) => [String(s.index + 1), s.label, s.status, s.startedAt ? utc(s.startedAt) : '', s.finishedAt ? utc(s.finishedAt) : '', s.error ?? '']),
    bad: run.steps.flatMap((s) => (s.status === 'failed' ? [s.index] : [])),
  };
}

function runsTable(view: StatusView): PageTable {
  return {
    title: 'Runs (newest first)',
    columns: ['run', 'kind', 'status', 'started', 'by', 'message'],
    rows: view.runs.map((r) => [r.runId, r.kind, r.status, utc(r.startedAt), r.startedBy, r.message ?? '']),
  };
}

function journalTable(journal: JournalEntry[]): PageTable {
  return {
    title: 'Journal',
    columns: ['at', 'type', 'step', 'message'],
    rows: journal.map((e) => [utc(e.at), e.type, e.step !== undefined ? String(e.step + 1) : '', e.message]),
    bad: journal.flatMap((e, i) => (e.type === 'warning' || e.type === 'drift' ? [i] : [])),
  };
}
