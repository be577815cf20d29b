import type { Command } from 'commander';
import type { CliContext, RunbookOptions } from '../context.js';

export interface ExecuteCliOptions extends RunbookOptions {
  plan?: string;
  yes?: boolean;
  approve?: boolean;
  stealLock?: boolean;
  heartbeat?: string;
}

export function registerExecute(program: Command, context: CliContext): void {
  program
    .command('execute')
    .description('carry out the runbook; resumes the unfinished run of this runbook if there is one')
    .requiredOption('-f, --file <runbook>', 'runbook YAML file')
    .option('--env <file>', 'environment file (default: the runbook\'s `environment:`)')
    .option('--plan <plan.json>', 'carry out this saved plan; refused when the clusters changed since')
    .option('-y, --yes', 'do not ask for confirmation (needed without a terminal)')
    .option('--approve', 'answer approval steps without a human, where the environment allows it (rehearsals, CI)')
    .option('--steal-lock', 'take over the run lock of a run whose process is gone')
    .option('--heartbeat <interval>', 'without a terminal, a line every interval while a wait goes on (default 30s; 0 for none)')
    .addHelpText(
      'after',
      '\nCtrl-C (or SIGTERM) stops the run safely at a resumable point; run execute again to resume.\n' +
        'Exit codes: 0 done, 1 halted or stopped, 2 invalid input or stale plan (nothing was changed).',
    )
    .action(async (options: ExecuteCliOptions) => {
      const { execute } = await import('./action.js');
      await execute(options, context);
    });
}
