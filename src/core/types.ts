// What cutover observes of the world. Adapters fill these in; the planner, the machine and the sandbox
// only ever see these shapes, never SDK objects.

export type ConcurrencyPolicy = 'Allow' | 'Forbid' | 'Replace';

export interface CronJobRef {
  namespace: string;
  name: string;
}

export const refKey = (ref: CronJobRef): string => `${ref.namespace}/${ref.name}`;

/** Tools whose sync can undo a suspend (a helm upgrade, an Argo CD or Flux sync). */
export type ManagedBy = 'helm' | 'argocd' | 'flux';

export interface ObservedCronJob extends CronJobRef {
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  schedule: string;
  timeZone?: string;
  suspend: boolean;
  startingDeadlineSeconds?: number;
  concurrencyPolicy: ConcurrencyPolicy;
  /** status.lastScheduleTime, ISO-8601. */
  lastScheduleTime?: string;
  lastSuccessfulTime?: string;
  /** Container images of the Job template, in order. */
  images: string[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  managedBy?: ManagedBy;
}

export type JobOutcome = 'Complete' | 'Failed';

export interface ObservedJob {
  namespace: string;
  name: string;
  uid: string;
  /** UID of the controlling CronJob (controller ownerReference of kind CronJob). */
  ownerUid?: string;
  ownerName?: string;
  /** Annotation batch.kubernetes.io/cronjob-scheduled-timestamp: the tick this Job is for (ISO). */
  scheduledTime?: string;
  creationTimestamp: string;
  /** `cutover` when cutover started this Job for a tick its handoff ran late (annotation cutover.dev/started-by). */
  startedBy?: 'cutover';
  /** Set only when condition Complete or Failed is True. SuccessCriteriaMet/FailureTarget do not count. */
  outcome?: JobOutcome;
}

export const jobFinished = (job: ObservedJob): boolean => job.outcome !== undefined;

export interface CronJobSelector {
  namespaces: string[];
  /** Kubernetes label selector string, e.g. `team=billing,tier!=dev`. */
  labelSelector?: string;
}
