import type { Command } from 'commander';
import type { CliContext, RunbookOptions } from '../context.js';

export function registerGraph(program: Command, context: CliContext): void {
  program
    .command('graph')
    .description('print the runbook as a mermaid state diagram (the machine `execute` runs)')
    .requiredOption('-f, --file <runbook>', 'runbook YAML file')
    .option('--env <file>', 'environment file (default: the runbook\'s `environment:`)')
    .action(async (options: RunbookOptions) => {
      const { graph } = await import('./action.js');
      await graph(options, context);
    });
}
