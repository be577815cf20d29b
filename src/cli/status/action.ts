// `cutover status`: what the persisted run of a runbook has done, is doing, and what the journal says.
import { loadRunbook } from '../../config/load.js';
import { formatDuration } from '../../core/duration.js';
import { InputError } from '../../core/errors.js';
import type { JsonValue, JournalEntry } from '../../steps/types.js';
import type { CliContext } from '../context.js';
import { type Paint, paint } from '../io.js';
import type { StatusOptions } from './command.js';
import { writePage } from '../page.js';
import { runsOfRunbook } from './runs.js';
import { type RunStatusView, type RunSummary, type StatusView, type StepStatus, statusView } from './view.js';

export async function status(options: StatusOptions, context: CliContext): Promise<void> {
  const shown = Number(options.journal);
  if (!Number.isInteger(shown) || shown < 0) {
    throw new InputError(`--journal: expected a whole number of entries, found "${options.journal}"`);
  }
  const loaded = await loadRunbook(options.file, options.env !== undefined ? { environment: options.env } : {});
  if (loaded.environment.sandbox !== undefined && options.output !== 'json') {
    // A sandbox run lives in memory for the length of its command: there is never anything recorded here.
    context.io.stdout.write(
      `${loaded.environmentFile} is a sandbox environment: its runs are simulated in memory and never recorded, so there is no run to show.\n` +
        `\`cutover execute -f ${options.file}\` prints the whole report of a simulated run; \`cutover rehearse -f ${options.file} --output html FILE\` also draws it as a page.\n`,
    );
    return;
  }
  const { newest, runs } = await runsOfRunbook(loaded);
  const view = newest ? statusView(newest.loaded, newest.record, newest.journal, runs) : statusView(loaded, undefined, [], runs);
  const text = options.output === 'json' ? `${JSON.stringify(view, null, 2)}\n` : renderStatus(view, shown, paint(context.color()));
  context.io.stdout.write(text);
  if (options.page !== undefined) {
    const [{ renderHtmlPage }, { statusPage }] = await Promise.all([import('../../report/html.js'), import('../../report/status-page.js')]);
    await writePage(context, options.page, renderHtmlPage(statusPage(view, { from: loaded.runbook.from, to: loaded.runbook.to }, new Date())));
  }
}

export function renderStatus(view: StatusView, journalShown: number, p: Paint): string {
  if (!view.run) return `no run of ${view.runbook} is recorded yet; \`cutover execute\` starts one\n`;
  const lines = [
    ...header(view.run, p),
    '',
    p.bold('steps'),
    ...view.run.steps.flatMap((step) => stepLines(step, view.run!.current, p)),
    ...approvals(view.approvals),
    ...runLines(view.runs, p),
    ...journalLines(view.journal, journalShown, p),
  ];
  return `${lines.join('\n')}\n`;
}

const STATUS_COLOR: Record<string, keyof Paint> = {
  done: 'green',
  running: 'bold',
  halted: 'red',
  failed: 'red',
  aborted: 'yellow',
  pending: 'dim',
};

/** `text` (the word, maybe padded: pad before colouring, escapes have no width) coloured by `word`. */
function colored(p: Paint, word: string, text = word): string {
  const key = STATUS_COLOR[word];
  return key ? p[key](text) : text;
}

function header(run: RunStatusView, p: Paint): string[] {
  const lines = [
    `run ${p.bold(run.runId)}: ${colored(p, run.status)}`,
    `  started ${run.startedAt} by ${run.startedBy}`,
  ];
  if (run.message) lines.push(...run.message.split('\n').map((line, i) => (i === 0 ? `  ${run.status}: ${line}` : `    ${line}`)));
  if (run.lock) {
    const pid = run.lock.pid !== undefined ? ` (pid ${run.lock.pid})` : '';
    lines.push(`  lock: held by ${run.lock.holder}${pid} since ${run.lock.since}, expires ${run.lock.expiresAt}`);
  }
  lines.push(`  state: ${run.location}`);
  return lines;
}

function stepLines(step: StepStatus, current: number, p: Paint): string[] {
  const marker = step.index === current && step.status !== 'done' ? '>' : ' ';
  const lines = [`${marker} ${String(step.index + 1).padStart(2)}. ${step.label.padEnd(36)} ${colored(p, step.status, step.status.padEnd(8))} ${timing(step)}`.trimEnd()];
  if (step.error) lines.push(...step.error.split('\n').map((line) => `       ${p.red(line)}`));
  for (const [name, deadline] of Object.entries(step.deadlines)) {
    if (step.status === 'running') lines.push(`       waits for ${name} until ${deadline}`);
  }
  for (const cronjob of step.cronjobs ?? []) {
    const details = Object.entries(cronjob.details)
      .filter(([key]) => ['drain', 'baseline', 'result', 'reenabled'].includes(key))
      .map(([key, value]) => `${key} ${String(value)}`)
      .join(', ');
    lines.push(`       ${cronjob.cronjob.padEnd(40)} ${cronjob.phase}${details ? `  (${details})` : ''}`);
    lines.push(...tickLines(cronjob.details['ticks']));
  }
  return lines;
}

/** The ticks a handoff affected, one line each: run late (which Job), skipped (why), left to the source. */
function tickLines(value: JsonValue | undefined): string[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return [];
    const { tick, outcome, cluster, job, reason } = entry as Record<string, JsonValue | undefined>;
    const what =
      outcome === 'late'
        ? `ran late on ${String(cluster)} as Job ${String(job)} (started by cutover)`
        : outcome === 'source'
          ? `ran on ${String(cluster)}${job ? ` as Job ${String(job)}` : ''} before the handoff`
          : `runs nowhere: ${String(reason)}`;
    return [`         tick ${String(tick)} ${what}`];
  });
}

function timing(step: StepStatus): string {
  if (!step.startedAt) return '';
  if (!step.finishedAt) return `since ${step.startedAt}`;
  const took = Date.parse(step.finishedAt) - Date.parse(step.startedAt);
  return `${step.startedAt} → ${step.finishedAt.slice(11)} (${formatDuration(Math.max(0, took))})`;
}

function approvals(entries: JournalEntry[]): string[] {
  if (entries.length === 0) return [];
  return ['', 'approvals', ...entries.map((entry) => `  ${entry.at}${entry.step !== undefined ? ` step ${entry.step + 1}` : ''}: ${entry.message}`)];
}

function runLines(runs: RunSummary[], p: Paint): string[] {
  if (runs.length <= 1) return [];
  return [
    '',
    p.bold('runs (newest first)'),
    ...runs.map((r) => `  ${r.runId.padEnd(48)} ${r.kind.padEnd(8)} ${colored(p, r.status, r.status.padEnd(8))} started ${r.startedAt} by ${r.startedBy}${r.message ? `: ${r.message}` : ''}`),
  ];
}

function journalLines(entries: JournalEntry[], shown: number, p: Paint): string[] {
  if (shown === 0 || entries.length === 0) return [];
  const last = entries.slice(-shown);
  return [
    '',
    p.bold(`journal (last ${last.length} of ${entries.length})`),
    ...last.map((entry) => `  ${p.dim(entry.at)} ${entry.type.padEnd(10)} ${entry.step !== undefined ? `step ${entry.step + 1}: ` : ''}${entry.message}`),
  ];
}
