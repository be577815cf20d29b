// The Job cutover starts for a tick the handoff ran late: the object the CronJob controller itself would
// create for that tick, so the two can never both start it on one cluster (same name: the second create is
// AlreadyExists), the controller counts it as its own (controller ownerReference) and every tool that reads
// the scheduled-timestamp annotation sees which tick it ran. Pure builders; cluster.ts sends them.
import type { V1CronJob, V1Job, V1ObjectReference } from '@kubernetes/client-node';
import { rfc3339InZone } from '../../plan/zone.js';
import { SCHEDULED_TIMESTAMP_ANNOTATION, STARTED_BY_ANNOTATION } from './convert.js';

/** `<cronjob>-<tick in minutes since the epoch>`, the controller's deterministic name. */
export const jobNameForTick = (cronJobName: string, tickMs: number): string => `${cronJobName}-${Math.floor(tickMs / 60_000)}`;

export function jobForTick(cronJob: V1CronJob, tickMs: number): V1Job {
  const meta = cronJob.metadata!;
  const template = cronJob.spec!.jobTemplate;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobNameForTick(meta.name!, tickMs),
      namespace: meta.namespace!,
      labels: { ...(template.metadata?.labels ?? {}) },
      annotations: {
        ...(template.metadata?.annotations ?? {}),
        [SCHEDULED_TIMESTAMP_ANNOTATION]: rfc3339InZone(tickMs, cronJob.spec!.timeZone),
        [STARTED_BY_ANNOTATION]: 'cutover',
      },
      ownerReferences: [
        {
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          name: meta.name!,
          uid: meta.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: structuredClone(template.spec!),
  };
}

/** The entry status.active holds for a Job, as the controller writes it. */
export function activeReference(job: V1Job): V1ObjectReference {
  const meta = job.metadata!;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    namespace: meta.namespace!,
    name: meta.name!,
    uid: meta.uid!,
    resourceVersion: meta.resourceVersion!,
  };
}

/**
 * Merge patch of cronjobs/status adding `job` to status.active, guarded by the resourceVersion it was
 * computed from (a merge patch replaces the whole list, so a concurrent change must fail, not be lost).
 * Undefined when the list holds it already.
 */
export function addActivePatch(cronJob: V1CronJob, job: V1Job): object | undefined {
  const active = cronJob.status?.active ?? [];
  if (active.some((ref) => ref.uid === job.metadata?.uid)) return undefined;
  return {
    metadata: { resourceVersion: cronJob.metadata!.resourceVersion! },
    status: { active: [...active, activeReference(job)] },
  };
}
