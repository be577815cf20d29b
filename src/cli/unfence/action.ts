// `cutover unfence`: removes the runbook's policy and binding from one cluster. The ownership records stay
// (they are the history of which cluster owns what, and a later `cutover fence` picks them up again).
// Refused while a run of the runbook, or of its rollback, holds the lock: the run relies on the fence.
import { hostname } from 'node:os';
import { loadRunbook } from '../../config/load.js';
import type { LoadedRunbook } from '../../config/types.js';
import { HaltError } from '../../core/errors.js';
import { processAlive, staleReason } from '../../engine/lock.js';
import { reverseRunbook } from '../../engine/rollback.js';
import { openStateStore } from '../../engine/store.js';
import { fenceScope } from '../../plan/fence.js';
import type { CliContext } from '../context.js';
import { fenceOf } from '../fence/action.js';
import type { UnfenceOptions } from './command.js';

export async function unfence(options: UnfenceOptions, context: CliContext): Promise<void> {
  const loaded = await loadRunbook(options.file, options.env !== undefined ? { environment: options.env } : {});
  const { port, fence } = await fenceOf(loaded, options.on);
  await refuseWhileLocked(loaded);
  const { removed } = await fence.remove(fenceScope(loaded.runbook).runbook);
  const what = removed.length > 0 ? `removed ${removed.join(', ')}` : 'no fence of this runbook was installed';
  context.io.stdout.write(`${port.name}: ${what}; the ownership records stay (\`cutover fence\` uses them again)\n`);
}

async function refuseWhileLocked(loaded: LoadedRunbook): Promise<void> {
  for (const runbook of [loaded, reverseRunbook(loaded, false)]) {
    const holder = await openStateStore(runbook).lockHolder();
    // A lock whose run is gone (expired, or its process dead on this host) holds nothing up.
    if (holder && staleReason(holder, new Date(), hostname(), processAlive) === undefined) {
      throw new HaltError(
        `a run of ${runbook.runbook.name} holds the lock (${holder.holder}${holder.pid !== undefined ? `, pid ${holder.pid}` : ''}, until ${holder.expiresAt}): it relies on the fence.`,
        `Let the run finish (\`cutover status -f ${loaded.runbookFile}\`), then unfence.`,
      );
    }
  }
}
