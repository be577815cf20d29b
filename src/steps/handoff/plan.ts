// What both CronJob steps take from the plan and the ports before touching anything.
import { HaltError, InputError } from '../../core/errors.js';
import type { ClusterPort, Ports } from '../../core/ports.js';
import { refKey } from '../../core/types.js';
import type { CronJobPlanEntry, Plan } from '../../plan/types.js';

/** A blocked entry (e.g. missing on the target) means the plan cannot be carried out: refuse them all. */
export function refuseBlocked(plan: Plan): void {
  const blocked = plan.cronJobs.filter((entry) => entry.action === 'blocked');
  if (blocked.length === 0) return;
  const reasons = blocked.map((entry) => `  ${refKey(entry.ref)}: ${blockReason(entry)}`);
  throw new HaltError(
    `${blocked.length} CronJob(s) of the plan cannot be moved:\n${reasons.join('\n')}`,
    'Fix each one (or add it to cronjobs.exclude), then run `cutover plan` again and execute the new plan.',
  );
}

function blockReason(entry: CronJobPlanEntry): string {
  const errors = entry.messages.filter((message) => message.severity === 'error');
  const chosen = errors.length > 0 ? errors : entry.messages;
  return chosen.length > 0 ? chosen.map((message) => message.message).join('; ') : 'blocked by the plan';
}

export function movableEntries(plan: Plan): CronJobPlanEntry[] {
  return plan.cronJobs.filter((entry) => entry.action !== 'blocked');
}

export function clusterPort(ports: Ports, name: string, role: 'source' | 'target'): ClusterPort {
  const port = ports.clusters[name];
  if (port) return port;
  const known = Object.keys(ports.clusters).join(', ') || 'none';
  throw new InputError(`The ${role} cluster "${name}" of the plan is not among the environment's clusters (${known}).`);
}
