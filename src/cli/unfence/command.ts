import type { Command } from 'commander';
import type { CliContext, RunbookOptions } from '../context.js';

export interface UnfenceOptions extends RunbookOptions {
  on: string;
}

export function registerUnfence(program: Command, context: CliContext): void {
  program
    .command('unfence')
    .description('remove the runbook\'s fence (policy and binding) from a cluster; refused while a run of the runbook holds its lock')
    .requiredOption('-f, --file <runbook>', 'runbook YAML file')
    .option('--env <file>', 'environment file (default: the runbook\'s `environment:`)')
    .requiredOption('--on <cluster>', 'the cluster to unfence, as named in the environment file')
    .action(async (options: UnfenceOptions) => {
      const { unfence } = await import('./action.js');
      await unfence(options, context);
    });
}
