// Hand-built inputs for unit tests of the planner and whatever reads plans: CronJobs, Jobs, weighted
// records, observations and loaded runbooks with sensible defaults, every field overridable.
import type { WeightedRecord } from '../../src/core/ports.js';
import type { ObservedCronJob, ObservedJob } from '../../src/core/types.js';
import type { CronJobsSection, Environment, LoadedRunbook, Runbook, Step } from '../../src/config/types.js';
import type { Observation } from '../../src/plan/types.js';

export const SOURCE = 'blue';
export const TARGET = 'green';

/**
 * A CronJob as an adapter reports it. `cluster` only shapes the default uid, so the two copies of one
 * CronJob get different uids as on two real clusters.
 */
export function cronJob(fields: Partial<ObservedCronJob> & { cluster?: string } = {}): ObservedCronJob {
  const { cluster = SOURCE, ...rest } = fields;
  const namespace = rest.namespace ?? 'billing';
  const name = rest.name ?? 'invoices';
  return {
    namespace,
    name,
    uid: `${cluster}-${namespace}-${name}`,
    resourceVersion: '1',
    creationTimestamp: '2025-01-01T00:00:00Z',
    schedule: '*/15 * * * *',
    suspend: false,
    concurrencyPolicy: 'Forbid',
    images: ['registry.example/billing:1.0'],
    labels: { team: 'billing' },
    annotations: {},
    ...rest,
  };
}

/** The same CronJob on the source (enabled) and the target (suspended), ready to move. */
export function copies(
  fields: Partial<ObservedCronJob> = {},
  target: Partial<ObservedCronJob> = {},
): { source: ObservedCronJob; target: ObservedCronJob } {
  return {
    source: cronJob({ ...fields, cluster: SOURCE }),
    target: cronJob({ suspend: true, ...fields, ...target, cluster: TARGET }),
  };
}

/** A Job of `owner` (its controller); unfinished unless `outcome` is given. */
export function job(owner: ObservedCronJob, fields: Partial<ObservedJob> = {}): ObservedJob {
  const name = fields.name ?? `${owner.name}-29000000`;
  return {
    namespace: owner.namespace,
    name,
    uid: `job-${owner.uid}-${name}`,
    ownerUid: owner.uid,
    ownerName: owner.name,
    creationTimestamp: '2025-01-01T00:00:00Z',
    ...fields,
  };
}

export function weightedRecord(setIdentifier: string, weight: number, fields: Partial<WeightedRecord> = {}): WeightedRecord {
  return { name: 'api.example.com.', type: 'A', setIdentifier, weight, ttl: 60, raw: { SetIdentifier: setIdentifier, Weight: weight }, ...fields };
}

type Side = Partial<Observation['source']>;

export function observation(fields: { observedAt?: string; source?: Side; target?: Side; dns?: Observation['dns'] } = {}): Observation {
  const side = (cluster: string, given: Side | undefined): Observation['source'] => ({
    cluster,
    version: 'v1.34.4',
    cronJobs: [],
    jobs: [],
    ...given,
  });
  return {
    observedAt: fields.observedAt ?? '2025-06-02T10:07:00.000Z',
    from: SOURCE,
    to: TARGET,
    source: side(SOURCE, fields.source),
    target: side(TARGET, fields.target),
    ...(fields.dns ? { dns: fields.dns } : {}),
  };
}

export function environment(fields: Partial<Environment> = {}): Environment {
  return {
    apiVersion: 'cutover.dev/v1',
    kind: 'Environment',
    name: 'lab',
    clusters: { [SOURCE]: { kubeconfig: { context: 'lab-blue' } }, [TARGET]: { kubeconfig: { context: 'lab-green' } } },
    allowNonInteractiveApproval: false,
    ...fields,
  };
}

/** The environment's DNS section with one weighted group whose SetIdentifiers are the cluster names. */
export function dnsSection(fields: Partial<NonNullable<Environment['dns']>> = {}): NonNullable<Environment['dns']> {
  return {
    hostedZoneId: 'Z123',
    maxRequestsPerSecond: 2,
    records: [{ name: 'api.example.com.', type: 'A', setIdentifiers: { [SOURCE]: SOURCE, [TARGET]: TARGET } }],
    ...fields,
  };
}

export function cronJobsSection(fields: Partial<CronJobsSection> = {}): CronJobsSection {
  return {
    namespaces: ['billing'],
    exclude: [],
    running: 'wait',
    drainTimeoutMs: 600_000,
    missedRuns: 'skip',
    missedRunsLimit: 10,
    concurrency: 5,
    ...fields,
  };
}

export const DEFAULT_STEPS: Step[] = [{ kind: 'preflight' }, { kind: 'moveCronJobs' }];

export function loadedRunbook(
  fields: { runbook?: Partial<Runbook>; cronjobs?: Partial<CronJobsSection>; steps?: Step[]; environment?: Partial<Environment> } = {},
): LoadedRunbook {
  const runbook: Runbook = {
    apiVersion: 'cutover.dev/v1',
    kind: 'Runbook',
    name: 'blue-to-green',
    environment: '../config/lab.yaml',
    from: SOURCE,
    to: TARGET,
    onFailure: 'halt',
    cronjobs: cronJobsSection(fields.cronjobs),
    steps: fields.steps ?? DEFAULT_STEPS,
    ...fields.runbook,
  };
  return {
    runbook,
    runbookFile: 'workflows/blue-to-green.yaml',
    environment: environment(fields.environment),
    environmentFile: 'config/lab.yaml',
  };
}
