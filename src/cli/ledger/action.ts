// `cutover ledger`: the evidence that every tick ran once. Reads the runbook's CronJobs and their Jobs on
// both clusters (Jobs are matched to a CronJob by controller ownerReference and to a tick by the
// controller's scheduled-timestamp annotation) and lays them on the schedule's ticks with the tick model
// the rehearsal report uses (src/plan/ledger.ts). Only Jobs the clusters still keep count: the CronJobs'
// history limits decide how far back the evidence goes (docs/fence.md).
import { loadRunbook } from '../../config/load.js';
import type { LoadedRunbook } from '../../config/types.js';
import { parseDuration } from '../../core/duration.js';
import { EXIT_HALTED, InputError } from '../../core/errors.js';
import type { ClusterPort } from '../../core/ports.js';
import { refKey, type ObservedCronJob, type ObservedJob } from '../../core/types.js';
import { buildLedger, type Ledger, type LedgerInput, type TickVerdict } from '../../plan/ledger.js';
import type { CliContext } from '../context.js';
import { paint, type Paint } from '../io.js';
import { connect } from '../planning.js';
import type { LedgerOptions } from './command.js';

const DEFAULT_WINDOW_MS = 24 * 3_600_000;

export async function ledger(options: LedgerOptions, context: CliContext): Promise<void> {
  const { from, until } = window(options, new Date());
  const loaded = await loadRunbook(options.file, options.env !== undefined ? { environment: options.env } : {});
  if (loaded.environment.sandbox !== undefined) {
    throw new InputError(`${loaded.environmentFile}: the sandbox keeps no Jobs between commands; \`cutover rehearse\` reports its ticks`);
  }
  const ports = await connect(loaded);
  const clusters = [loaded.runbook.from, loaded.runbook.to].map((name) => ports.clusters[name]!);
  const seen = await Promise.all(clusters.map((port) => observeCluster(loaded, port)));
  const result = buildLedger(ledgerInputs(seen), from, until);
  context.io.stdout.write(options.output === 'json' ? `${JSON.stringify(result, null, 2)}\n` : renderLedger(result, paint(context.color())));
  if (result.doubleRuns > 0) {
    context.io.stderr.write(`${paint(context.color(context.io.stderr)).red('error:')} ${result.doubleRuns} tick(s) ran on more than one cluster\n`);
    context.exitCode = EXIT_HALTED;
  }
}

export function window(options: Pick<LedgerOptions, 'since' | 'from' | 'until'>, now: Date): { from: Date; until: Date } {
  const until = options.until !== undefined ? time('--until', options.until) : now;
  let from: Date;
  if (options.from !== undefined) from = time('--from', options.from);
  else {
    const ms = options.since !== undefined ? parseDuration(options.since) : DEFAULT_WINDOW_MS;
    if (ms === undefined || ms <= 0) throw new InputError(`--since: expected a duration such as 90m, 24h or 7d, found "${options.since}"`);
    from = new Date(until.getTime() - ms);
  }
  if (from.getTime() >= until.getTime()) throw new InputError(`the window is empty: it starts ${from.toISOString()} and ends ${until.toISOString()}`);
  return { from, until };
}

function time(flag: string, text: string): Date {
  const at = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(at.getTime())) {
    throw new InputError(`${flag}: expected an ISO-8601 time such as 2026-12-03T10:00:00Z, found "${text}"`);
  }
  return at;
}

interface ClusterSighting {
  cluster: string;
  cronJobs: ObservedCronJob[];
  jobs: ObservedJob[];
}

async function observeCluster(loaded: LoadedRunbook, port: ClusterPort): Promise<ClusterSighting> {
  const { cronjobs } = loaded.runbook;
  const excluded = new Set(cronjobs.exclude);
  const listed = await port.listCronJobs({ namespaces: cronjobs.namespaces, ...(cronjobs.selector ? { labelSelector: cronjobs.selector } : {}) });
  const cronJobs = listed.filter((c) => !excluded.has(refKey(c)));
  const namespaces = [...new Set(cronJobs.map((c) => c.namespace))];
  const jobs = (await Promise.all(namespaces.map((ns) => port.listJobs(ns)))).flat();
  return { cluster: port.name, cronJobs, jobs };
}

/** One input per CronJob found on either cluster; its schedule as the first cluster (the source) has it. */
export function ledgerInputs(seen: ClusterSighting[]): LedgerInput[] {
  const byKey = new Map<string, LedgerInput>();
  for (const { cluster, cronJobs, jobs } of seen) {
    for (const cj of cronJobs) {
      const key = refKey(cj);
      const input = byKey.get(key) ?? { cronJob: key, schedule: cj.schedule, ...(cj.timeZone ? { timeZone: cj.timeZone } : {}), copies: [], jobs: [] };
      input.copies.push({ cluster, creationTimestamp: cj.creationTimestamp, suspend: cj.suspend });
      input.jobs.push(...jobs.flatMap((job) => scheduledJobOf(cluster, cj, job)));
      byKey.set(key, input);
    }
  }
  return [...byKey.values()].sort((a, b) => a.cronJob.localeCompare(b.cronJob));
}

/** A Job the CronJob's controller (or cutover for it) started for a scheduled tick. */
function scheduledJobOf(cluster: string, cj: ObservedCronJob, job: ObservedJob): LedgerInput['jobs'] {
  if (job.namespace !== cj.namespace || job.ownerName !== cj.name || !job.scheduledTime) return [];
  return [{ cluster, name: job.name, createdAt: job.creationTimestamp, scheduledTime: job.scheduledTime, ...(job.outcome ? { outcome: job.outcome } : {}) }];
}

const VERDICT: Record<TickVerdict, string> = {
  once: 'once',
  double: 'DOUBLE RUN',
  nowhere: 'ran nowhere',
  'before-created': 'before the CronJob existed',
  pending: 'pending (Job may still start)',
};

export function renderLedger(result: Ledger, p: Paint): string {
  const lines = [p.bold(`ledger ${result.from} → ${result.until}`)];
  for (const entry of result.cronJobs) {
    const copies = entry.copies.map((c) => `${c.cluster} ${c.enabled ? 'enabled' : 'suspended'}`).join(', ');
    lines.push('', `${p.bold(entry.cronJob)}  ${entry.schedule}${entry.timeZone ? ` (${entry.timeZone})` : ''}  [${copies}]`);
    if (entry.ticks.length === 0) lines.push('  no tick in the window');
    for (const tick of entry.ticks) {
      const where = tick.jobs.map((j) => j.cluster).join(' + ') || '-';
      const verdict = VERDICT[tick.verdict];
      const shown = tick.verdict === 'double' ? p.red(verdict) : tick.verdict === 'nowhere' ? p.yellow(verdict) : verdict;
      lines.push(`  ${tick.tick.replace('.000Z', 'Z')}  ${where.padEnd(16)} ${shown}`);
    }
  }
  const ticks = result.cronJobs.reduce((n, c) => n + c.ticks.length, 0);
  lines.push('', `${result.cronJobs.length} CronJob(s), ${ticks} tick(s): ${result.doubleRuns} double run(s), ${result.ranNowhere} ran nowhere`);
  return `${lines.join('\n')}\n`;
}
