// An in-memory ClusterPort for unit tests of the engine and the handoff: CronJobs and Jobs in maps, every
// call recorded. It only stores what it is told: no controller runs, nothing is scheduled, no Job
// appears by itself (tests add Jobs with `addJob`). Failures can be queued per method.
import { ApiError } from '../../src/core/errors.js';
import type { AccessCheck, AccessVerdict, ClusterPort } from '../../src/core/ports.js';
import type { CronJobRef, CronJobSelector, ObservedCronJob, ObservedJob } from '../../src/core/types.js';
import { refKey } from '../../src/core/types.js';
import { accessKey } from '../../src/adapters/sandbox/cluster.js';
import { matchesSelector, parseSelector } from '../../src/adapters/sandbox/selector.js';

export type ClusterMethod = Exclude<keyof ClusterPort, 'name'>;

export interface ClusterCall {
  method: ClusterMethod;
  args: unknown[];
}

const copy = <T>(value: T): T => structuredClone(value);

export function cronJob(ref: CronJobRef & Partial<ObservedCronJob>): ObservedCronJob {
  return {
    uid: `uid-${ref.namespace}-${ref.name}`,
    resourceVersion: '1',
    creationTimestamp: '2025-01-01T00:00:00Z',
    schedule: '*/5 * * * *',
    suspend: false,
    concurrencyPolicy: 'Forbid',
    images: ['busybox:1.36'],
    labels: {},
    annotations: {},
    ...ref,
  };
}

export class MemoryCluster implements ClusterPort {
  readonly calls: ClusterCall[] = [];
  readonly cronJobs = new Map<string, ObservedCronJob>();
  readonly jobs: ObservedJob[] = [];
  private readonly failures = new Map<ClusterMethod, unknown[]>();
  private revision = 1;

  constructor(
    readonly name: string,
    private readonly serverVersion = 'v1.34.4',
  ) {}

  addCronJob(ref: CronJobRef & Partial<ObservedCronJob>): ObservedCronJob {
    const job = cronJob(ref);
    this.cronJobs.set(refKey(job), job);
    return copy(job);
  }

  addJob(job: ObservedJob): void {
    this.jobs.push(copy(job));
  }

  /** The next call of `method` throws `error` (queued: one failure per call). */
  failNext(method: ClusterMethod, error: unknown): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), error]);
  }

  callsOf(method: ClusterMethod): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  async version(): Promise<string> {
    this.enter('version', []);
    return this.serverVersion;
  }

  async listCronJobs(selector: CronJobSelector): Promise<ObservedCronJob[]> {
    this.enter('listCronJobs', [selector]);
    const requirements = selector.labelSelector ? parseSelector(selector.labelSelector) : [];
    return [...this.cronJobs.values()]
      .filter((c) => selector.namespaces.includes(c.namespace) && matchesSelector(requirements, c.labels))
      .map(copy);
  }

  async getCronJob(ref: CronJobRef): Promise<ObservedCronJob | undefined> {
    this.enter('getCronJob', [ref]);
    const found = this.cronJobs.get(refKey(ref));
    return found && copy(found);
  }

  async setSuspend(ref: CronJobRef, suspend: boolean): Promise<ObservedCronJob> {
    this.enter('setSuspend', [ref, suspend]);
    return this.change(ref, { suspend });
  }

  async setLastScheduleTime(ref: CronJobRef, time: string): Promise<ObservedCronJob> {
    this.enter('setLastScheduleTime', [ref, time]);
    return this.change(ref, { lastScheduleTime: time });
  }

  /** Permissions withheld, named as `accessKey` names them; everything else is allowed. */
  readonly denied = new Set<string>();

  async canI(checks: AccessCheck[]): Promise<AccessVerdict[]> {
    this.enter('canI', [checks]);
    return checks.map((c) => ({ allowed: !this.denied.has(accessKey(c)) }));
  }

  /** Adds the Job of the tick as cutover would start it (name and annotation of the controller). */
  async startJobForTick(ref: CronJobRef, tick: string): Promise<{ job: ObservedJob; created: boolean }> {
    this.enter('startJobForTick', [ref, tick]);
    const owner = this.cronJobs.get(refKey(ref));
    if (!owner) throw new ApiError(`${this.name}: cronjobs.batch "${ref.name}" not found in namespace ${ref.namespace}`, 404);
    const name = `${ref.name}-${Math.floor(Date.parse(tick) / 60_000)}`;
    const existing = this.jobs.find((j) => j.namespace === ref.namespace && j.name === name);
    if (existing) return { job: copy(existing), created: false };
    const job: ObservedJob = {
      namespace: ref.namespace,
      name,
      uid: `uid-job-${name}`,
      ownerUid: owner.uid,
      ownerName: owner.name,
      scheduledTime: new Date(tick).toISOString(),
      creationTimestamp: new Date().toISOString(),
      startedBy: 'cutover',
    };
    this.jobs.push(job);
    return { job: copy(job), created: true };
  }

  async listJobs(namespace: string, ownerUid?: string): Promise<ObservedJob[]> {
    this.enter('listJobs', [namespace, ownerUid]);
    return this.jobs
      .filter((j) => j.namespace === namespace && (ownerUid === undefined || j.ownerUid === ownerUid))
      .map(copy);
  }

  private enter(method: ClusterMethod, args: unknown[]): void {
    this.calls.push({ method, args: copy(args) });
    const queued = this.failures.get(method);
    if (queued && queued.length > 0) throw queued.shift();
  }

  /** Like the real adapter: patching a missing CronJob is a 404 ApiError; every write bumps resourceVersion. */
  private change(ref: CronJobRef, fields: Partial<ObservedCronJob>): ObservedCronJob {
    const current = this.cronJobs.get(refKey(ref));
    if (!current) throw new ApiError(`${this.name}: cronjobs.batch "${ref.name}" not found in namespace ${ref.namespace}`, 404);
    const next = { ...current, ...fields, resourceVersion: String(++this.revision) };
    this.cronJobs.set(refKey(ref), next);
    return copy(next);
  }
}
