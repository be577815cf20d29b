// `cutover rehearse`: the runbook simulated from the live state of its environment (read once).
import { rehearse } from '../../adapters/sandbox/rehearse.js';
import { loadRunbook } from '../../config/load.js';
import type { CliContext } from '../context.js';
import { operator } from '../operator.js';
import { runSimulation } from '../simulation.js';
import type { RehearseCliOptions } from './command.js';

export async function rehearseRunbook(options: RehearseCliOptions, context: CliContext): Promise<void> {
  const loaded = await loadRunbook(options.file, options.env !== undefined ? { environment: options.env } : {});
  const settings = {
    output: options.output,
    startedBy: operator(context.io.env),
    autoApprove: options.approve === true,
    what: 'rehearsal',
  };
  await runSimulation(loaded, context, settings, (run) => rehearse(loaded, run));
}
