// The plan as Markdown for a pull-request comment (`plan --output markdown`): the verdict and the warnings
// first, then the steps with the traffic split, then the CronJobs folded in a <details> block, so a long
// plan stays a short comment. Pure.
import { formatDuration } from '../core/duration.js';
import { refKey } from '../core/types.js';
import { allMessages, localTime } from './render.js';
import type { CronJobPlanEntry, Plan, PlanMessage, RecordShare, StepPlanEntry } from './types.js';

/** Text in a table cell or list item: no line breaks, pipes escaped, Markdown markup characters kept literal. */
const cell = (text: string): string => text.replace(/\r?\n/g, ' ').replace(/([\\`*_|<>[\]])/g, '\\$1');

export function renderPlanMarkdown(plan: Plan): string {
  const messages = allMessages(plan);
  const errors = messages.filter((m) => m.severity === 'error');
  const warnings = messages.filter((m) => m.severity === 'warning');
  const notes = messages.filter((m) => m.severity === 'info');
  return [
    `### cutover plan: ${cell(plan.runbook)} (${cell(plan.environment)}), ${cell(plan.from)} → ${cell(plan.to)}`,
    '',
    verdict(errors.length, warnings.length),
    ...messageList('Errors', errors),
    ...messageList('Warnings', warnings),
    '',
    '**Steps**',
    '',
    ...plan.steps.map((step) => `${step.index + 1}. ${stepText(step, plan)}`),
    '',
    ...cronJobDetails(plan),
    ...notesDetails(notes),
    `<sub>observed at ${plan.observedAt} · fingerprint \`${plan.fingerprint.slice(0, 12)}\`</sub>`,
    '',
  ].join('\n');
}

function verdict(errors: number, warnings: number): string {
  const warned = warnings > 0 ? `, ${warnings} warning(s)` : '';
  if (errors > 0) return `:x: **${errors} error(s)${warned}: execute refuses this plan until they are fixed.**`;
  return `${warnings > 0 ? ':warning:' : ':white_check_mark:'} **No errors${warned}: \`cutover execute\` would carry out this plan.**`;
}

function messageList(title: string, list: PlanMessage[]): string[] {
  if (list.length === 0) return [];
  return ['', `**${title}**`, '', ...list.map((m) => `- ${m.subject ? `\`${m.subject}\` ` : ''}${cell(m.message)} (${m.code})`)];
}

function stepText(step: StepPlanEntry, plan: Plan): string {
  switch (step.kind) {
    case 'preflight':
      return `${cell(step.label)}: checks both clusters; changes nothing`;
    case 'moveCronJobs':
      return `${cell(step.label)}: ${step.count} CronJob(s) from ${cell(plan.from)} to ${cell(plan.to)}`;
    case 'gate':
      return `${cell(step.label)}: ${step.gateType} gate, timeout ${formatDuration(step.timeoutMs)}`;
    case 'approve':
      return `${cell(step.label)}: ${step.required} approval(s) via ${step.via}${step.approvers.length > 0 ? ` from ${step.approvers.map((a) => `\`${a}\``).join(', ')}` : ''}, timeout ${formatDuration(step.timeoutMs)}`;
    case 'shiftTraffic': {
      const soak = step.soakMs > 0 ? `soak ${formatDuration(step.soakMs)}` : 'no soak';
      const groups = step.groups.map((g) => `${cell(g.name)} ${g.type}: ${shares(g.before, g.after)}`);
      return `${cell(step.label)}: ${step.percent}% to ${cell(plan.to)}, ${soak}${groups.length > 0 ? `. ${groups.join('; ')}` : ''}`;
    }
  }
}

function shares(before: RecordShare[], after: RecordShare[]): string {
  const ids = [...new Set([...before, ...after].map((s) => s.setIdentifier))];
  const of = (list: RecordShare[], id: string): string => {
    const s = list.find((r) => r.setIdentifier === id);
    return s ? `${s.percent}%` : '-';
  };
  return ids.map((id) => `${cell(id)} ${of(before, id)} → ${of(after, id)}`).join(', ');
}

function cronJobDetails(plan: Plan): string[] {
  const entries = plan.cronJobs;
  if (entries.length === 0) return [`No CronJob selected on ${cell(plan.from)}.`, ''];
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e.action, (counts.get(e.action) ?? 0) + 1);
  const summary = [...counts].map(([action, n]) => `${n} ${action}`).join(', ');
  return [
    '<details>',
    `<summary>CronJobs: ${entries.length} (${summary})</summary>`,
    '',
    `| CronJob | action | ${cell(plan.from)} | ${cell(plan.to)} | last run | next tick | running |`,
    '|---|---|---|---|---|---|---|',
    ...entries.map(row),
    '',
    '</details>',
    '',
  ];
}

function row(e: CronJobPlanEntry): string {
  const zone = e.timeZone ?? 'UTC';
  const side = (s: CronJobPlanEntry['source']): string => (!s.present ? 'missing' : s.suspend ? 'suspended' : 'enabled');
  const last = e.source.lastScheduleTime ? `${localTime(e.source.lastScheduleTime, e.timeZone, false)} ${zone}` : 'never';
  const next = e.nextTicks[0] ? `${localTime(e.nextTicks[0], e.timeZone, false)} ${zone}` : '-';
  const running = e.source.activeJobs.length > 0 ? e.source.activeJobs.join(', ') : '-';
  const mark = e.messages.some((m) => m.severity === 'error') ? ':x: ' : e.messages.some((m) => m.severity === 'warning') ? ':warning: ' : '';
  return `| ${mark}\`${refKey(e.ref)}\` | ${e.action} | ${side(e.source)} | ${side(e.target)} | ${last} | ${next} | ${cell(running)} |`;
}

function notesDetails(notes: PlanMessage[]): string[] {
  if (notes.length === 0) return [];
  return ['<details>', `<summary>Notes (${notes.length})</summary>`, '', ...notes.map((m) => `- ${m.subject ? `\`${m.subject}\` ` : ''}${cell(m.message)}`), '', '</details>', ''];
}
