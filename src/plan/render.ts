// The plan as text for a terminal: a header, one line per CronJob (readable with hundreds of them), the
// numbered steps with the traffic split of every record before and after, then the messages grouped by
// severity. Times are shown in each CronJob's own time zone. ANSI colors only when asked for.
import { formatDuration } from '../core/duration.js';
import { refKey } from '../core/types.js';
import type { CronJobAction, CronJobPlanEntry, CronJobSide, Plan, PlanMessage, RecordShare, Severity, StepPlanEntry } from './types.js';

interface Paint {
  bold: (text: string) => string;
  dim: (text: string) => string;
  red: (text: string) => string;
  yellow: (text: string) => string;
  green: (text: string) => string;
}

const ansi = (code: number) => (text: string) => `\u001b[${code}m${text}\u001b[0m`;
const COLORS: Paint = { bold: ansi(1), dim: ansi(2), red: ansi(31), yellow: ansi(33), green: ansi(32) };
const PLAIN: Paint = { bold: (t) => t, dim: (t) => t, red: (t) => t, yellow: (t) => t, green: (t) => t };

export function renderPlan(plan: Plan, opts: { color: boolean }): string {
  const paint = opts.color ? COLORS : PLAIN;
  const sections = [header(plan, paint), cronJobSection(plan, paint), stepSection(plan, paint), messageSection(plan, paint), verdict(plan, paint)];
  return `${sections.filter((s) => s !== '').join('\n\n')}\n`;
}

function header(plan: Plan, paint: Paint): string {
  const version = (v: string | undefined): string => (v ? ` (${v})` : '');
  return [
    paint.bold(`Plan for runbook ${plan.runbook} (environment ${plan.environment})`),
    `  ${plan.from}${version(plan.versions?.source)} → ${plan.to}${version(plan.versions?.target)}`,
    `  observed at ${plan.observedAt} · fingerprint ${plan.fingerprint.slice(0, 12)}`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// CronJobs

const ACTION_TEXT: Record<CronJobAction, string> = {
  move: 'move',
  'suspend-target-then-move': 'suspend target, then move',
  'already-moved': 'already moved',
  blocked: 'BLOCKED',
};

function paintAction(action: CronJobAction, paint: Paint): (text: string) => string {
  if (action === 'blocked') return paint.red;
  if (action === 'suspend-target-then-move') return paint.yellow;
  if (action === 'already-moved') return paint.dim;
  return paint.green;
}

function cronJobSection(plan: Plan, paint: Paint): string {
  const entries = plan.cronJobs;
  const title = paint.bold(`CronJobs: ${entries.length}${entries.length > 0 ? ` (${actionCounts(entries)})` : ''}`);
  if (entries.length === 0) return `${title}\n  none selected on ${plan.from}`;
  const head = ['', 'CRONJOB', 'ACTION', plan.from.toUpperCase(), plan.to.toUpperCase(), 'LAST RUN', 'NEXT TICKS', 'RUNNING'];
  const rows = entries.map((e) => cronJobRow(e));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i]!.length)));
  const line = (cells: string[]): string => `  ${cells.map((c, i) => pad(c, widths[i]!)).join('  ').trimEnd()}`;
  const body = rows.map((row) => {
    const painted = row.cells.map((c, i) => pad(c, widths[i]!));
    painted[0] = row.marker === '✗' ? paint.red(painted[0]!) : row.marker === '!' ? paint.yellow(painted[0]!) : painted[0]!;
    painted[2] = paintAction(row.action, paint)(painted[2]!);
    return `  ${painted.join('  ').trimEnd()}`;
  });
  return [title, paint.dim(line(head)), ...body].join('\n');
}

function actionCounts(entries: CronJobPlanEntry[]): string {
  const counts = new Map<CronJobAction, number>();
  for (const e of entries) counts.set(e.action, (counts.get(e.action) ?? 0) + 1);
  return (Object.keys(ACTION_TEXT) as CronJobAction[])
    .filter((a) => counts.has(a))
    .map((a) => `${counts.get(a)} ${ACTION_TEXT[a].toLowerCase()}`)
    .join(', ');
}

const pad = (text: string, width: number): string => text + ' '.repeat(Math.max(0, width - [...text].length));

interface Row {
  cells: string[];
  action: CronJobAction;
  marker: string;
}

function cronJobRow(entry: CronJobPlanEntry): Row {
  const severities = new Set(entry.messages.map((m) => m.severity));
  const marker = severities.has('error') ? '✗' : severities.has('warning') ? '!' : ' ';
  const zone = entry.timeZone;
  const times = [entry.source.lastScheduleTime, ...entry.nextTicks].filter((t): t is string => t !== undefined);
  const withOffset = new Set(times.map((t) => localParts(t, zone).offset)).size > 1;
  // Both columns name their zone: LAST RUN and NEXT TICKS are read in the CronJob's zone (UTC without one).
  const last = entry.source.lastScheduleTime ? `${localTime(entry.source.lastScheduleTime, zone, withOffset)} ${zone ?? 'UTC'}` : 'never';
  const next = entry.nextTicks.length > 0 ? `${tickList(entry.nextTicks, zone, withOffset)} ${zone ?? 'UTC'}` : '-';
  return {
    cells: [marker, refKey(entry.ref), ACTION_TEXT[entry.action], sideState(entry.source), sideState(entry.target), last, next, running(entry.source)],
    action: entry.action,
    marker,
  };
}

function sideState(side: CronJobSide): string {
  if (!side.present) return 'missing';
  return side.suspend ? 'suspended' : 'enabled';
}

function running(side: CronJobSide): string {
  if (side.activeJobs.length === 0) return '-';
  return side.activeJobs.length === 1 ? side.activeJobs[0]! : `${side.activeJobs.length} Jobs`;
}

// ---------------------------------------------------------------------------------------------------------
// Times in a CronJob's zone

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      timeZoneName: 'longOffset',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

interface LocalParts {
  date: string;
  time: string;
  offset: string;
}

function localParts(iso: string, zone: string | undefined): LocalParts {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = formatterFor(zone ?? 'UTC').formatToParts(new Date(iso));
  } catch {
    // An unknown zone is reported as an error elsewhere; show the instant in UTC.
    parts = formatterFor('UTC').formatToParts(new Date(iso));
  }
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  const offset = get('timeZoneName').replace('GMT', '') || '+00:00';
  return { date: `${get('year')}-${get('month')}-${get('day')}`, time: `${get('hour')}:${get('minute')}`, offset };
}

export function localTime(iso: string, zone: string | undefined, withOffset: boolean): string {
  const p = localParts(iso, zone);
  return `${p.date} ${p.time}${withOffset ? p.offset : ''}`;
}

/** "2025-10-26 02:30, 03:00, 2025-10-27 02:30": the date only when it changes. */
function tickList(ticks: string[], zone: string | undefined, withOffset: boolean): string {
  let previousDate = '';
  return ticks
    .map((tick) => {
      const p = localParts(tick, zone);
      const text = `${p.date === previousDate ? '' : `${p.date} `}${p.time}${withOffset ? p.offset : ''}`;
      previousDate = p.date;
      return text;
    })
    .join(', ');
}

// ---------------------------------------------------------------------------------------------------------
// Steps

function stepSection(plan: Plan, paint: Paint): string {
  if (plan.steps.length === 0) return `${paint.bold('Steps')}\n  none`;
  return [paint.bold('Steps'), ...plan.steps.flatMap((s) => stepLines(s, plan))].join('\n');
}

function stepLines(step: StepPlanEntry, plan: Plan): string[] {
  const line = (details: string): string => `  ${step.index + 1}. ${step.label} — ${details}`;
  switch (step.kind) {
    case 'preflight':
      return [line('checks both clusters and every CronJob of the plan; changes nothing')];
    case 'moveCronJobs':
      return [line(`${step.count} CronJob(s) from ${plan.from} to ${plan.to}`)];
    case 'gate': {
      const kind = step.label.includes(step.gateType) ? '' : `${step.gateType} gate, `;
      return [line(`${kind}timeout ${formatDuration(step.timeoutMs)}`)];
    }
    case 'approve': {
      const who = step.approvers.length > 0 ? step.approvers.join(', ') : 'any approver';
      const via = step.label.includes(step.via) ? '' : ` via ${step.via}`;
      return [line(`${step.required} approval(s)${via} from ${who}, timeout ${formatDuration(step.timeoutMs)}`)];
    }
    case 'shiftTraffic': {
      const soak = step.soakMs > 0 ? `soak ${formatDuration(step.soakMs)}` : 'no soak';
      return [
        line(`${step.percent}% of the ${plan.from}+${plan.to} traffic to ${plan.to}, ${soak}`),
        ...step.groups.flatMap((g) => groupLines(g.name, g.type, g.before, g.after)),
      ];
    }
  }
}

/** Every record of the group, including ones outside the two clusters: their share moves too. */
function groupLines(name: string, type: string, before: RecordShare[], after: RecordShare[]): string[] {
  const ids = [...new Set([...before.map((s) => s.setIdentifier), ...after.map((s) => s.setIdentifier)])];
  const find = (list: RecordShare[], id: string): RecordShare | undefined => list.find((s) => s.setIdentifier === id);
  const rows = ids.map((id) => {
    const b = find(before, id);
    const a = find(after, id);
    return [id, String(b?.weight ?? '-'), String(a?.weight ?? '-'), percent(b), percent(a)];
  });
  const width = (i: number): number => Math.max(...rows.map((r) => r[i]!.length));
  const right = (text: string, w: number): string => ' '.repeat(Math.max(0, w - text.length)) + text;
  const lines = rows.map(
    ([id, wb, wa, pb, pa]) =>
      `       ${pad(id!, width(0))}  weight ${right(wb!, width(1))} → ${right(wa!, width(2))}   share ${right(pb!, width(3))} → ${right(pa!, width(4))}`,
  );
  return [`     ${name} ${type}`, ...lines];
}

const percent = (share: RecordShare | undefined): string => (share ? `${share.percent}%` : '-');

// ---------------------------------------------------------------------------------------------------------
// Messages

const SEVERITIES: { severity: Severity; title: string; mark: string; color: keyof Paint }[] = [
  { severity: 'error', title: 'Errors', mark: '✗', color: 'red' },
  { severity: 'warning', title: 'Warnings', mark: '!', color: 'yellow' },
  { severity: 'info', title: 'Notes', mark: '·', color: 'dim' },
];

export function allMessages(plan: Plan): PlanMessage[] {
  return [...plan.messages, ...plan.cronJobs.flatMap((e) => e.messages)];
}

function messageSection(plan: Plan, paint: Paint): string {
  const messages = allMessages(plan);
  const groups = SEVERITIES.map(({ severity, title, mark, color }) => {
    const list = messages.filter((m) => m.severity === severity);
    if (list.length === 0) return '';
    const lines = list.map((m) => `  ${paint[color](mark)} ${m.subject ? `${m.subject} ` : ''}[${m.code}] ${m.message}`);
    return [paint.bold(`${title} (${list.length})`), ...lines].join('\n');
  });
  return groups.filter((g) => g !== '').join('\n\n');
}

function verdict(plan: Plan, paint: Paint): string {
  const errors = allMessages(plan).filter((m) => m.severity === 'error').length;
  if (errors > 0) return paint.red(`${errors} error(s): execute refuses this plan until they are fixed.`);
  return paint.green('No errors: `cutover execute` would carry out this plan.');
}
