// One CronJob of the plan: how both copies stand, what execute will do with it, and what the operator
// should know first. Pure.
import type { CronJobsSection } from '../config/types.js';
import { formatDuration } from '../core/duration.js';
import type { CronJobRef, ManagedBy, ObservedCronJob, ObservedJob } from '../core/types.js';
import { refKey } from '../core/types.js';
import { catchUpFields, decideCatchUp, type CatchUpDecision } from './catch-up.js';
import { exactLatestMissedTick, mostRecentScheduleTime } from './controller.js';
import { latestTick, nextTicks, validateSchedule } from './schedule.js';
import type { CronJobAction, CronJobPlanEntry, CronJobSide, PlanMessage, Severity, SpecDifference } from './types.js';

/** How many upcoming ticks the plan shows per CronJob. */
export const NEXT_TICKS = 3;
/** A handoff without a drain takes a few seconds; ticks this close may fall inside it. */
export const HANDOFF_ESTIMATE_MS = 30_000;
const MOVING: ReadonlySet<CronJobAction> = new Set(['move', 'suspend-target-then-move']);

export interface CronJobInput {
  ref: CronJobRef;
  source: ObservedCronJob;
  target?: ObservedCronJob;
  /** Unfinished Jobs whose controller is the source copy / the target copy. */
  sourceActive: ObservedJob[];
  targetActive: ObservedJob[];
}

export interface CronJobSettings {
  now: Date;
  from: string;
  to: string;
  cronjobs: CronJobsSection;
}

export function planCronJob(input: CronJobInput, settings: CronJobSettings): CronJobPlanEntry {
  const { source, target } = input;
  const notes = new Notes(refKey(input.ref));
  const scheduleOk = checkSchedules(input, notes);
  const action = chooseAction(input, scheduleOk, settings, notes);
  const differences = target ? specDifferences(source, target) : [];
  for (const d of differences) notes.add('warning', 'spec-differs', differenceMessage(d, settings));
  const ticks = scheduleOk ? ticksOf(source, settings.now) : { nextTicks: [] };
  if (MOVING.has(action)) {
    if (scheduleOk) noteTickInWindow(input, settings, notes);
    noteMissedRuns(input, settings, ticks.latestTick, notes);
  }
  noteRunningJobs(input, action, settings, notes);
  noteManagedBy(input, settings, notes);
  return {
    kind: 'cronjob',
    ref: { namespace: input.ref.namespace, name: input.ref.name },
    action,
    schedule: source.schedule,
    ...(source.timeZone !== undefined ? { timeZone: source.timeZone } : {}),
    source: sideOf(source, input.sourceActive),
    target: sideOf(target, input.targetActive),
    differences,
    ...ticks,
    messages: notes.list,
  };
}

class Notes {
  readonly list: PlanMessage[] = [];
  constructor(private readonly subject: string) {}
  add(severity: Severity, code: string, message: string): void {
    this.list.push({ severity, code, message, subject: this.subject });
  }
}

export function sideOf(copy: ObservedCronJob | undefined, active: ObservedJob[]): CronJobSide {
  if (!copy) return { present: false, activeJobs: [] };
  return {
    present: true,
    suspend: copy.suspend,
    uid: copy.uid,
    ...(copy.lastScheduleTime !== undefined ? { lastScheduleTime: copy.lastScheduleTime } : {}),
    activeJobs: active.map((job) => job.name).sort(),
  };
}

function ticksOf(source: ObservedCronJob, now: Date): Pick<CronJobPlanEntry, 'nextTicks' | 'latestTick'> {
  const next = nextTicks(source.schedule, source.timeZone, now, NEXT_TICKS).map((t) => t.toISOString());
  const latest = latestTick(source.schedule, source.timeZone, now);
  return { nextTicks: next, ...(latest ? { latestTick: latest.toISOString() } : {}) };
}

/** Both copies' schedules must be ones the controller runs and cutover can compute ticks for. */
function checkSchedules(input: CronJobInput, notes: Notes): boolean {
  let ok = true;
  for (const [side, copy] of [['source', input.source], ['target', input.target]] as const) {
    const problem = copy ? validateSchedule(copy.schedule, copy.timeZone) : undefined;
    if (problem === undefined) continue;
    notes.add('error', 'invalid-schedule', `${side} copy: ${problem}`);
    ok = false;
  }
  return ok;
}

function chooseAction(input: CronJobInput, scheduleOk: boolean, settings: CronJobSettings, notes: Notes): CronJobAction {
  const { source, target } = input;
  if (!target) {
    notes.add(
      'error',
      'missing-on-target',
      `not found on the target cluster ${settings.to}: create it there (suspended) before the cutover, or add ` +
        `${refKey(input.ref)} to cronjobs.exclude to leave it on ${settings.from}`,
    );
    return 'blocked';
  }
  if (!scheduleOk) return 'blocked';
  if (!source.suspend && !target.suspend) {
    notes.add('warning', 'enabled-on-both', enabledOnBothMessage(input, settings));
    return 'suspend-target-then-move';
  }
  if (source.suspend && !target.suspend) {
    notes.add('info', 'already-moved', `suspended on ${settings.from} and enabled on ${settings.to}: already moved; execute only verifies it`);
    return 'already-moved';
  }
  if (source.suspend) {
    notes.add(
      'warning',
      'suspended-on-both',
      `suspended on both clusters: nothing runs now. Execute resumes it on ${settings.to}, as after an ` +
        `interrupted handoff; if it is paused on purpose, add ${refKey(input.ref)} to cronjobs.exclude`,
    );
  }
  return 'move';
}

function enabledOnBothMessage(input: CronJobInput, settings: CronJobSettings): string {
  const running = input.targetActive.length > 0 ? ` (running on ${settings.to} now: ${jobList(input.targetActive)})` : '';
  return (
    `enabled on BOTH ${settings.from} and ${settings.to}: every tick runs twice right now${running}. ` +
    `Execute suspends the ${settings.to} copy first, then moves it as usual`
  );
}

const unset = (value: string | number | undefined): string => (value === undefined ? '(unset)' : String(value));

function specDifferences(source: ObservedCronJob, target: ObservedCronJob): SpecDifference[] {
  const pairs: [SpecDifference['field'], string, string][] = [
    ['schedule', source.schedule, target.schedule],
    ['timeZone', unset(source.timeZone), unset(target.timeZone)],
    ['images', source.images.join(', '), target.images.join(', ')],
    ['concurrencyPolicy', source.concurrencyPolicy, target.concurrencyPolicy],
    ['startingDeadlineSeconds', unset(source.startingDeadlineSeconds), unset(target.startingDeadlineSeconds)],
  ];
  return pairs.filter(([, s, t]) => s !== t).map(([field, s, t]) => ({ field, source: s, target: t }));
}

function differenceMessage(d: SpecDifference, settings: CronJobSettings): string {
  const base = `${d.field} differs: ${settings.from} has ${d.source}, ${settings.to} has ${d.target}`;
  if (d.field === 'schedule' || d.field === 'timeZone') {
    return `${base}; after the move it runs on the ${settings.to} copy's ${d.field}, and the baseline is computed from it`;
  }
  return `${base}; after the move the ${settings.to} copy's spec applies`;
}

/** The window in which a tick would fall between "suspended on source" and "resumed on target". */
function handoffWindowMs(input: CronJobInput, settings: CronJobSettings): { ms: number; drains: boolean } {
  const drains = input.sourceActive.length > 0 && settings.cronjobs.running === 'wait';
  return { ms: drains ? settings.cronjobs.drainTimeoutMs : HANDOFF_ESTIMATE_MS, drains };
}

/**
 * The ticks that fall within the estimated handoff window, and what the policy makes of each: the same
 * decision the handoff takes when it resumes the target (../plan/catch-up.ts).
 */
function noteTickInWindow(input: CronJobInput, settings: CronJobSettings, notes: Notes): void {
  const { ms, drains } = handoffWindowMs(input, settings);
  const target = input.target ?? input.source;
  const now = settings.now.getTime();
  const decision = decideCatchUp({
    policy: settings.cronjobs.missedRuns,
    limit: settings.cronjobs.missedRunsLimit,
    ...catchUpFields(target),
    windowFrom: now,
    sourceJobTicks: new Set(),
    targetJobTicks: new Set(),
    targetBusy: false,
    now: now + ms,
  });
  if (decision.missed.length === 0) return;
  const ticks = decision.missed.map((t) => `${new Date(t).toISOString()} (in ${formatDuration(t - now)})`);
  const outcomes = tickOutcomes(decision, settings);
  noteControllerWouldLose(input, settings, now + ms, notes);
  notes.add(
    'warning',
    'tick-in-window',
    `${ticks.length === 1 ? 'tick' : 'ticks'} ${ticks.join(', ')} ${ticks.length === 1 ? 'falls' : 'fall'} within the estimated handoff ` +
      `window of ${formatDuration(ms)}${drains ? ' (the drain of its running Jobs)' : ''}, while both copies are suspended: ` +
      outcomes.join('; '),
  );
}

/** What the policy makes of the ticks in the window: the Jobs cutover starts, the ticks run nowhere (by reason). */
function tickOutcomes(decision: CatchUpDecision, settings: CronJobSettings): string[] {
  const list = (ticks: number[]): string => ticks.map((t) => new Date(t).toISOString()).join(', ');
  const outcomes: string[] = [];
  const policy = `missedRuns: ${settings.cronjobs.missedRuns}`;
  if (decision.create.length === 1) {
    outcomes.push(`${list(decision.create)} runs once, late, on ${settings.to}: cutover starts its Job there before resuming it (${policy})`);
  } else if (decision.create.length > 1) {
    outcomes.push(`${list(decision.create)} run once each, late, on ${settings.to}: cutover starts their Jobs there before resuming it (${policy})`);
  }
  const reasons = new Map<string, number[]>();
  for (const { tick, reason } of decision.skip) reasons.set(reason, [...(reasons.get(reason) ?? []), tick]);
  for (const [reason, ticks] of reasons) outcomes.push(`${list(ticks)} ${ticks.length === 1 ? 'runs' : 'run'} on neither cluster (${reason})`);
  return outcomes;
}

/**
 * Where the CronJob controller's own catch-up (a target resumed with the source's lastScheduleTime, as
 * handoffs used to) would start no Job although a tick was missed: its estimate overshoots on uneven
 * schedules. cutover starts the missed ticks itself with latest and all; the warning says what it replaces.
 */
function noteControllerWouldLose(input: CronJobInput, settings: CronJobSettings, resumedAt: number, notes: Notes): void {
  const policy = settings.cronjobs.missedRuns;
  if (policy === 'skip') return;
  const target = input.target ?? input.source;
  const alone = {
    schedule: target.schedule,
    ...(target.timeZone !== undefined ? { timeZone: target.timeZone } : {}),
    creationTimestamp: target.creationTimestamp,
    ...(input.source.lastScheduleTime !== undefined ? { lastScheduleTime: input.source.lastScheduleTime } : {}),
    ...(target.startingDeadlineSeconds !== undefined ? { startingDeadlineSeconds: target.startingDeadlineSeconds } : {}),
  };
  const at = new Date(resumedAt);
  const exact = exactLatestMissedTick(alone, at);
  if (exact === undefined || mostRecentScheduleTime(alone, at).tick !== undefined) return;
  notes.add(
    'warning',
    'controller-would-lose',
    `the CronJob controller alone would start no Job for the missed tick ${exact.toISOString()} (its missed-tick estimate ` +
      `overshoots on this uneven schedule); cutover starts it itself on ${settings.to} (missedRuns: ${policy})`,
  );
}

/** What missedRuns latest/all will do for this CronJob, from what the clusters show now. */
function noteMissedRuns(input: CronJobInput, settings: CronJobSettings, latest: string | undefined, notes: Notes): void {
  const policy = settings.cronjobs.missedRuns;
  if (policy === 'skip') return;
  const { source } = input;
  const last = source.lastScheduleTime;
  if (source.suspend) {
    notes.add(
      'info',
      'missed-runs',
      `missedRuns: ${policy}: suspended on ${settings.from} already, so only ticks that fall during the handoff run late on ` +
        `${settings.to}; ticks missed before it starts are not run`,
    );
    return;
  }
  if (latest !== undefined && (last === undefined || Date.parse(latest) > Date.parse(last))) {
    notes.add(
      'warning',
      'missed-runs',
      `missedRuns: ${policy}: tick ${latest} has not run on ${settings.from} yet (its last run: ${last ?? 'never'}); ` +
        `if it has not started by the handoff, cutover starts it once on ${settings.to}`,
    );
    return;
  }
  notes.add(
    'info',
    'missed-runs',
    `missedRuns: ${policy}: ${settings.to} is resumed with the latest tick as its baseline, and cutover itself starts ` +
      (policy === 'latest' ? 'the latest tick missed during the handoff' : `each tick missed during the handoff (at most ${settings.cronjobs.missedRunsLimit})`) +
      ` on ${settings.to}, named as its controller would name it`,
  );
}

function noteRunningJobs(input: CronJobInput, action: CronJobAction, settings: CronJobSettings, notes: Notes): void {
  if (input.sourceActive.length === 0 || !MOVING.has(action)) return;
  const jobs = jobList(input.sourceActive);
  const { running, drainTimeoutMs } = settings.cronjobs;
  const message =
    running === 'wait'
      ? `running on ${settings.from}: ${jobs}; execute suspends the source, then waits up to ` +
        `${formatDuration(drainTimeoutMs)} (cronjobs.drainTimeout) for them to finish before resuming ${settings.to}`
      : `running on ${settings.from}: ${jobs}; with running: ignore they will not be waited for, so ${settings.to} ` +
        'may start its next tick while they still run (concurrencyPolicy holds per cluster only)';
  notes.add('warning', 'running-job', message);
}

const SYNC_ADVICE: Record<ManagedBy, string> = {
  helm: 'do not run helm upgrade / helmfile apply during the cutover, and set suspend in the chart values',
  argocd: 'disable auto-sync of its Argo CD application (argocd app set <app> --sync-policy none)',
  flux: 'suspend its Flux object (flux suspend helmrelease|kustomization <name>)',
};

function noteManagedBy(input: CronJobInput, settings: CronJobSettings, notes: Notes): void {
  const { source, target } = input;
  if (source.managedBy) {
    notes.add(
      'warning',
      'managed-by',
      `the ${settings.from} copy is managed by ${source.managedBy}: its next sync may set suspend: false again ` +
        `and run every tick on both clusters; ${SYNC_ADVICE[source.managedBy]}`,
    );
  }
  if (target?.managedBy) {
    notes.add(
      'warning',
      'managed-by',
      `the ${settings.to} copy is managed by ${target.managedBy}: its next sync may suspend it again after the ` +
        `move; ${SYNC_ADVICE[target.managedBy]}`,
    );
  }
}

const MAX_NAMED_JOBS = 5;

function jobList(jobs: ObservedJob[]): string {
  const names = jobs.map((j) => j.name).sort();
  const shown = names.slice(0, MAX_NAMED_JOBS).join(', ');
  return names.length > MAX_NAMED_JOBS ? `${shown} and ${names.length - MAX_NAMED_JOBS} more` : shown;
}
