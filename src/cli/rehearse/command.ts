import { Option, type Command } from 'commander';
import type { CliContext, RunbookOptions } from '../context.js';
import { pageOption } from '../page.js';

export interface RehearseCliOptions extends RunbookOptions {
  output: 'table' | 'json' | 'html';
  /** The page `--output html FILE` writes. */
  page?: string;
  approve?: boolean;
  heartbeat?: string;
  rollback?: boolean;
}

export function registerRehearse(program: Command, context: CliContext): void {
  program
    .command('rehearse')
    .description('read both clusters and Route 53 once, then simulate the runbook on that state; writes nothing real')
    .requiredOption('-f, --file <runbook>', 'runbook YAML file')
    .option('--env <file>', 'environment file (default: the runbook\'s `environment:`)')
    .argument('[file]', 'with --output html: the page to write')
    .addOption(new Option('-o, --output <format>', 'report format; `html FILE` also writes the report as a page').choices(['table', 'json', 'html']).default('table'))
    .option('--approve', 'rehearse `execute --approve`: approvals answered without a human, where the environment allows it')
    .option('--rollback', 'rehearse the run, then its rollback (`cutover rollback`), on the same simulated world')
    .option('--heartbeat <interval>', 'without a terminal, a line every interval of simulated time while a wait goes on (none by default)')
    .addHelpText('after', '\nExit codes: 0 the simulated run went through, 1 it would stop (or run a tick twice), 2 invalid input.')
    .action(async (file: string | undefined, options: RehearseCliOptions) => {
      const { rehearseRunbook } = await import('./action.js');
      await rehearseRunbook({ ...options, ...pageOption(options.output, file) }, context);
    });
}
