import { Option, type Command } from 'commander';
import type { CliContext, RunbookOptions } from '../context.js';
import { pageOption } from '../page.js';

export interface StatusOptions extends RunbookOptions {
  output: 'table' | 'json' | 'html';
  /** The page `--output html FILE` writes. */
  page?: string;
  journal: string;
}

export function registerStatus(program: Command, context: CliContext): void {
  program
    .command('status')
    .description('show the runs of a runbook, rollbacks included, newest first, and the newest in detail: steps, CronJob handoffs, approvals, journal')
    .requiredOption('-f, --file <runbook>', 'runbook YAML file')
    .option('--env <file>', 'environment file (default: the runbook\'s `environment:`)')
    .argument('[file]', 'with --output html: the page to write')
    .addOption(new Option('-o, --output <format>', 'output format; `html FILE` also writes the status as a page').choices(['table', 'json', 'html']).default('table'))
    .option('--journal <count>', 'journal entries shown in table output', '10')
    .action(async (file: string | undefined, options: StatusOptions) => {
      const { status } = await import('./action.js');
      await status({ ...options, ...pageOption(options.output, file) }, context);
    });
}
