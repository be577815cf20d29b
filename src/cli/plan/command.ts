import { Option, type Command } from 'commander';
import type { CliContext, RunbookOptions } from '../context.js';

export interface PlanOptions extends RunbookOptions {
  output: 'table' | 'json' | 'markdown';
  out?: string;
}

export function registerPlan(program: Command, context: CliContext): void {
  program
    .command('plan')
    .description('read both clusters (and Route 53) and show exactly what execute would do; changes nothing')
    .requiredOption('-f, --file <runbook>', 'runbook YAML file')
    .option('--env <file>', 'environment file (default: the runbook\'s `environment:`)')
    .addOption(new Option('-o, --output <format>', 'output format (markdown: for a pull-request comment)').choices(['table', 'json', 'markdown']).default('table'))
    .option('--out <plan.json>', 'also save the plan, for `execute --plan`')
    .action(async (options: PlanOptions) => {
      const { plan } = await import('./action.js');
      await plan(options, context);
    });
}
