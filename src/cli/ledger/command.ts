import { Option, type Command } from 'commander';
import type { CliContext, RunbookOptions } from '../context.js';

export interface LedgerOptions extends RunbookOptions {
  since?: string;
  from?: string;
  until?: string;
  output: 'table' | 'json';
}

export function registerLedger(program: Command, context: CliContext): void {
  program
    .command('ledger')
    .description('for every selected CronJob and every tick of a window, which cluster(s) ran a Job for it; exit 1 on any double run. Reads only.')
    .requiredOption('-f, --file <runbook>', 'runbook YAML file')
    .option('--env <file>', 'environment file (default: the runbook\'s `environment:`)')
    .addOption(new Option('--since <duration>', 'window ending now, e.g. 24h, 7d (default 24h)').conflicts('from'))
    .option('--from <time>', 'window start, ISO-8601 (e.g. 2026-12-03T10:00:00Z)')
    .option('--until <time>', 'window end, ISO-8601 (default: now)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (options: LedgerOptions) => {
      const { ledger } = await import('./action.js');
      await ledger(options, context);
    });
}
