// `gate: cronjobFirstRun`: every CronJob this run moved has completed its first scheduled Job on the target
// cluster — a Job owned by the target copy, for a tick after the handoff's baseline, with condition
// Complete. A Failed first run fails the gate at once: the target cluster cannot run that work. A CronJob
// whose next tick falls after the gate's deadline (a nightly job moved in the morning) cannot show a first
// run in time: it is listed as not due and does not hold the gate, rather than halting every such runbook.
import type { CronJobPlanEntry, Plan } from '../../plan/types.js';
import { InputError } from '../../core/errors.js';
import type { ClusterPort } from '../../core/ports.js';
import { refKey, type CronJobRef, type ObservedJob } from '../../core/types.js';
import { nextTicks } from '../../plan/schedule.js';
import type { JsonValue } from '../types.js';
import { fail, pass, wait, type GateCheck, type Verdict } from './types.js';

const POLL_MS = 15_000;
const MOVED_ACTIONS = new Set<CronJobPlanEntry['action']>(['move', 'suspend-target-then-move']);

/** A moved CronJob and the time after which a target Job counts as its first run. */
export interface FirstRunTarget {
  ref: CronJobRef;
  /** Ticks at or before this ran (or were skipped) before the handoff. */
  after: string;
  /** The next ticks the plan expected, for the operator. */
  nextTicks: string[];
  schedule: string;
  timeZone?: string;
}

/**
 * The CronJobs to watch: those the plan moves, with the handoff's baseline from the moveCronJobs output
 * when there is one (the lastScheduleTime the target was resumed with), else the plan's latest tick.
 */
export function firstRunTargets(plan: Plan, outputs: (Record<string, JsonValue> | undefined)[]): FirstRunTarget[] {
  const handoffs = handoffsFrom(outputs);
  return plan.cronJobs
    .filter((entry) => MOVED_ACTIONS.has(entry.action))
    .map((entry) => {
      const handoff = handoffs[refKey(entry.ref)];
      const after = text(handoff?.baseline) || text(handoff?.startedAt) || entry.latestTick || plan.observedAt;
      return { ref: entry.ref, after, nextTicks: entry.nextTicks.filter((t) => t > after), schedule: entry.schedule, timeZone: entry.timeZone };
    });
}

const text = (value: JsonValue | undefined): string | undefined => (typeof value === 'string' ? value : undefined);

function handoffsFrom(outputs: (Record<string, JsonValue> | undefined)[]): Record<string, Record<string, JsonValue>> {
  for (const output of outputs) {
    const cronjobs = output?.cronjobs;
    if (cronjobs && typeof cronjobs === 'object' && !Array.isArray(cronjobs)) {
      return cronjobs as Record<string, Record<string, JsonValue>>;
    }
  }
  return {};
}

/** When a Job is for: its scheduled-timestamp annotation, else its creation. */
const tickOf = (job: ObservedJob): string => job.scheduledTime ?? job.creationTimestamp;

/** The first tick after the handoff, when it falls after `until`: that CronJob cannot run before the deadline. */
function dueAfter(target: FirstRunTarget, until: Date | undefined): string | undefined {
  if (!until) return undefined;
  const [first] = nextTicks(target.schedule, target.timeZone, new Date(target.after), 1);
  return first && first.getTime() > until.getTime() ? first.toISOString() : undefined;
}

export function judgeFirstRuns(items: { target: FirstRunTarget; jobs: ObservedJob[]; missing?: boolean }[], until?: Date): Verdict {
  const evidence: Record<string, JsonValue> = {};
  const failed: string[] = [];
  const pending: string[] = [];
  const notDue: string[] = [];
  for (const { target, jobs, missing } of items) {
    const key = refKey(target.ref);
    const due = missing ? undefined : dueAfter(target, until);
    if (due && jobs.every((j) => Date.parse(tickOf(j)) <= Date.parse(target.after))) {
      evidence[key] = { after: target.after, job: 'not due before the deadline', nextTick: due };
      notDue.push(`${key} (next tick ${due})`);
      continue;
    }
    const runs = jobs.filter((j) => Date.parse(tickOf(j)) > Date.parse(target.after)).sort((a, b) => tickOf(a).localeCompare(tickOf(b)));
    const first = runs[0];
    evidence[key] = { after: target.after, ...(first ? { job: first.name, tick: tickOf(first), outcome: first.outcome ?? 'running' } : { job: missing ? 'CronJob missing on target' : 'none yet' }) };
    if (missing) failed.push(`${key} (missing on the target)`);
    else if (first?.outcome === 'Failed') failed.push(`${key} (${first.name} Failed)`);
    else if (first?.outcome !== 'Complete') pending.push(`${key}${first ? ` (${first.name} running)` : target.nextTicks[0] ? ` (next tick ${target.nextTicks[0]})` : ''}`);
  }
  if (failed.length > 0) return fail(`first run on the target failed: ${failed.join(', ')}`, evidence);
  if (pending.length > 0) return wait(`waiting for a first completed run: ${pending.join(', ')}`, evidence);
  const ran = items.length - notDue.length;
  const unchecked = notDue.length > 0 ? `; not due before the deadline: ${notDue.join(', ')}` : '';
  return pass(`${ran} moved CronJob(s) completed their first run on the target${unchecked}`, evidence);
}

export function firstRunCheck(plan: Plan, outputs: (Record<string, JsonValue> | undefined)[], clusters: Record<string, ClusterPort>): GateCheck {
  const target = clusters[plan.to];
  if (!target) throw new InputError(`gate cronjobFirstRun: target cluster "${plan.to}" is not in the environment`);
  const targets = firstRunTargets(plan, outputs);
  return {
    intervalMs: POLL_MS,
    async check(until) {
      const items = [];
      for (const t of targets) {
        const cronJob = await target.getCronJob(t.ref);
        // Only Jobs whose controller is the target copy: a Job left by an older copy proves nothing.
        const jobs = cronJob ? await target.listJobs(t.ref.namespace, cronJob.uid) : [];
        items.push({ target: t, jobs, missing: cronJob === undefined });
      }
      return judgeFirstRuns(items, until);
    },
  };
}
