import { Option, type Command } from 'commander';
import type { FenceMode, Ownership } from '../../core/fence.js';
import type { CliContext, RunbookOptions } from '../context.js';

export interface FenceOptions extends RunbookOptions {
  on: string;
  mode: FenceMode;
  default?: Ownership;
}

export function registerFence(program: Command, context: CliContext): void {
  program
    .command('fence')
    .description('install on a cluster the admission policy that keeps every CronJob of the runbook suspended where that cluster does not own it')
    .requiredOption('-f, --file <runbook>', 'runbook YAML file')
    .option('--env <file>', 'environment file (default: the runbook\'s `environment:`)')
    .requiredOption('--on <cluster>', 'the cluster to fence, as named in the environment file')
    .addOption(new Option('--mode <mode>', 'Deny refuses, Warn only reports (warning + audit), Mutate forces suspend: true').choices(['Deny', 'Warn', 'Mutate']).default('Deny'))
    .addOption(
      new Option('--default <ownership>', 'ownership of CronJobs not yet handed over (default: owned on the runbook\'s source, fenced on its target)').choices(['owned', 'fenced']),
    )
    .action(async (options: FenceOptions) => {
      const { fence } = await import('./action.js');
      await fence(options, context);
    });
}
