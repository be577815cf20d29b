// A simulated Kubernetes cluster for rehearsals: CronJobs, Jobs with run times, and the CronJob
// controller. Each sync runs the controller's own decision procedure (src/plan/controller.ts: upstream's
// order of checks, its estimate of the most recent missed tick, status.active bookkeeping); this file only
// answers its API calls from the simulated state and applies the status it writes. See docs/sandbox.md.
//   - any update of the CronJob (spec or status) and any Job finishing syncs it at once; otherwise it is
//     requeued when the controller would requeue it (its next tick plus 100 ms);
//   - a Job the CronJob owns but that is not in status.active (one created by someone else) is reported as
//     UnexpectedJob and never adopted, so it does not count for Forbid or Replace;
//   - Job names are `<cronjob>-<scheduled unix time / 60>`, so a tick is started at most once per cluster.
// Every change of `suspend` is kept in `suspendHistory`, so a report can show when each copy was enabled.
import { ApiError } from '../../core/errors.js';
import type { AccessCheck, AccessVerdict, ClusterPort } from '../../core/ports.js';
import type {
  ConcurrencyPolicy,
  CronJobRef,
  CronJobSelector,
  JobOutcome,
  ObservedCronJob,
  ObservedJob,
} from '../../core/types.js';
import { refKey } from '../../core/types.js';
import { syncCronJob, type JobRef, type SyncApi, type SyncCronJob, type SyncEvent, type SyncJob } from '../../plan/controller.js';
import { matchesSelector, parseSelector } from './selector.js';
import type { VirtualClock } from './clock.js';

export interface SimCronJobSpec {
  namespace: string;
  name: string;
  schedule: string;
  timeZone?: string;
  suspend?: boolean;
  startingDeadlineSeconds?: number;
  concurrencyPolicy?: ConcurrencyPolicy;
  /** How long each Job of this CronJob runs, in seconds. */
  jobSeconds?: number;
  /** Each Job runs jobSeconds ± up to this many seconds, drawn from the cluster's seeded generator. */
  jobJitterSeconds?: number;
  jobOutcome?: JobOutcome;
  lastScheduleTime?: string;
  creationTimestamp?: string;
  images?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** One Job as the simulation remembers it, for reports and conformance checks. */
export interface SimJob extends ObservedJob {
  cluster: string;
  cronJob: string;
  finishAt: number;
  deleted: boolean;
}

/** A controller warning or event, as the real controller would record it. */
export interface SimEvent {
  at: string;
  cluster: string;
  cronJob: string;
  /** The controller's own event reasons. */
  reason: SyncEvent['reason'];
  type: SyncEvent['type'];
  message: string;
}

/** `suspend` of one copy from `at` (ms) on; the first entry is the state the copy was created with. */
export interface SuspendChange {
  at: number;
  cronJob: string;
  suspend: boolean;
}

export interface SimulatedClusterOptions {
  /** What `version()` answers. */
  version?: string;
  /** Source of Job run-time jitter; seeded by the sandbox so a rehearsal is reproducible. */
  random?: () => number;
}

/** The controller retries a failed sync with back-off; the simulation waits this long. */
const RETRY_MS = 5_000;

interface SimCronJob {
  spec: SimCronJobSpec;
  observed: ObservedCronJob;
  /** status.active: the Jobs the controller created and has not yet seen finish. */
  active: JobRef[];
  lastSuccessfulTime?: string;
  requeue?: { cancel(): void };
}

export class SimulatedCluster implements ClusterPort {
  private readonly cronJobs = new Map<string, SimCronJob>();
  private readonly jobList: SimJob[] = [];
  readonly events: SimEvent[] = [];
  readonly suspendHistory: SuspendChange[] = [];
  /** Calls by method name: what a real run would cost in API requests. */
  readonly calls: Record<string, number> = {};
  private counter = 0;
  private readonly serverVersion: string;
  private readonly random: () => number;

  constructor(
    readonly name: string,
    private readonly clock: VirtualClock,
    options: SimulatedClusterOptions = {},
  ) {
    this.serverVersion = options.version ?? 'v1.34.4-sandbox';
    this.random = options.random ?? (() => 0.5);
  }

  // --- seeding -----------------------------------------------------------------------------------

  addCronJob(spec: SimCronJobSpec): ObservedCronJob {
    const key = refKey(spec);
    if (this.cronJobs.has(key)) throw new Error(`sandbox cluster ${this.name}: CronJob ${key} already exists`);
    const observed: ObservedCronJob = {
      namespace: spec.namespace,
      name: spec.name,
      uid: this.nextUid(),
      resourceVersion: this.nextVersion(),
      creationTimestamp: spec.creationTimestamp ?? this.clock.now().toISOString(),
      schedule: spec.schedule,
      timeZone: spec.timeZone,
      suspend: spec.suspend ?? false,
      startingDeadlineSeconds: spec.startingDeadlineSeconds,
      concurrencyPolicy: spec.concurrencyPolicy ?? 'Allow',
      lastScheduleTime: spec.lastScheduleTime,
      images: spec.images ?? ['registry.example/job:1'],
      labels: spec.labels ?? {},
      annotations: spec.annotations ?? {},
    };
    this.cronJobs.set(key, { spec, observed, active: [] });
    this.suspendHistory.push({ at: this.clock.now().getTime(), cronJob: key, suspend: observed.suspend });
    this.enqueue(key);
    return { ...observed };
  }

  /** Adds a Job already running at the start of the simulation (seeded from a live cluster). */
  addRunningJob(ref: CronJobRef, scheduledTime: string, remainingSeconds: number): SimJob {
    const cj = this.mustGet(ref);
    const tick = Date.parse(scheduledTime);
    // Started by the controller at its tick (or now, for a tick in the future), still running for
    // `remainingSeconds`; the controller created it, so it is in status.active.
    const job = this.createJob(cj, tick, remainingSeconds, Math.min(tick, this.clock.now().getTime()));
    cj.active.push({ name: job.name, uid: job.uid });
    return job;
  }

  /** Every CronJob of the cluster as it is now. */
  cronJobList(): ObservedCronJob[] {
    return [...this.cronJobs.values()].map((c) => ({ ...c.observed }));
  }

  /** Every Job this cluster ever created (deleted ones flagged), oldest first. */
  jobs(): SimJob[] {
    return this.jobList.map((j) => ({ ...j }));
  }

  // --- ClusterPort -------------------------------------------------------------------------------

  async version(): Promise<string> {
    this.count('version');
    return this.serverVersion;
  }

  async listCronJobs(selector: CronJobSelector): Promise<ObservedCronJob[]> {
    this.count('listCronJobs');
    const requirements = parseSelector(selector.labelSelector ?? '');
    return [...this.cronJobs.values()]
      .map((c) => c.observed)
      .filter((o) => selector.namespaces.includes(o.namespace) && matchesSelector(requirements, o.labels))
      .map((o) => ({ ...o }));
  }

  async getCronJob(ref: CronJobRef): Promise<ObservedCronJob | undefined> {
    this.count('getCronJob');
    const found = this.cronJobs.get(refKey(ref));
    return found ? { ...found.observed } : undefined;
  }

  async setSuspend(ref: CronJobRef, suspend: boolean): Promise<ObservedCronJob> {
    this.count('setSuspend');
    const cj = this.mustGet(ref);
    if (cj.observed.suspend !== suspend) this.suspendHistory.push({ at: this.clock.now().getTime(), cronJob: refKey(ref), suspend });
    cj.observed = { ...cj.observed, suspend, resourceVersion: this.nextVersion() };
    this.enqueue(refKey(ref));
    return { ...cj.observed };
  }

  async setLastScheduleTime(ref: CronJobRef, time: string): Promise<ObservedCronJob> {
    this.count('setLastScheduleTime');
    const cj = this.mustGet(ref);
    cj.observed = { ...cj.observed, lastScheduleTime: new Date(time).toISOString(), resourceVersion: this.nextVersion() };
    this.enqueue(refKey(ref));
    return { ...cj.observed };
  }

  /**
   * Permissions withheld from the run, as `verb resource[/subresource] namespace`: a simulated cluster
   * grants everything else.
   */
  readonly denied = new Set<string>();

  async canI(checks: AccessCheck[]): Promise<AccessVerdict[]> {
    this.count('canI');
    return checks.map((c) => ({ allowed: !this.denied.has(accessKey(c)) }));
  }

  async startJobForTick(ref: CronJobRef, tick: string): Promise<{ job: ObservedJob; created: boolean }> {
    this.count('startJobForTick');
    const cj = this.mustGet(ref);
    const at = Date.parse(tick);
    const existing = this.jobList.find((j) => !j.deleted && j.namespace === ref.namespace && j.name === jobName(ref.name, at));
    if (existing) return { job: toObservedJob(existing), created: false };
    const job = this.createJob(cj, at, this.runSeconds(cj.spec));
    job.startedBy = 'cutover';
    // As the real adapter does: listed in status.active (a status write, which syncs the CronJob), so the
    // controller tracks it as its own.
    cj.active.push({ name: job.name, uid: job.uid });
    this.enqueue(refKey(ref));
    return { job: toObservedJob(job), created: true };
  }

  async listJobs(namespace: string, ownerUid?: string): Promise<ObservedJob[]> {
    this.count('listJobs');
    return this.jobList
      .filter((j) => !j.deleted && j.namespace === namespace && (ownerUid === undefined || j.ownerUid === ownerUid))
      .map(toObservedJob);
  }

  // --- the CronJob controller --------------------------------------------------------------------

  private enqueue(key: string): void {
    this.clock.schedule(this.clock.now().getTime(), () => this.sync(key), { daemon: true });
  }

  private sync(key: string): void {
    const cj = this.cronJobs.get(key);
    if (!cj) return;
    cj.requeue?.cancel();
    cj.requeue = undefined;
    const now = this.clock.now();
    const owned = this.jobList.filter((j) => j.ownerUid === cj.observed.uid && !j.deleted).map(toSyncJob);
    const result = syncCronJob(this.syncView(cj), owned, now, this.syncApi(cj));
    for (const e of result.events) this.event(cj.observed, e);
    if (result.updateStatus) this.writeStatus(cj, result.cronJob);
    const wait = result.error !== undefined ? RETRY_MS : result.requeueAfterMs;
    if (wait !== undefined) {
      cj.requeue = this.clock.schedule(now.getTime() + Math.max(0, wait), () => this.sync(key), { daemon: true });
    }
  }

  /** The CronJob as the controller's informer shows it. */
  private syncView(cj: SimCronJob): SyncCronJob {
    const o = cj.observed;
    return {
      namespace: o.namespace,
      name: o.name,
      uid: o.uid,
      schedule: o.schedule,
      ...(o.timeZone !== undefined ? { timeZone: o.timeZone } : {}),
      suspend: o.suspend,
      concurrencyPolicy: o.concurrencyPolicy,
      ...(o.startingDeadlineSeconds !== undefined ? { startingDeadlineSeconds: o.startingDeadlineSeconds } : {}),
      creationTimestamp: o.creationTimestamp,
      ...(o.lastScheduleTime !== undefined ? { lastScheduleTime: o.lastScheduleTime } : {}),
      ...(cj.lastSuccessfulTime !== undefined ? { lastSuccessfulTime: cj.lastSuccessfulTime } : {}),
      active: [...cj.active],
    };
  }

  private writeStatus(cj: SimCronJob, status: SyncCronJob): void {
    cj.active = [...status.active];
    cj.lastSuccessfulTime = status.lastSuccessfulTime;
    const last = status.lastScheduleTime === undefined ? undefined : new Date(status.lastScheduleTime).toISOString();
    if (last !== cj.observed.lastScheduleTime) {
      cj.observed = { ...cj.observed, lastScheduleTime: last, resourceVersion: this.nextVersion() };
    }
  }

  /** The API calls of one sync, answered from this cluster's state. */
  private syncApi(cj: SimCronJob): SyncApi {
    const byName = (name: string): SimJob | undefined =>
      this.jobList.find((j) => !j.deleted && j.namespace === cj.observed.namespace && j.name === name);
    return {
      getCronJob: () => ({ ok: this.syncView(cj) }),
      getJob: (name) => {
        const job = byName(name);
        return job ? { ok: toSyncJob(job) } : { notFound: true };
      },
      createJob: (name, tick) => {
        if (byName(name)) return { exists: true };
        return { ok: toSyncJob(this.createJob(cj, tick.getTime(), this.runSeconds(cj.spec))) };
      },
      deleteJob: (name) => {
        const job = byName(name);
        if (!job) return { error: `jobs.batch "${name}" not found` };
        job.deleted = true;
        return { ok: true };
      },
    };
  }

  /** The one place a Job comes into being in this cluster (the controller's, or one seeded as running). */
  private createJob(cj: SimCronJob, tick: number, runSeconds: number, createdAt?: number): SimJob {
    const now = this.clock.now().getTime();
    const job: SimJob = {
      cluster: this.name,
      cronJob: refKey(cj.observed),
      namespace: cj.observed.namespace,
      name: jobName(cj.observed.name, tick),
      uid: this.nextUid(),
      ownerUid: cj.observed.uid,
      ownerName: cj.observed.name,
      scheduledTime: iso(tick),
      creationTimestamp: iso(createdAt ?? now),
      finishAt: now + runSeconds * 1000,
      deleted: false,
    };
    this.jobList.push(job);
    this.clock.schedule(job.finishAt, () => this.finishJob(job, cj.spec.jobOutcome ?? 'Complete'), { daemon: true });
    return job;
  }

  private runSeconds(spec: SimCronJobSpec): number {
    const base = spec.jobSeconds ?? 30;
    const jitter = spec.jobJitterSeconds ?? 0;
    if (jitter <= 0) return base;
    return Math.max(1, Math.round(base + (this.random() * 2 - 1) * jitter));
  }

  private finishJob(job: SimJob, outcome: JobOutcome): void {
    if (job.deleted || job.outcome) return;
    job.outcome = outcome;
    this.enqueue(job.cronJob);
  }

  private event(o: ObservedCronJob, e: SyncEvent): void {
    this.events.push({ at: this.clock.now().toISOString(), cluster: this.name, cronJob: refKey(o), reason: e.reason, type: e.type, message: e.message });
  }

  private mustGet(ref: CronJobRef): SimCronJob {
    const found = this.cronJobs.get(refKey(ref));
    // What the real adapter throws for a 404: an ApiError naming the cluster and the object.
    if (!found) throw new ApiError(`cluster ${this.name} (sandbox): patch cronjobs ${refKey(ref)}: cronjobs.batch "${ref.name}" not found`, 404);
    return found;
  }

  private count(method: string): void {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
  }

  private nextUid(): string {
    this.counter += 1;
    return `${this.name}-${String(this.counter).padStart(8, '0')}`;
  }

  private nextVersion(): string {
    this.counter += 1;
    return String(this.counter);
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The real controller names a Job after its tick in minutes since the epoch. */
export const jobName = (cronJobName: string, tick: number): string => `${cronJobName}-${Math.floor(tick / 60_000)}`;

function toSyncJob(job: SimJob): SyncJob {
  return {
    name: job.name,
    uid: job.uid,
    ...(job.ownerUid !== undefined ? { controllerUid: job.ownerUid } : {}),
    ...(job.outcome !== undefined ? { finished: job.outcome, completionTime: new Date(job.finishAt).toISOString() } : {}),
  };
}

function toObservedJob(job: SimJob): ObservedJob {
  const { cluster: _c, cronJob: _k, finishAt: _f, deleted: _d, ...observed } = job;
  return { ...observed };
}

/** `patch cronjobs/status billing`: how a permission is named in `SimulatedCluster.denied` and in messages. */
export function accessKey(check: AccessCheck): string {
  return `${check.verb} ${check.resource}${check.subresource ? `/${check.subresource}` : ''} ${check.namespace}`;
}

/** The fields that decide when a CronJob ticks, copied between the sandbox's file, simulator and live reads. */
export interface ScheduleFields {
  namespace: string;
  name: string;
  schedule: string;
  timeZone?: string;
  suspend: boolean;
  startingDeadlineSeconds?: number;
  concurrencyPolicy: ConcurrencyPolicy;
}

export function scheduleFields(cj: ScheduleFields): ScheduleFields {
  return {
    namespace: cj.namespace,
    name: cj.name,
    schedule: cj.schedule,
    ...(cj.timeZone !== undefined ? { timeZone: cj.timeZone } : {}),
    suspend: cj.suspend,
    ...(cj.startingDeadlineSeconds !== undefined ? { startingDeadlineSeconds: cj.startingDeadlineSeconds } : {}),
    concurrencyPolicy: cj.concurrencyPolicy,
  };
}
