// `cutover rehearse`: the runbook simulated from the live state of its environment (read once).
import { rehearse } from '../../adapters/sandbox/rehearse.js';
import { loadRunbook } from '../../config/load.js';
import type { CliContext } from '../context.js';
import { operator } from '../operator.js';
import { refuseUnallowedAutoApprove } from '../approve-option.js';
import { heartbeatOption } from '../reporter.js';
import { runSimulation } from '../simulation.js';
import type { RehearseCliOptions } from './command.js';

export async function rehearseRunbook(options: RehearseCliOptions, context: CliContext): Promise<void> {
  const heartbeatMs = heartbeatOption(options.heartbeat);
  const loaded = await loadRunbook(options.file, options.env !== undefined ? { environment: options.env } : {});
  // As `execute --approve` would be: refused before anything is read.
  refuseUnallowedAutoApprove(options.approve, loaded);
  const settings = {
    output: options.output,
    ...(options.page !== undefined ? { page: options.page } : {}),
    startedBy: operator(context.io.env),
    autoApprove: options.approve === true,
    what: options.rollback ? 'rehearsal of the rollback' : 'rehearsal',
    ...(options.rollback ? { severalRuns: true } : {}),
    ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
  };
  await runSimulation(loaded, context, settings, (run) => rehearse(loaded, { ...run, ...(options.rollback ? { rollback: true } : {}) }));
}
