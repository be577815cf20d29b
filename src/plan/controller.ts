// The CronJob controller's scheduling decisions (kube-controller-manager v1.34, pkg/controller/cronjob), as
// pure functions: which tick a sync starts, and when it looks again. The simulator runs these, and the
// handoff uses them to tell when the controller alone would lose a tick.
//
// The controller does not search for the latest missed tick. From the first two ticks after `earliest` it
// takes their spacing, estimates how many ticks were missed, jumps to an estimated starting point and
// follows the schedule from there. For evenly spaced schedules that finds the latest missed tick; for
// uneven ones (`*/5 9-17 * * *`, `5,10 * * * *`, a daily job across a DST change) the starting point can
// lie past it, and then the controller starts NO Job although a tick was missed. It never picks a different
// tick. `exactLatestMissedTick` gives the true answer, so callers can see where the two differ.
import { controllerSchedule, goLoadsZone, latestTick, validateSchedule, type ControllerSchedule } from './schedule.js';

/** What mostRecentScheduleTime needs of a CronJob. Times are RFC 3339. */
export interface ControllerCronJob {
  schedule: string;
  timeZone?: string;
  creationTimestamp: string;
  lastScheduleTime?: string;
  startingDeadlineSeconds?: number;
}

/** How many ticks the controller believes were missed: `many` is more than 100 (a TooManyMissedTimes warning). */
export type MissedTicks = 'none' | 'few' | 'many';

export interface MostRecentScheduleTime {
  /** The instant after which ticks count as missed. */
  earliest: Date;
  /** The tick the controller would start now, if any. */
  tick?: Date;
  missed: MissedTicks;
  /** The controller's error for a schedule whose two next ticks are less than a second apart (or never come). */
  error?: string;
}

const SECOND = 1000;
const TOO_MANY_MISSED = 100;

function scheduleOf(cj: ControllerCronJob): ControllerSchedule {
  const parsed = controllerSchedule(cj.schedule, cj.timeZone);
  if ('problem' in parsed) throw new Error(`unparseable schedule "${cj.schedule}": ${parsed.problem}`);
  return parsed;
}

function earliestOf(cj: ControllerCronJob, now: number, withDeadline: boolean): number {
  let earliest = Date.parse(cj.lastScheduleTime ?? cj.creationTimestamp);
  if (withDeadline && cj.startingDeadlineSeconds !== undefined) {
    earliest = Math.max(earliest, now - cj.startingDeadlineSeconds * SECOND);
  }
  return earliest;
}

/**
 * The controller's mostRecentScheduleTime, estimate included. `withStartingDeadline` false is the variant
 * the controller uses to compute its requeue delay. Throws for a schedule the controller cannot parse.
 */
export function mostRecentScheduleTime(cj: ControllerCronJob, now: Date, withStartingDeadline = true): MostRecentScheduleTime {
  return mostRecentWith(scheduleOf(cj), cj, now.getTime(), withStartingDeadline);
}

function mostRecentWith(schedule: ControllerSchedule, cj: ControllerCronJob, now: number, withDeadline: boolean): MostRecentScheduleTime {
  const earliest = earliestOf(cj, now, withDeadline);
  const result = (missed: MissedTicks, tick?: number, error?: string): MostRecentScheduleTime => ({
    earliest: new Date(earliest),
    ...(tick !== undefined ? { tick: new Date(tick) } : {}),
    missed,
    ...(error !== undefined ? { error } : {}),
  });
  // Go's zero time (no tick within five years) compares as long before any real instant.
  const t1 = schedule.next(earliest) ?? Number.NEGATIVE_INFINITY;
  const t2 = Number.isFinite(t1) ? (schedule.next(t1) ?? Number.NEGATIVE_INFINITY) : Number.NEGATIVE_INFINITY;
  if (now < t1) return result('none');
  if (now < t2) return result('none', t1);
  const spacingSeconds = Math.round((t2 - t1) / SECOND);
  if (!(spacingSeconds >= 1)) return result('none', undefined, 'time difference between two schedules is less than 1 second');
  const elapsedSeconds = Math.trunc((now - t1) / SECOND);
  const missedCount = Math.floor(elapsedSeconds / spacingSeconds) + 1;
  const potentialEarliest = t1 + (missedCount - 2) * spacingSeconds * SECOND;
  let mostRecent: number | undefined;
  for (let t = schedule.next(potentialEarliest); t !== undefined && t <= now; t = schedule.next(t)) mostRecent = t;
  const missed: MissedTicks = missedCount > TOO_MANY_MISSED ? 'many' : 'few';
  return result(missed, mostRecent);
}

/**
 * The controller's nextScheduleTime: the tick a sync at `now` starts (the estimate above, with
 * startingDeadlineSeconds), or undefined. `error` is the controller's InvalidSchedule reason.
 */
export function nextScheduleTime(cj: ControllerCronJob, now: Date): { tick?: Date; missed: MissedTicks; error?: string } {
  const found = mostRecentScheduleTime(cj, now, true);
  if (found.tick === undefined || found.tick.getTime() > now.getTime()) {
    return { missed: found.missed, ...(found.error !== undefined ? { error: found.error } : {}) };
  }
  return { tick: found.tick, missed: found.missed, ...(found.error !== undefined ? { error: found.error } : {}) };
}

/** The controller requeues a CronJob this long after its next tick. */
export const NEXT_SCHEDULE_DELTA_MS = 100;

/**
 * When the controller looks at the CronJob again after a sync at `now` (its nextScheduleTimeDuration,
 * as an instant): the tick after the most recent one, plus a small delta.
 */
export function nextSyncAt(cj: ControllerCronJob, now: Date): Date | undefined {
  const at = nextSyncWith(scheduleOf(cj), cj, now.getTime());
  return at === undefined ? undefined : new Date(at);
}

function nextSyncWith(schedule: ControllerSchedule, cj: ControllerCronJob, now: number): number | undefined {
  const found = mostRecentWith(schedule, cj, now, false);
  let from: number;
  if (found.error !== undefined) from = now;
  else if (found.tick !== undefined) from = found.tick.getTime();
  else from = found.missed === 'none' ? found.earliest.getTime() : now;
  // Go's zero time plus the delta, minus now: a huge negative wait, which the queue treats as "now".
  const next = schedule.next(from);
  return next === undefined ? undefined : next + NEXT_SCHEDULE_DELTA_MS;
}

/**
 * The true latest tick in (earliest, now], earliest as the controller computes it (startingDeadlineSeconds
 * included). Where this is set and mostRecentScheduleTime's tick is not, the controller alone loses it.
 */
export function exactLatestMissedTick(cj: ControllerCronJob, now: Date): Date | undefined {
  const earliest = earliestOf(cj, now.getTime(), true);
  if (validateSchedule(cj.schedule, cj.timeZone) === undefined) {
    const latest = latestTick(cj.schedule, cj.timeZone, now);
    return latest !== undefined && latest.getTime() > earliest ? latest : undefined;
  }
  // A schedule cutover refuses (@every, a date that never comes): follow the controller's chain itself.
  const schedule = scheduleOf(cj);
  let latest: number | undefined;
  for (let t = schedule.next(earliest); t !== undefined && t <= now.getTime(); t = schedule.next(t)) latest = t;
  return latest === undefined ? undefined : new Date(latest);
}

// ---------------------------------------------------------------------------------------------------------
// One sync of one CronJob, in the controller's order of checks

export interface JobRef {
  name: string;
  uid: string;
}

/** A CronJob as a sync sees it: spec fields and the status the controller keeps. */
export interface SyncCronJob extends ControllerCronJob {
  namespace: string;
  name: string;
  uid: string;
  suspend: boolean;
  /** '' (unset) behaves as Allow. */
  concurrencyPolicy: 'Allow' | 'Forbid' | 'Replace' | '';
  /** metadata.deletionTimestamp is set. */
  deleting?: boolean;
  active: JobRef[];
  lastSuccessfulTime?: string;
}

/** A Job owned by the CronJob, as the controller's Job lister shows it. */
export interface SyncJob extends JobRef {
  /** Set when a Complete or Failed condition is True. */
  finished?: 'Complete' | 'Failed';
  completionTime?: string;
  /** UID of the Job's controller owner. */
  controllerUid?: string;
}

/** An API call's result as the sync needs it. */
export type CallResult<T> = { ok: T } | { notFound: true } | { error: string };

/** The API calls a sync makes; the simulator answers them from its state, the vector tests from fakes. */
export interface SyncApi {
  /** A fresh read of the CronJob (the controller re-reads before calling a Job unexpected). */
  getCronJob(): CallResult<SyncCronJob>;
  getJob(name: string): CallResult<SyncJob>;
  /** Creates the Job for `tick`; `exists` for AlreadyExists, `terminating` when the namespace is going away. */
  createJob(name: string, tick: Date): { ok: SyncJob } | { exists: true } | { terminating: true } | { error: string };
  deleteJob(name: string): { ok: true } | { error: string };
}

export interface SyncEvent {
  type: 'Normal' | 'Warning';
  reason:
    | 'UnexpectedJob'
    | 'SawCompletedJob'
    | 'MissingJob'
    | 'UnknownTimeZone'
    | 'UnsupportedSchedule'
    | 'UnparseableSchedule'
    | 'InvalidSchedule'
    | 'TooManyMissedTimes'
    | 'MissSchedule'
    | 'JobAlreadyActive'
    | 'FailedGet'
    | 'FailedDelete'
    | 'SuccessfulDelete'
    | 'FailedCreate'
    | 'SuccessfulCreate';
  message: string;
}

export interface SyncResult {
  /** The CronJob with the status the controller would write (when updateStatus). */
  cronJob: SyncCronJob;
  updateStatus: boolean;
  events: SyncEvent[];
  /** How long until the controller syncs again on its own; undefined when it does not requeue. */
  requeueAfterMs?: number;
  /** The sync's error (the controller retries with back-off). */
  error?: string;
  /** The tick a Job was created (or found already created) for. */
  started?: { tick: Date; job: string };
}

/** The controller's Job name for a tick: the CronJob's name and the tick in whole minutes since the epoch. */
export function controllerJobName(cronJob: string, tick: Date): string {
  // Go divides Unix seconds with truncation toward zero.
  return `${cronJob}-${Math.trunc(Math.floor(tick.getTime() / SECOND) / 60)}`;
}

const rfc1123z = (d: Date): string => d.toUTCString().replace('GMT', '+0000');

/** One syncCronJob of kube-controller-manager v1.34 against `jobs`, the Jobs the CronJob owns. */
export function syncCronJob(input: SyncCronJob, jobs: SyncJob[], now: Date, api: SyncApi): SyncResult {
  return new Sync(input, api, now).run(jobs);
}

/** One sync's working state: the CronJob as the controller holds it, the events, whether status changes. */
class Sync {
  private cj: SyncCronJob;
  private readonly events: SyncEvent[] = [];
  private updateStatus = false;

  constructor(
    input: SyncCronJob,
    private readonly api: SyncApi,
    private readonly now: Date,
  ) {
    this.cj = { ...input, active: [...input.active] };
  }

  run(jobs: SyncJob[]): SyncResult {
    for (const job of jobs) {
      const stop = this.observeJob(job);
      if (stop) return stop;
    }
    const stop = this.dropMissing(new Set(jobs.map((job) => job.uid)));
    if (stop) return stop;
    const { cj } = this;
    if (cj.deleting) return this.done();
    if (cj.timeZone !== undefined && !goLoadsZone(cj.timeZone)) {
      this.event('Warning', 'UnknownTimeZone', `invalid timeZone: "${cj.timeZone}": unknown time zone ${cj.timeZone}`);
      return this.done();
    }
    if (cj.suspend) return this.done();
    return this.scheduleAndStart();
  }

  private done(extra: Partial<SyncResult> = {}): SyncResult {
    return { cronJob: this.cj, updateStatus: this.updateStatus, events: this.events, ...extra };
  }

  private event(type: SyncEvent['type'], reason: SyncEvent['reason'], message: string): void {
    this.events.push({ type, reason, message });
  }

  private dropActive(uid: string): void {
    this.cj.active = this.cj.active.filter((a) => a.uid !== uid);
    this.updateStatus = true;
  }

  /** A Job the CronJob owns: unexpected, or finished (drop it from active, note a success). */
  private observeJob(job: SyncJob): SyncResult | undefined {
    const found = this.cj.active.some((a) => a.uid === job.uid);
    if (job.finished === undefined) return found ? undefined : this.unexpectedJob(job);
    if (found) {
      this.dropActive(job.uid);
      this.event('Normal', 'SawCompletedJob', `Saw completed job: ${job.name}, condition: ${job.finished}`);
    }
    if (job.finished === 'Complete') this.noteSuccess(job);
    return undefined;
  }

  /** The controller re-reads the CronJob before calling a running Job unexpected. */
  private unexpectedJob(job: SyncJob): SyncResult | undefined {
    const fresh = this.api.getCronJob();
    if (!('ok' in fresh)) return this.done({ error: 'error' in fresh ? fresh.error : 'cronjob not found' });
    if (fresh.ok.active.some((a) => a.uid === job.uid)) {
      this.cj = { ...fresh.ok, active: [...fresh.ok.active] };
      return undefined;
    }
    this.event('Warning', 'UnexpectedJob', `Saw a job that the controller did not create or forgot: ${job.name}`);
    return undefined;
  }

  private noteSuccess(job: SyncJob): void {
    const { cj } = this;
    if (cj.lastSuccessfulTime === undefined) {
      cj.lastSuccessfulTime = job.completionTime;
      this.updateStatus = true;
    }
    if (job.completionTime !== undefined && cj.lastSuccessfulTime !== undefined && Date.parse(job.completionTime) > Date.parse(cj.lastSuccessfulTime)) {
      cj.lastSuccessfulTime = job.completionTime;
      this.updateStatus = true;
    }
  }

  /** Active entries whose Job the lister does not show are read; gone ones leave the list. */
  private dropMissing(children: Set<string>): SyncResult | undefined {
    for (const ref of [...this.cj.active]) {
      if (children.has(ref.uid)) continue;
      const got = this.api.getJob(ref.name);
      if ('error' in got) return this.done({ error: got.error });
      if ('notFound' in got) {
        this.event('Normal', 'MissingJob', `Active job went missing: ${ref.name}`);
        this.dropActive(ref.uid);
      }
    }
    return undefined;
  }

  /** The schedule as the controller parses it; a TZ prefix is warned about and the spec's zone dropped. */
  private parseSchedule(): { schedule: ControllerSchedule; asParsed: ControllerCronJob } | undefined {
    const { cj } = this;
    let zone = cj.timeZone;
    if (cj.schedule.includes('TZ')) {
      this.event('Warning', 'UnsupportedSchedule', `CRON_TZ or TZ used in schedule "${cj.schedule}" is not officially supported`);
      zone = undefined;
    }
    const schedule = controllerSchedule(cj.schedule, zone);
    if ('problem' in schedule) {
      this.event('Warning', 'UnparseableSchedule', `unparseable schedule: "${cj.schedule}" : ${schedule.problem}`);
      return undefined;
    }
    return { schedule, asParsed: { ...cj, timeZone: zone } };
  }

  private scheduleAndStart(): SyncResult {
    const parsed = this.parseSchedule();
    if (parsed === undefined) return this.done();
    const { schedule, asParsed } = parsed;
    const now = this.now.getTime();
    const requeue = (): number | undefined => {
      const at = nextSyncWith(schedule, asParsed, now);
      return at === undefined ? undefined : at - now;
    };
    const found = this.mostRecentTick(schedule, asParsed);
    if ('invalid' in found) return this.done();
    const { tick } = found;
    if (tick === undefined || tick.getTime() > now || !this.mayStart(tick)) return this.done({ requeueAfterMs: requeue() });
    const stop = this.cj.concurrencyPolicy === 'Replace' ? this.replaceActive() : undefined;
    if (stop) return stop;
    const job = this.createJob(tick);
    if ('result' in job) return job.result;
    this.cj.active = [...this.cj.active, { name: job.job.name, uid: job.job.uid }];
    this.cj.lastScheduleTime = tick.toISOString();
    this.updateStatus = true;
    return this.done({ requeueAfterMs: requeue(), started: { tick, job: job.job.name } });
  }

  /** The latest tick ≤ now as the controller finds it, with its warnings. */
  private mostRecentTick(schedule: ControllerSchedule, asParsed: ControllerCronJob): { tick: Date | undefined } | { invalid: true } {
    const found = mostRecentWith(schedule, asParsed, this.now.getTime(), true);
    if (found.tick !== undefined && found.missed === 'many') {
      this.event('Warning', 'TooManyMissedTimes', 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew');
    }
    if (found.error === undefined) return { tick: found.tick };
    this.event('Warning', 'InvalidSchedule', `invalid schedule: ${this.cj.schedule} : ${found.error}`);
    return { invalid: true };
  }

  /** Past the starting deadline, already processed, or Forbid with a Job running: no Job for the tick. */
  private mayStart(tick: Date): boolean {
    const { cj } = this;
    if (cj.startingDeadlineSeconds !== undefined && tick.getTime() + cj.startingDeadlineSeconds * SECOND < this.now.getTime()) {
      this.event('Warning', 'MissSchedule', `Missed scheduled time to start a job: ${rfc1123z(tick)}`);
      return false;
    }
    const name = controllerJobName(cj.name, tick);
    const processed = cj.active.some((a) => a.name === name) || (cj.lastScheduleTime !== undefined && Date.parse(cj.lastScheduleTime) === tick.getTime());
    if (processed) return false;
    if (cj.concurrencyPolicy === 'Forbid' && cj.active.length > 0) {
      this.event('Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
      return false;
    }
    return true;
  }

  /** Replace: every active Job is read and deleted before the new one is created. */
  private replaceActive(): SyncResult | undefined {
    for (const ref of [...this.cj.active]) {
      const got = this.api.getJob(ref.name);
      if (!('ok' in got)) {
        const error = 'error' in got ? got.error : `jobs.batch "${ref.name}" not found`;
        this.event('Warning', 'FailedGet', `Get job: ${error}`);
        return this.done({ error });
      }
      const deleted = this.api.deleteJob(got.ok.name);
      if ('error' in deleted) {
        this.event('Warning', 'FailedDelete', `Deleted job: ${deleted.error}`);
        return this.done({ error: `could not replace job ${this.cj.namespace}/${got.ok.name}` });
      }
      this.dropActive(got.ok.uid);
      this.event('Normal', 'SuccessfulDelete', `Deleted job ${got.ok.name}`);
    }
    return undefined;
  }

  /** Creates the tick's Job; AlreadyExists is the controller's own Job (adopted) or someone else's (left). */
  private createJob(tick: Date): { job: SyncJob } | { result: SyncResult } {
    const name = controllerJobName(this.cj.name, tick);
    const created = this.api.createJob(name, tick);
    if ('terminating' in created) return { result: this.done({ error: `namespace ${this.cj.namespace} is being terminated` }) };
    if ('error' in created) {
      this.event('Warning', 'FailedCreate', `Error creating job: ${created.error}`);
      return { result: this.done({ error: created.error }) };
    }
    if ('ok' in created) {
      this.event('Normal', 'SuccessfulCreate', `Created job ${created.ok.name}`);
      return { job: created.ok };
    }
    const got = this.api.getJob(name);
    if (!('ok' in got)) return { result: this.done({ error: 'error' in got ? got.error : `jobs.batch "${name}" not found` }) };
    // Someone else's Job under the controller's name: leave it, and the tick, alone.
    if (got.ok.controllerUid !== this.cj.uid || this.cj.active.some((a) => a.uid === got.ok.uid)) return { result: this.done() };
    return { job: got.ok };
  }
}
