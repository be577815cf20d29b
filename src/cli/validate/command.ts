import type { Command } from 'commander';
import type { CliContext, RunbookOptions } from '../context.js';

export function registerValidate(program: Command, context: CliContext): void {
  program
    .command('validate')
    .description('check a runbook and its environment file; touches no cluster or AWS account')
    .requiredOption('-f, --file <runbook>', 'runbook YAML file')
    .option('--env <file>', 'environment file (default: the runbook\'s `environment:`, relative to the runbook)')
    .action(async (options: RunbookOptions) => {
      const { validate } = await import('./action.js');
      await validate(options, context);
    });
}
