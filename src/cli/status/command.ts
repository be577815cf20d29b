import { Option, type Command } from 'commander';
import type { CliContext, RunbookOptions } from '../context.js';

export interface StatusOptions extends RunbookOptions {
  output: 'table' | 'json';
  journal: string;
}

export function registerStatus(program: Command, context: CliContext): void {
  program
    .command('status')
    .description('show the recorded run of a runbook: steps, CronJob handoffs, approvals, journal')
    .requiredOption('-f, --file <runbook>', 'runbook YAML file')
    .option('--env <file>', 'environment file (default: the runbook\'s `environment:`)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--journal <count>', 'journal entries shown in table output', '10')
    .action(async (options: StatusOptions) => {
      const { status } = await import('./action.js');
      await status(options, context);
    });
}
