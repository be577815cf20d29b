// `cutover rehearse`: the runbook simulated from the LIVE state of the real environment. Both clusters and
// Route 53 are read once (read-only, through the real ports and the planner's observe), that state seeds
// a sandbox, and the runbook runs there on the virtual clock. The report predicts which ticks fall inside
// the handoff windows, how long the run takes and where it would stop. Nothing is written anywhere real.
import { formatDuration } from '../../core/duration.js';
import type { Environment, LoadedRunbook } from '../../config/types.js';
import type { Ports, WeightedRecord } from '../../core/ports.js';
import { jobFinished, type ObservedCronJob, type ObservedJob } from '../../core/types.js';
import type { Observation } from '../../plan/types.js';
import type { SandboxConfig, SandboxCronJob } from './config.js';
import { scheduleFields } from './cluster.js';
import { planMessages, planner } from './planner.js';
import { runSandboxRollback, simulate, type SandboxRunOptions, type SandboxRunOutcome } from './run.js';

export interface SeedOptions {
  /** How much longer a Job running at observation time is assumed to run; default: half the drainTimeout. */
  runningJobRemainingMs?: number;
  /** How long each simulated Job runs (the live clusters do not say); default 30 s. */
  jobDurationMs?: number;
  /** How long approvers are assumed to take; default 3 min. */
  approvalAfterMs?: number;
}

const DEFAULT_JOB_MS = 30_000;
const DEFAULT_APPROVAL_MS = 180_000;

const seconds = (ms: number): string => `${Math.max(0, Math.round(ms / 1000))}s`;

/** The sandbox world of a live observation: the same CronJobs, running Jobs and weights, at the same instant. Pure. */
export function seedFromObservation(observation: Observation, loaded: LoadedRunbook, options: SeedOptions = {}): SandboxConfig {
  const remainingMs = options.runningJobRemainingMs ?? Math.round(loaded.runbook.cronjobs.drainTimeoutMs / 2);
  const jobMs = options.jobDurationMs ?? DEFAULT_JOB_MS;
  const approvalMs = options.approvalAfterMs ?? DEFAULT_APPROVAL_MS;
  const side = (s: Observation['source']) => ({
    version: s.version ?? 'v1.34.4',
    cronjobs: s.cronJobs.map((cj) => seedCronJob(cj, s.jobs, { remaining: seconds(remainingMs), duration: seconds(jobMs) })),
  });
  const running = [...observation.source.jobs, ...observation.target.jobs].filter((j) => !jobFinished(j)).length;
  const records = dnsRecords(observation.dns);
  return {
    seed: 1,
    start: observation.observedAt,
    observeAfter: '2m',
    notes: [
      `seeded from the live state of ${loaded.environment.name} observed at ${observation.observedAt} (read-only)`,
      `each simulated Job runs ${formatDuration(jobMs)}; ${running} Job(s) running at observation time are assumed to run ${formatDuration(remainingMs)} more`,
      `approvals are assumed to be given ${formatDuration(approvalMs)} after they are asked; http and command gates are assumed healthy, other gates look at a healthy simulated world`,
      ...(records.skipped > 0 ? [`${records.skipped} DNS record(s) without a weight were left out of the simulated zone`] : []),
    ],
    clusters: { [observation.from]: side(observation.source), [observation.to]: side(observation.target) },
    ...(observation.dns ? { dns: { insyncAfter: '40s', maxRequestsPerSecond: 5, records: records.records } } : {}),
    gates: {},
    approvals: { decision: 'approve', after: seconds(approvalMs), reason: 'rehearsal says no', steps: {} },
  };
}

function seedCronJob(cj: ObservedCronJob, jobs: ObservedJob[], assumed: { remaining: string; duration: string }): SandboxCronJob {
  const running = jobs.filter((j) => j.ownerUid === cj.uid && j.namespace === cj.namespace && !jobFinished(j));
  return {
    ...scheduleFields(cj),
    jobDuration: assumed.duration,
    jobOutcome: 'Complete',
    creationTimestamp: cj.creationTimestamp,
    ...(cj.lastScheduleTime !== undefined ? { lastScheduleTime: cj.lastScheduleTime } : {}),
    runningJobs: running.map((j) => ({ scheduledTime: j.scheduledTime ?? j.creationTimestamp, remaining: assumed.remaining })),
    labels: { ...cj.labels },
    annotations: { ...cj.annotations },
    images: [...cj.images],
  };
}

type SeedRecord = NonNullable<SandboxConfig['dns']>['records'][number];

function dnsRecords(dns: Observation['dns']): { records: SeedRecord[]; skipped: number } {
  const all = Object.values(dns ?? {}).flat();
  const weighted = all.filter((r) => r.setIdentifier !== '' && Number.isInteger(r.weight));
  return {
    records: weighted.map((r) => ({ name: r.name, type: r.type, setIdentifier: r.setIdentifier, weight: r.weight, ttl: r.ttl ?? 60, values: valuesOf(r) })),
    skipped: all.length - weighted.length,
  };
}

/** The record's values when the adapter kept them (ResourceRecords of a Route 53 record set), for the report. */
function valuesOf(record: WeightedRecord): string[] {
  const raw = record.raw as { ResourceRecords?: { Value?: string }[]; AliasTarget?: { DNSName?: string }; values?: string[] } | undefined;
  if (raw?.values) return [...raw.values];
  if (raw?.AliasTarget?.DNSName) return [`ALIAS ${raw.AliasTarget.DNSName}`];
  return (raw?.ResourceRecords ?? []).map((v) => v.Value ?? '').filter((v) => v !== '');
}

/**
 * The environment a rehearsal runs in: the real one's names, DNS groups and approvers, with every cluster
 * simulated, the sandbox world set, and no state section (runs are kept in memory).
 */
export function sandboxEnvironmentOf(environment: Environment, config: SandboxConfig): Environment {
  const { state: _state, ...rest } = environment;
  return {
    ...rest,
    clusters: Object.fromEntries(Object.keys(environment.clusters).map((name) => [name, { sandbox: {} }])),
    sandbox: config as unknown as Record<string, unknown>,
  };
}

export interface RehearseOptions extends SandboxRunOptions, SeedOptions {
  /** The real ports to observe through; by default the environment's (createPorts). */
  ports?: Ports;
  /** Observation instant; now by default. */
  now?: Date;
  /** Rehearse the run, then its rollback (`rehearse --rollback`). */
  rollback?: boolean;
}

/** Observes the real environment (reads only), seeds a sandbox from it and simulates the runbook. */
export async function rehearse(loaded: LoadedRunbook, options: RehearseOptions): Promise<SandboxRunOutcome> {
  // An environment that is already simulated is rehearsed by running it.
  if (loaded.environment.sandbox !== undefined) {
    return options.rollback ? runSandboxRollback(loaded, options) : simulate(loaded, options, { planner, refuseOnPlanErrors: false });
  }
  const ports = options.ports ?? (await realPorts(loaded));
  const observation = await planner.observe(loaded, ports, options.now ?? new Date());
  const livePlan = planner.buildPlan(observation, loaded);
  const config = seedFromObservation(observation, loaded, options);
  const simulated: LoadedRunbook = { ...loaded, environment: sandboxEnvironmentOf(loaded.environment, config) };
  if (options.rollback) return runSandboxRollback(simulated, options);
  return simulate(simulated, options, { planner, refuseOnPlanErrors: false, planMessages: planMessages(livePlan) });
}

async function realPorts(loaded: LoadedRunbook): Promise<Ports> {
  const { createPorts } = await import('../index.js');
  return createPorts(loaded);
}
