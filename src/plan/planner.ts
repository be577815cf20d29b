// The planner: (observation, runbook) → Plan. Pure: it reads nothing but its arguments, so the same
// observation always gives the same plan. Linear in the number of CronJobs and Jobs (everything is looked
// up through maps keyed by namespace/name or owner UID).
import type { LoadedRunbook } from '../config/types.js';
import type { ObservedCronJob, ObservedJob } from '../core/types.js';
import { jobFinished, refKey } from '../core/types.js';
import { planCronJob, type CronJobSettings } from './cronjobs.js';
import { fingerprintOf } from './fingerprint.js';
import { zoneTransitions } from './schedule.js';
import { planSteps } from './steps.js';
import { compareText } from './text.js';
import type { CronJobPlanEntry, Observation, Plan, PlanMessage } from './types.js';

const DAY_MS = 86_400_000;

export function buildPlan(observation: Observation, loaded: LoadedRunbook): Plan {
  const now = new Date(observation.observedAt);
  const settings: CronJobSettings = { now, from: observation.from, to: observation.to, cronjobs: loaded.runbook.cronjobs };
  const cronJobs = planCronJobs(observation, settings);
  const toMove = cronJobs.filter((e) => e.action === 'move' || e.action === 'suspend-target-then-move').length;
  const stepsPlan = planSteps(loaded, observation, toMove);
  const messages = [
    ...targetOnlyMessages(observation),
    ...nothingSelectedMessages(observation, loaded),
    ...zoneChangeMessages(cronJobs, now),
    ...stepsPlan.messages,
  ];
  return {
    runbook: loaded.runbook.name,
    environment: loaded.environment.name,
    from: observation.from,
    to: observation.to,
    observedAt: observation.observedAt,
    fingerprint: fingerprintOf(observation, loaded.runbook.name),
    versions: versionsOf(observation),
    cronJobs,
    steps: stepsPlan.steps,
    messages,
  };
}

function versionsOf(observation: Observation): NonNullable<Plan['versions']> {
  return {
    ...(observation.source.version !== undefined ? { source: observation.source.version } : {}),
    ...(observation.target.version !== undefined ? { target: observation.target.version } : {}),
  };
}

const byRef = (a: ObservedCronJob, b: ObservedCronJob): number => compareText(refKey(a), refKey(b));

/** One entry per CronJob present on the source cluster, in namespace/name order. */
function planCronJobs(observation: Observation, settings: CronJobSettings): CronJobPlanEntry[] {
  const targets = new Map(observation.target.cronJobs.map((c) => [refKey(c), c]));
  const sourceActive = unfinishedByOwner(observation.source.jobs);
  const targetActive = unfinishedByOwner(observation.target.jobs);
  return [...observation.source.cronJobs].sort(byRef).map((source) => {
    const target = targets.get(refKey(source));
    const input = {
      ref: { namespace: source.namespace, name: source.name },
      source,
      sourceActive: sourceActive.get(source.uid) ?? [],
      targetActive: target ? (targetActive.get(target.uid) ?? []) : [],
    };
    return planCronJob(target ? { ...input, target } : input, settings);
  });
}

/** Unfinished Jobs by the UID of the CronJob that controls them. */
export function unfinishedByOwner(jobs: ObservedJob[]): Map<string, ObservedJob[]> {
  const byOwner = new Map<string, ObservedJob[]>();
  for (const job of jobs) {
    if (job.ownerUid === undefined || jobFinished(job)) continue;
    const list = byOwner.get(job.ownerUid);
    if (list) list.push(job);
    else byOwner.set(job.ownerUid, [job]);
  }
  return byOwner;
}

/**
 * A CronJob only on the target has nothing on the source that could run twice: execute leaves it alone
 * (it is not an entry of the plan, so no step touches it), and the plan says so.
 */
function targetOnlyMessages(observation: Observation): PlanMessage[] {
  const sourceKeys = new Set(observation.source.cronJobs.map(refKey));
  return observation.target.cronJobs
    .filter((c) => !sourceKeys.has(refKey(c)))
    .sort(byRef)
    .map((c) => ({
      severity: 'warning',
      code: 'missing-on-source',
      subject: refKey(c),
      message:
        `only on the target cluster ${observation.to} (${c.suspend ? 'suspended' : 'enabled'}), not on ${observation.from}: ` +
        `nothing to move, execute leaves it as it is${c.suspend ? '; it will not run until you resume it' : ''}`,
    }));
}

function nothingSelectedMessages(observation: Observation, loaded: LoadedRunbook): PlanMessage[] {
  const moves = loaded.runbook.steps.some((s) => s.kind === 'moveCronJobs');
  if (!moves || observation.source.cronJobs.length > 0 || observation.target.cronJobs.length > 0) return [];
  const { namespaces, selector } = loaded.runbook.cronjobs;
  const where = `namespaces ${namespaces.join(', ')}${selector ? ` with selector ${selector}` : ''}`;
  return [{ severity: 'warning', code: 'no-cronjobs', message: `no CronJob found in ${where} on either cluster: moveCronJobs has nothing to do` }];
}

/** A zone changing its offset within a day of the plan: ticks around it follow the controller's DST rules. */
function zoneChangeMessages(cronJobs: CronJobPlanEntry[], now: Date): PlanMessage[] {
  const users = new Map<string, number>();
  for (const entry of cronJobs) if (entry.timeZone) users.set(entry.timeZone, (users.get(entry.timeZone) ?? 0) + 1);
  const messages: PlanMessage[] = [];
  for (const [zone, count] of [...users].sort(([a], [b]) => compareText(a, b))) {
    const changes = zoneTransitions(zone, now, new Date(now.getTime() + DAY_MS));
    if (changes.length === 0) continue;
    messages.push({
      severity: 'info',
      code: 'dst-transition',
      subject: zone,
      message:
        `${zone} changes its UTC offset at ${changes.map((c) => c.toISOString()).join(', ')} (${count} CronJob(s) use it): ` +
        'a wall time in a skipped hour does not run and one in a repeated hour runs twice, as the Kubernetes controller counts ticks',
    });
  }
  return messages;
}
