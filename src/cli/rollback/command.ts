import type { Command } from 'commander';
import type { CliContext, RunbookOptions } from '../context.js';

export interface RollbackCliOptions extends RunbookOptions {
  yes?: boolean;
  stealLock?: boolean;
  heartbeat?: string;
}

export function registerRollback(program: Command, context: CliContext): void {
  program
    .command('rollback')
    .description('move the CronJobs back to the source cluster and restore the weights from before the run; resumable like execute')
    .requiredOption('-f, --file <runbook>', 'runbook YAML file of the run to undo')
    .option('--env <file>', 'environment file (default: the runbook\'s `environment:`)')
    .option('-y, --yes', 'do not ask for confirmation (needed without a terminal)')
    .option('--steal-lock', 'take over the run lock of a run whose process is gone')
    .option('--heartbeat <interval>', 'without a terminal, a line every interval while a wait goes on (default 30s; 0 for none)')
    .addHelpText(
      'after',
      '\nThe rollback is a run of its own, `<runbook>-rollback`, kept beside the run it undoes: run rollback again to resume it.\n' +
        'Exit codes: 0 done, 1 halted or stopped, 2 invalid input (nothing was changed).',
    )
    .action(async (options: RollbackCliOptions) => {
      const { rollback } = await import('./action.js');
      await rollback(options, context);
    });
}
