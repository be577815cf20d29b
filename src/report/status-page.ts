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
  const start = run?.startedAt ?? now.toISOString();
  const ends = [start, ...(run?.steps.flatMap((s) => (s.finishedAt ? [s.finishedAt] : [])) ?? []), ...view.journal.map((e) => e.at)].sort();
  const end = run?.status === 'running' ? now.toISOString() : ends.at(-1)!;
  return {
    title: run ? `Run ${run.runId}: ${run.status}` : `No run of ${view.runbook} is recorded`,
    subtitle: run ? `Runbook ${view.runbook}, started ${utc(run.startedAt)} by ${run.startedBy}${run.message ? `; ${run.message.split('\n')[0]}` : ''}.` : 'cutover execute starts one.',
    window: { from: start, to: end },
    clusters: [direction.from, direction.to],
    facts: run
      ? [
          { label: 'Run', value: run.status, bad: run.status === 'halted' || run.status === 'failed' },
          { label: 'Steps done', value: `${run.steps.filter((s) => s.status === 'done').length} of ${run.steps.length}` },
          { label: 'Runs recorded', value: String(view.runs.length) },
        ]
      : [],
    cronJobs: cronJobsOf(view.journal),
    weights: run ? weightSteps(run) : [],
    markers: [
      ...view.journal.filter((e) => e.type === 'gate').map((e) => markerOf(e, 'gate')),
      ...view.journal.filter((e) => e.type === 'decision').map((e) => markerOf(e, 'approval')),
    ],
    tables: [...(run ? [stepsTable(run)] : []), runsTable(view), journalTable(view.journal)],
  };
}

function cronJobsOf(journal: JournalEntry[]): PageCronJob[] {
  const byRef = new Map<string, PageCronJob>();
  const lane = (ref: string): PageCronJob => {
    let cj = byRef.get(ref);
    if (!cj) byRef.set(ref, (cj = { name: ref, ticks: [], windows: [], bothEnabled: [] }));
    return cj;
  };
  for (const entry of journal) {
    const data = entry.data;
    if (!data || typeof data.ref !== 'string') continue;
    const cj = lane(data.ref);
    const after = isObj(data.after) ? data.after : undefined;
    if (entry.type === 'write' && after?.suspend === true && cj.windows.every((w) => w.to !== undefined)) {
      cj.windows.push({ from: entry.at, label: `handoff: ${entry.message}` });
    } else if (entry.type === 'write' && after?.suspend === false) {
      const open = cj.windows.find((w) => w.to === undefined);
      if (open) Object.assign(open, { to: entry.at, label: `${open.label}; ${entry.message}` });
    }
    if (typeof data.tick === 'string') {
      const cluster = typeof data.cluster === 'string' ? data.cluster : undefined;
      const job = typeof data.job === 'string' ? data.job : undefined;
      cj.ticks.push({ at: data.tick, runs: cluster ? [{ cluster, ...(job ? { job } : {}), startedAt: entry.at }] : [], note: entry.message });
    }
  }
  return [...byRef.values()].sort((a, b) => a.name.localeCompare(b.name));
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
