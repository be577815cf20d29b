// The page of a rehearsal (`rehearse --output html`, `execute --output html` on a sandbox): the rehearsal
// report turned into the plain model the HTML renderer takes. Pure.
import type { RehearsalReport } from '../adapters/sandbox/report.js';
import { effectiveShares } from '../plan/weights.js';
import type { JournalEntry } from '../steps/types.js';
import { type CutoverPage, type PageMarker, type PageTable, type PageWeightStep, tickVerdict, utc } from './html.js';

export function rehearsalPage(report: RehearsalReport): CutoverPage {
  const cronJobs = report.cronJobs.map((cj) => ({
    name: cj.cronJob,
    schedule: cj.schedule,
    ticks: cj.ticks.map((row) => ({
      at: row.tick,
      runs: row.jobs.map((j) => ({
        cluster: j.cluster,
        job: j.name,
        // A Job started a second or more after its tick is a catch-up or a tick held back: say when.
        ...(Date.parse(j.createdAt) - Date.parse(row.tick) >= 1_000 ? { startedAt: j.createdAt } : {}),
        outcome: j.outcome ?? 'running',
      })),
    })),
    windows: cj.handoff
      ? [
          {
            from: cj.handoff.sourceSuspendedAt,
            ...(cj.handoff.targetResumedAt ? { to: cj.handoff.targetResumedAt } : {}),
            label: `handoff: ${report.from} suspended ${utc(cj.handoff.sourceSuspendedAt)}, ${cj.handoff.targetResumedAt ? `${report.to} resumed ${utc(cj.handoff.targetResumedAt)}` : `${report.to} not resumed`}; ${cj.handoff.ticksInside.length} tick(s) inside`,
          },
        ]
      : [],
    bothEnabled: cj.enabledOnBoth.map((i) => ({ from: i.from, ...(i.to ? { to: i.to } : {}), label: 'enabled on both clusters' })),
  }));
  const clusters = [report.from, report.to, ...new Set(report.cronJobs.flatMap((cj) => cj.ticks.flatMap((t) => t.jobs.map((j) => j.cluster))))];
  const earliest = cronJobs.flatMap((cj) => cj.ticks.map((t) => t.at)).sort()[0];
  const from = earliest !== undefined && earliest < report.startedAt ? earliest : report.startedAt;
  return {
    title: `Rehearsal of ${report.runbook}: ${report.from} → ${report.to}`,
    subtitle: `Simulated ${utc(report.startedAt)} to ${utc(report.endedAt)} (virtual time). Run: ${report.status}${report.message ? ` (${report.message.split('\n')[0]})` : ''}.`,
    window: { from, to: report.endedAt },
    clusters: [...new Set(clusters)],
    facts: [
      { label: 'Run', value: report.status, bad: report.status !== 'done' },
      ...(report.run ? [{ label: 'Took', value: formatMs(report.run.durationMs) }] : []),
      { label: 'Double runs', value: String(report.doubleRuns), bad: report.doubleRuns > 0 },
      { label: 'Missed ticks', value: String(report.missedTicks), bad: report.missedTicks > 0 },
      { label: 'Ticks inside handoff windows', value: String(report.ticksInsideHandoffs) },
      { label: 'Enabled on both clusters', value: String(report.enabledOnBoth), bad: report.enabledOnBoth > 0 },
      { label: 'Concurrent runs', value: String(report.concurrentRuns), bad: report.concurrentRuns > 0 },
    ],
    cronJobs,
    weights: weightSteps(report),
    markers: [...report.gates.map((e) => markerOf(e, 'gate')), ...report.approvals.map((e) => markerOf(e, 'approval'))],
    tables: [messagesTable(report), ticksTable(cronJobs), weightsTable(report), journalTable('Gates', report.gates), journalTable('Approvals', report.approvals), ...notesTable(report)],
  };
}

function formatMs(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

function weightSteps(report: RehearsalReport): PageWeightStep[] {
  return report.weights.flatMap((w) =>
    Object.entries(w.groups).map(([group, weights]) => ({
      at: w.at,
      group: group.replace('|', ' '),
      shares: Object.fromEntries(effectiveShares(Object.entries(weights).map(([setIdentifier, weight]) => ({ setIdentifier, weight }))).map((s) => [s.setIdentifier, s.percent])),
    })),
  );
}

export function markerOf(entry: JournalEntry, kind: PageMarker['kind']): PageMarker {
  const verdict = entry.data?.[kind === 'gate' ? 'status' : 'outcome'];
  return { at: entry.at, kind, label: entry.message, ok: verdict === (kind === 'gate' ? 'pass' : 'approved') };
}

function messagesTable(report: RehearsalReport): PageTable {
  // Errors, then warnings: what would stop a real run first.
  const order = { error: 0, warning: 1, info: 2 } as const;
  const messages = report.planMessages.filter((m) => m.severity !== 'info').sort((a, b) => order[a.severity] - order[b.severity]);
  return {
    title: 'Plan messages',
    columns: ['severity', 'subject', 'message'],
    rows: messages.map((m) => [m.severity, m.subject ?? '', m.message]),
    bad: messages.flatMap((m, i) => (m.severity === 'error' ? [i] : [])),
  };
}

function ticksTable(cronJobs: CutoverPage['cronJobs']): PageTable {
  const rows: string[][] = [];
  const bad: number[] = [];
  for (const cj of cronJobs) {
    for (const tick of cj.ticks) {
      const verdict = tickVerdict(tick);
      if (verdict === 'missed' || verdict === 'double') bad.push(rows.length);
      const runs = tick.runs.map((r) => `${r.cluster}: ${r.job ?? ''} (${r.outcome ?? 'running'}${r.startedAt ? `, started ${utc(r.startedAt)}` : ''})`).join('; ');
      rows.push([cj.name, utc(tick.at), verdict === 'ok' ? 'once' : verdict.toUpperCase(), runs || tick.note || 'no Job on any cluster']);
    }
  }
  return { title: 'Ticks', columns: ['CronJob', 'tick', 'verdict', 'Jobs'], rows, bad };
}

function weightsTable(report: RehearsalReport): PageTable {
  return {
    title: 'Weights',
    columns: ['at', 'record', 'weights (effective share)', 'change'],
    rows: report.weights.flatMap((w) =>
      Object.entries(w.groups).map(([group, weights]) => {
        const shares = effectiveShares(Object.entries(weights).map(([setIdentifier, weight]) => ({ setIdentifier, weight })));
        return [utc(w.at), group.replace('|', ' '), shares.map((s) => `${s.setIdentifier}=${s.weight} (${s.percent}%)`).join(' '), w.changeId];
      }),
    ),
  };
}

function journalTable(title: string, entries: JournalEntry[]): PageTable {
  return { title, columns: ['at', 'step', 'what'], rows: entries.map((e) => [utc(e.at), e.step !== undefined ? String(e.step + 1) : '', e.message]) };
}

function notesTable(report: RehearsalReport): PageTable[] {
  if (report.notes.length === 0) return [];
  return [{ title: 'Assumptions', columns: ['note'], rows: report.notes.map((n) => [n]) }];
}
