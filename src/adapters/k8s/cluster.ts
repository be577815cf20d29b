// ClusterPort over client-node's BatchV1Api: the reads and the two merge-patch writes the handoff needs.
import {
  ApiException,
  AuthorizationV1Api,
  BatchV1Api,
  PatchStrategy,
  VersionApi,
  setHeaderOptions,
  type V1CronJob,
  type V1Job,
} from '@kubernetes/client-node';
import type { ClusterConfig, Environment } from '../../config/types.js';
import type { AccessCheck, AccessVerdict, ClusterPort } from '../../core/ports.js';
import type { CronJobRef, CronJobSelector, ObservedCronJob, ObservedJob } from '../../core/types.js';
import { connectCluster, lazyConnection, makeApiClient, type ClusterConnection } from './client.js';
import { jobOutcome, toObservedCronJob, toObservedJob } from './convert.js';
import { KubernetesFence } from './fence.js';
import type { Operation } from './errors.js';
import { addActivePatch, jobForTick } from './jobs.js';
import { lastScheduleTimePatch, suspendPatch } from './patches.js';
import { callOptions, defaultRequestPolicy, listAll, pageParams, read, write, type RequestPolicy } from './request.js';

export interface ClusterOptions {
  policy?: RequestPolicy;
  /** LIST page size: bounded responses even in namespaces with thousands of Jobs. */
  pageSize?: number;
}

const DEFAULT_PAGE_SIZE = 250;

interface Apis {
  server: string;
  batch: BatchV1Api;
  version: VersionApi;
  authorization: AuthorizationV1Api;
}

const mergePatch = (): ReturnType<typeof setHeaderOptions> => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class KubernetesCluster implements ClusterPort {
  private clients: { from: ClusterConnection; apis: Apis } | undefined;

  private readonly policy: RequestPolicy;
  private readonly pageSize: number;
  readonly fence: KubernetesFence;

  constructor(
    readonly name: string,
    private readonly connection: () => Promise<ClusterConnection>,
    options: ClusterOptions = {},
  ) {
    this.policy = options.policy ?? defaultRequestPolicy;
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    this.fence = new KubernetesFence(name, connection, this.policy);
  }

  private async apis(): Promise<Apis> {
    const connection = await this.connection();
    if (this.clients?.from !== connection) {
      const { kubeConfig, server } = connection;
      const apis = {
        server,
        batch: makeApiClient(kubeConfig, BatchV1Api),
        version: makeApiClient(kubeConfig, VersionApi),
        authorization: makeApiClient(kubeConfig, AuthorizationV1Api),
      };
      this.clients = { from: connection, apis };
    }
    return this.clients.apis;
  }

  private op(server: string, verb: string, resource: string, ref?: Partial<CronJobRef>): Operation {
    return { cluster: this.name, server, verb, resource, group: resource === '/version' ? undefined : 'batch', ...ref };
  }

  async version(): Promise<string> {
    const { server, version } = await this.apis();
    const op = { cluster: this.name, server, verb: 'get', resource: '/version' };
    const info = await read(op, this.policy, () => version.getCode(callOptions(this.policy)));
    return info.gitVersion;
  }

  async listCronJobs(selector: CronJobSelector): Promise<ObservedCronJob[]> {
    const perNamespace = await Promise.all(selector.namespaces.map((ns) => this.listCronJobsIn(ns, selector.labelSelector)));
    return perNamespace.flat();
  }

  private async listCronJobsIn(namespace: string, labelSelector: string | undefined): Promise<ObservedCronJob[]> {
    const { server, batch } = await this.apis();
    const op = this.op(server, 'list', 'cronjobs', { namespace });
    const items = await listAll<V1CronJob>((token) =>
      read(op, this.policy, () =>
        batch.listNamespacedCronJob(
          { namespace, ...pageParams(this.pageSize, token), ...(labelSelector ? { labelSelector } : {}) },
          callOptions(this.policy),
        ),
      ),
    );
    return items.map(toObservedCronJob);
  }

  async getCronJob(ref: CronJobRef): Promise<ObservedCronJob | undefined> {
    const { server, batch } = await this.apis();
    const op = this.op(server, 'get', 'cronjobs', ref);
    const found = await read(op, this.policy, async () => {
      try {
        return await batch.readNamespacedCronJob({ name: ref.name, namespace: ref.namespace }, callOptions(this.policy));
      } catch (error) {
        if (error instanceof ApiException && error.code === 404) return undefined;
        throw error;
      }
    });
    return found ? toObservedCronJob(found) : undefined;
  }

  async setSuspend(ref: CronJobRef, suspend: boolean): Promise<ObservedCronJob> {
    const { server, batch } = await this.apis();
    const op = this.op(server, 'patch', 'cronjobs', ref);
    const stored = await write(
      op,
      () =>
        batch.patchNamespacedCronJob(
          { name: ref.name, namespace: ref.namespace, body: suspendPatch(suspend) },
          callOptions(this.policy, mergePatch()),
        ),
      this.policy,
      { applied: () => this.readBackIf(ref, (cronJob) => (cronJob.spec?.suspend ?? false) === suspend) },
    );
    return toObservedCronJob(stored);
  }

  async setLastScheduleTime(ref: CronJobRef, time: string): Promise<ObservedCronJob> {
    const { server, batch } = await this.apis();
    const op = this.op(server, 'patch', 'cronjobs/status', ref);
    const stored = await write(
      op,
      () =>
        batch.patchNamespacedCronJobStatus(
          { name: ref.name, namespace: ref.namespace, body: lastScheduleTimePatch(time) },
          callOptions(this.policy, mergePatch()),
        ),
      this.policy,
      { applied: () => this.readBackIf(ref, (cronJob) => sameInstant(cronJob.status?.lastScheduleTime, time)) },
    );
    return toObservedCronJob(stored);
  }

  async startJobForTick(ref: CronJobRef, tick: string): Promise<{ job: ObservedJob; created: boolean }> {
    const { server, batch } = await this.apis();
    const cronJob = await this.readRaw(ref);
    const body = jobForTick(cronJob, Date.parse(tick));
    const name = body.metadata!.name!;
    const op = this.op(server, 'create', 'jobs', { namespace: ref.namespace, name });
    let created = true;
    // AlreadyExists (409) or an unclear answer is followed by a read: a Job of that name is that tick's Job,
    // started by a crashed attempt or by the controller; it is never created twice.
    const job = await write(op, () => batch.createNamespacedJob({ namespace: ref.namespace, body }, callOptions(this.policy)), this.policy, {
      applied: async () => {
        const found = await this.readJob(ref.namespace, name);
        if (found) created = false;
        return found;
      },
    });
    if (toObservedJob(job).ownerUid === cronJob.metadata?.uid) await this.listAsActive(ref, cronJob, job);
    return { job: toObservedJob(job), created };
  }

  private async readRaw(ref: CronJobRef): Promise<V1CronJob> {
    const { server, batch } = await this.apis();
    const op = this.op(server, 'get', 'cronjobs', ref);
    return read(op, this.policy, () => batch.readNamespacedCronJob({ name: ref.name, namespace: ref.namespace }, callOptions(this.policy)));
  }

  private async readJob(namespace: string, name: string): Promise<V1Job | undefined> {
    const { server, batch } = await this.apis();
    const op = this.op(server, 'get', 'jobs', { namespace, name });
    return read(op, this.policy, async () => {
      try {
        return await batch.readNamespacedJob({ name, namespace }, callOptions(this.policy));
      } catch (error) {
        if (error instanceof ApiException && error.code === 404) return undefined;
        throw error;
      }
    });
  }

  /**
   * Adds the Job to status.active unless it finished or is listed. The patch carries the resourceVersion it
   * was computed from: on a conflict (the controller wrote the status meanwhile) it is read and computed again.
   */
  private async listAsActive(ref: CronJobRef, first: V1CronJob, job: V1Job): Promise<void> {
    if (jobOutcome(job.status?.conditions) !== undefined) return;
    const { server, batch } = await this.apis();
    const op = this.op(server, 'patch', 'cronjobs/status', ref);
    let cronJob = first;
    await write(
      op,
      async () => {
        const patch = addActivePatch(cronJob, job);
        if (patch === undefined) return cronJob;
        return batch.patchNamespacedCronJobStatus({ name: ref.name, namespace: ref.namespace, body: patch }, callOptions(this.policy, mergePatch()));
      },
      this.policy,
      {
        applied: async () => {
          cronJob = await this.readRaw(ref);
          return addActivePatch(cronJob, job) === undefined ? cronJob : undefined;
        },
      },
    );
  }

  /**
   * After a write whose answer failed or was lost: the CronJob as stored when `applied` holds for it,
   * undefined when the write did not apply (so it is sent again). A CronJob gone meanwhile is a 404 halt.
   */
  private async readBackIf(ref: CronJobRef, applied: (cronJob: V1CronJob) => boolean): Promise<V1CronJob | undefined> {
    const { server, batch } = await this.apis();
    const op = this.op(server, 'get', 'cronjobs', ref);
    const stored = await read(op, this.policy, () => batch.readNamespacedCronJob({ name: ref.name, namespace: ref.namespace }, callOptions(this.policy)));
    return applied(stored) ? stored : undefined;
  }

  async canI(checks: AccessCheck[]): Promise<AccessVerdict[]> {
    const { server, authorization } = await this.apis();
    const op = { cluster: this.name, server, verb: 'create', resource: 'selfsubjectaccessreviews', group: 'authorization.k8s.io' };
    // A review is a question, not a change (nothing is stored), so it is retried like a read.
    return Promise.all(
      checks.map(async (check) => {
        const review = await read(op, this.policy, () =>
          authorization.createSelfSubjectAccessReview(
            {
              body: {
                apiVersion: 'authorization.k8s.io/v1',
                kind: 'SelfSubjectAccessReview',
                spec: { resourceAttributes: { ...check } },
              },
            },
            callOptions(this.policy),
          ),
          true,
        );
        const { allowed, reason } = review.status ?? { allowed: false };
        return { allowed, ...(reason ? { reason } : {}) };
      }),
    );
  }

  async listJobs(namespace: string, ownerUid?: string): Promise<ObservedJob[]> {
    const { server, batch } = await this.apis();
    const op = this.op(server, 'list', 'jobs', { namespace });
    const items = await listAll<V1Job>((token) =>
      read(op, this.policy, () =>
        batch.listNamespacedJob({ namespace, ...pageParams(this.pageSize, token) }, callOptions(this.policy)),
      ),
    );
    // Ownership lives only in the controller ownerReference (no label to select on), so filter here.
    const jobs = items.map(toObservedJob);
    return ownerUid === undefined ? jobs : jobs.filter((job) => job.ownerUid === ownerUid);
  }
}

/** client-node hands times back as Date (or the server's text): compare the instants. */
function sameInstant(value: Date | string | undefined, time: string): boolean {
  if (value === undefined || value === null) return false;
  return new Date(value).getTime() === new Date(time).getTime();
}

/**
 * The ClusterPort of one environment cluster. Nothing is read or dialled until the first call, so a plan
 * that never touches a cluster does not need it reachable.
 */
export function createClusterPort(name: string, config: ClusterConfig, env: Environment, envFile: string, options: ClusterOptions = {}): ClusterPort {
  return new KubernetesCluster(name, lazyConnection(() => connectCluster(name, config, env, envFile)), options);
}
