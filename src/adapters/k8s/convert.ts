// Turns client-node objects into the shapes the rest of cutover understands. Pure: no I/O, no clients.
import type { V1CronJob, V1CronJobSpec, V1Job, V1JobCondition, V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import type {
  ConcurrencyPolicy,
  JobOutcome,
  ManagedBy,
  ObservedCronJob,
  ObservedJob,
} from '../../core/types.js';

/** The tick a Job was started for, set by the CronJob controller (GA in Kubernetes 1.32). */
export const SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

/** Marks a Job cutover started itself for a tick its handoff ran late. */
export const STARTED_BY_ANNOTATION = 'cutover.dev/started-by';

/** client-node deserialises timestamps to Date; tolerate strings so hand-built objects convert the same. */
export function toIso(value: Date | string | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function describe(meta: V1ObjectMeta | undefined, kind: string): string {
  return `${kind} ${meta?.namespace ?? '?'}/${meta?.name ?? '?'}`;
}

/** Fields the API server always sets; their absence means the object did not come from a server. */
function required<T>(value: T | undefined, field: string, what: string): T {
  if (value === undefined || value === null) throw new Error(`${what} has no ${field}`);
  return value;
}

/**
 * Which tool would undo a suspend on its next sync. Argo CD and Flux render Helm charts too, so their
 * marks win over Helm's: the controller that re-applies the object is the one the operator must pause.
 */
export function detectManagedBy(
  labels: Record<string, string>,
  annotations: Record<string, string>,
): ManagedBy | undefined {
  if (labels['argocd.argoproj.io/instance'] !== undefined || annotations['argocd.argoproj.io/tracking-id'] !== undefined) {
    return 'argocd';
  }
  if (labels['kustomize.toolkit.fluxcd.io/name'] !== undefined || labels['helm.toolkit.fluxcd.io/name'] !== undefined) {
    return 'flux';
  }
  if (labels['app.kubernetes.io/managed-by'] === 'Helm' || annotations['meta.helm.sh/release-name'] !== undefined) {
    return 'helm';
  }
  return undefined;
}

const CONCURRENCY_POLICIES: readonly string[] = ['Allow', 'Forbid', 'Replace'];

function concurrencyPolicy(value: string | undefined): ConcurrencyPolicy {
  // The API server defaults the field to Allow; an unknown value cannot pass its validation.
  return value !== undefined && CONCURRENCY_POLICIES.includes(value) ? (value as ConcurrencyPolicy) : 'Allow';
}

export function toObservedCronJob(cronJob: V1CronJob): ObservedCronJob {
  const meta = cronJob.metadata ?? {};
  const what = describe(meta, 'CronJob');
  const spec = required(cronJob.spec, 'spec', what);
  const labels = { ...meta.labels };
  const annotations = { ...meta.annotations };
  const observed: ObservedCronJob = {
    ...identityOf(meta, what),
    resourceVersion: required(meta.resourceVersion, 'metadata.resourceVersion', what),
    creationTimestamp: required(toIso(meta.creationTimestamp), 'metadata.creationTimestamp', what),
    schedule: spec.schedule,
    suspend: spec.suspend === true,
    concurrencyPolicy: concurrencyPolicy(spec.concurrencyPolicy),
    images: imagesOf(spec),
    labels,
    annotations,
  };
  const status = cronJob.status ?? {};
  setIfDefined(observed, 'timeZone', spec.timeZone);
  setIfDefined(observed, 'startingDeadlineSeconds', spec.startingDeadlineSeconds);
  setIfDefined(observed, 'lastScheduleTime', toIso(status.lastScheduleTime));
  setIfDefined(observed, 'lastSuccessfulTime', toIso(status.lastSuccessfulTime));
  setIfDefined(observed, 'managedBy', detectManagedBy(labels, annotations));
  return observed;
}

/** The fields every object carries, required. */
function identityOf(meta: V1ObjectMeta, what: string): { namespace: string; name: string; uid: string } {
  return {
    namespace: required(meta.namespace, 'metadata.namespace', what),
    name: required(meta.name, 'metadata.name', what),
    uid: required(meta.uid, 'metadata.uid', what),
  };
}

function imagesOf(spec: V1CronJobSpec): string[] {
  const containers = spec.jobTemplate?.spec?.template?.spec?.containers ?? [];
  return containers.map((c) => c.image ?? '');
}

/** Optional fields stay absent rather than `undefined`, so observations compare and serialise cleanly. */
function setIfDefined<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined | null): void {
  if (value !== undefined && value !== null) target[key] = value;
}

/** The controller reference of kind CronJob; the CronJob controller adds no label, only this. */
export function controllingCronJob(refs: V1OwnerReference[] | undefined): V1OwnerReference | undefined {
  return refs?.find((ref) => ref.controller === true && ref.kind === 'CronJob');
}

/**
 * A Job is finished only once Complete or Failed is True. SuccessCriteriaMet and FailureTarget come first
 * while pods are still terminating, so they must not count as an outcome.
 */
export function jobOutcome(conditions: V1JobCondition[] | undefined): JobOutcome | undefined {
  for (const condition of conditions ?? []) {
    if (condition.status !== 'True') continue;
    if (condition.type === 'Complete' || condition.type === 'Failed') return condition.type;
  }
  return undefined;
}

export function toObservedJob(job: V1Job): ObservedJob {
  const meta = job.metadata ?? {};
  const what = describe(meta, 'Job');
  const owner = controllingCronJob(meta.ownerReferences);
  const annotations = meta.annotations ?? {};
  const observed: ObservedJob = {
    ...identityOf(meta, what),
    creationTimestamp: required(toIso(meta.creationTimestamp), 'metadata.creationTimestamp', what),
  };
  setIfDefined(observed, 'ownerUid', owner?.uid);
  setIfDefined(observed, 'ownerName', owner?.name);
  setIfDefined(observed, 'scheduledTime', toIso(annotations[SCHEDULED_TIMESTAMP_ANNOTATION]));
  setIfDefined(observed, 'startedBy', annotations[STARTED_BY_ANNOTATION] === 'cutover' ? 'cutover' : undefined);
  setIfDefined(observed, 'outcome', jobOutcome(job.status?.conditions));
  return observed;
}
