// The built-in sandbox: every port of a run, simulated in memory on one virtual clock, built from the
// environment's `sandbox:` section. The engine and the step executors are the same as in a real run; only
// the ports, the clock and the state store differ. Nothing here reaches a real system.
import type { LoadedRunbook } from '../../config/types.js';
import { parseDuration } from '../../core/duration.js';
import type { AlarmsPort, HealthChecksPort, Ports, WorkloadsPort } from '../../core/ports.js';
import { refKey } from '../../core/types.js';
import type { StateStore } from '../../engine/store.js';
import type { PlanMessage } from '../../plan/types.js';
import type { JournalEntry } from '../../steps/types.js';
import { ScriptedApprovals } from './approvals.js';
import { VirtualClock } from './clock.js';
import { SimulatedCluster, scheduleFields } from './cluster.js';
import type { SandboxConfig, SandboxCronJob } from './config.js';
import { SimulatedZone, throttledDnsPort, type SimRecord } from './dns.js';
import { ScriptedGates } from './gates.js';
import { seededRandom } from './random.js';
import { buildReport, type RehearsalReport, type ReportCronJob } from './report.js';
import { createSandboxStore } from './store.js';
import { parseSandboxConfig } from './validate.js';

export { parseSandboxConfig } from './validate.js';
export type { RehearsalReport } from './report.js';

export interface FinishDetails {
  /** Why the run stopped, when it did not finish. */
  message?: string;
  /** The plan's messages, shown at the top of the report. */
  planMessages?: PlanMessage[];
}

export interface Sandbox {
  ports: Ports;
  clock: VirtualClock;
  /** Virtual time at which the sandbox world starts. */
  start: Date;
  config: SandboxConfig;
  clusters: Record<string, SimulatedCluster>;
  zone?: SimulatedZone;
  /** In-memory run store: the engine's state never touches disk in a rehearsal. */
  store: StateStore;
  /** Lets the world run `observeAfter` more (the target's next ticks), then reports what happened. */
  finish(status: string, journal: JournalEntry[], details?: FinishDetails): Promise<RehearsalReport>;
}

const DEFAULT_INSYNC_AFTER_MS = 40_000;
const DEFAULT_ZONE_REQUESTS_PER_SECOND = 5;
const DEFAULT_CLIENT_REQUESTS_PER_SECOND = 2;

const ms = (text: string): number => parseDuration(text) ?? 0;

export function createSandbox(loaded: LoadedRunbook): Sandbox {
  const config = parseSandboxConfig(loaded);
  const start = new Date(config.start);
  const clock = new VirtualClock(start);
  const random = seededRandom(config.seed);
  const clusters = simulatedClusters(loaded, config, clock);
  const zone = simulatedZone(loaded, config, clock);
  const ports: Ports = {
    clusters: { ...clusters },
    ...(zone
      ? { dns: throttledDnsPort(zone, clock, { maxRequestsPerSecond: loaded.environment.dns?.maxRequestsPerSecond ?? DEFAULT_CLIENT_REQUESTS_PER_SECOND, random }) }
      : {}),
    approvals: {
      slack: new ScriptedApprovals(clock, config.approvals, true),
      terminal: new ScriptedApprovals(clock, config.approvals, false),
      auto: new ScriptedApprovals(clock, config.approvals, false),
    },
    alarms: healthyAlarms,
    healthChecks: healthyHealthChecks,
    workloads: Object.fromEntries(Object.keys(clusters).map((name) => [name, healthyWorkloads])),
    scriptedGates: new ScriptedGates(config.gates),
  };
  const store = createSandboxStore(clock);
  const finish = async (status: string, journal: JournalEntry[], details: FinishDetails = {}): Promise<RehearsalReport> => {
    await clock.sleep(ms(config.observeAfter));
    return reportOf(loaded, config, { clock, clusters, zone, start }, status, journal, details);
  };
  return { ports, clock, start, config, clusters, ...(zone ? { zone } : {}), store, finish };
}

/** The ports of a fresh sandbox, for `createPorts`. A run must use the sandbox's clock: see runSandbox. */
export function createSandboxPorts(loaded: LoadedRunbook): Ports {
  return createSandbox(loaded).ports;
}

function simulatedClusters(loaded: LoadedRunbook, config: SandboxConfig, clock: VirtualClock): Record<string, SimulatedCluster> {
  const clusters: Record<string, SimulatedCluster> = {};
  Object.keys(loaded.environment.clusters).forEach((name, index) => {
    const world = config.clusters[name];
    // One generator per cluster, so adding a CronJob to one cluster does not change the other's jitter.
    const cluster = new SimulatedCluster(name, clock, { version: world?.version ?? 'v1.34.4', random: seededRandom(config.seed * 7919 + index) });
    for (const cronJob of world?.cronjobs ?? []) seedCronJob(cluster, cronJob);
    clusters[name] = cluster;
  });
  return clusters;
}

function seedCronJob(cluster: SimulatedCluster, cj: SandboxCronJob): void {
  const observed = cluster.addCronJob({
    ...scheduleFields(cj),
    jobSeconds: ms(cj.jobDuration) / 1000,
    ...(cj.jobJitter !== undefined ? { jobJitterSeconds: ms(cj.jobJitter) / 1000 } : {}),
    jobOutcome: cj.jobOutcome,
    ...(cj.creationTimestamp !== undefined ? { creationTimestamp: new Date(cj.creationTimestamp).toISOString() } : {}),
    ...(cj.lastScheduleTime !== undefined ? { lastScheduleTime: new Date(cj.lastScheduleTime).toISOString() } : {}),
    labels: cj.labels,
    annotations: cj.annotations,
    ...(cj.images ? { images: cj.images } : {}),
  });
  for (const job of cj.runningJobs) cluster.addRunningJob(observed, new Date(job.scheduledTime).toISOString(), ms(job.remaining) / 1000);
}

/**
 * The zone from `sandbox.dns`; without it, the environment's weighted groups with all traffic on the
 * runbook's source cluster (weight 100) and none elsewhere (0), the usual state before a cutover.
 */
function simulatedZone(loaded: LoadedRunbook, config: SandboxConfig, clock: VirtualClock): SimulatedZone | undefined {
  const groups = loaded.environment.dns?.records ?? [];
  if (!config.dns && groups.length === 0) return undefined;
  const records: SimRecord[] =
    config.dns?.records ??
    groups.flatMap((group) =>
      Object.entries(group.setIdentifiers).map(([cluster, setIdentifier], i) => ({
        name: group.name,
        type: group.type,
        setIdentifier,
        weight: cluster === loaded.runbook.from ? 100 : 0,
        ttl: 60,
        values: [`192.0.2.${10 + i}`],
      })),
    );
  return new SimulatedZone(clock, records, {
    insyncAfterMs: config.dns ? ms(config.dns.insyncAfter) : DEFAULT_INSYNC_AFTER_MS,
    maxRequestsPerSecond: config.dns?.maxRequestsPerSecond ?? DEFAULT_ZONE_REQUESTS_PER_SECOND,
  });
}

// Gates that read these ports look at a world where everything is healthy; `sandbox.gates` scripts
// anything else by the gate's name or type.
const healthyAlarms: AlarmsPort = {
  async alarmStates(query) {
    const names = query.prefix !== undefined ? [...query.names, `${query.prefix}sandbox`] : query.names;
    return [...new Set(names)].map((name) => ({ name, state: 'OK' as const }));
  },
};

const healthyHealthChecks: HealthChecksPort = {
  async healthCheckStatus() {
    return { healthy: 3, total: 3 };
  },
};

const healthyWorkloads: WorkloadsPort = {
  async workloads(namespaces) {
    return namespaces.map((namespace) => ({ kind: 'Deployment' as const, namespace, name: 'sandbox-app', desired: 2, available: 2 }));
  },
};

interface World {
  clock: VirtualClock;
  clusters: Record<string, SimulatedCluster>;
  zone: SimulatedZone | undefined;
  start: Date;
}

function reportOf(
  loaded: LoadedRunbook,
  config: SandboxConfig,
  world: World,
  status: string,
  journal: JournalEntry[],
  details: FinishDetails,
): RehearsalReport {
  const { from, to, name } = loaded.runbook;
  const ordered = [from, to, ...Object.keys(world.clusters).filter((c) => c !== from && c !== to)];
  const clusters = ordered.map((c) => world.clusters[c]).filter((c): c is SimulatedCluster => c !== undefined);
  const cronJobs = new Map<string, ReportCronJob>();
  for (const cluster of clusters) {
    for (const cj of cluster.cronJobList()) {
      const key = refKey(cj);
      if (!cronJobs.has(key)) cronJobs.set(key, { key, schedule: cj.schedule, ...(cj.timeZone ? { timeZone: cj.timeZone } : {}), concurrencyPolicy: cj.concurrencyPolicy });
    }
  }
  return buildReport({
    runbook: name,
    from,
    to,
    status,
    ...(details.message ? { message: details.message } : {}),
    start: world.start,
    end: world.clock.now(),
    cronJobs: [...cronJobs.values()].sort((a, b) => a.key.localeCompare(b.key)),
    jobs: clusters.flatMap((c) => c.jobs()),
    suspendHistory: Object.fromEntries(clusters.map((c) => [c.name, c.suspendHistory])),
    events: clusters.flatMap((c) => c.events),
    weights: world.zone?.timeline ?? [],
    journal,
    apiCalls: {
      ...Object.fromEntries(clusters.map((c) => [c.name, { ...c.calls }])),
      ...(world.zone ? { route53: { ...world.zone.calls } } : {}),
    },
    notes: config.notes,
    ...(details.planMessages ? { planMessages: details.planMessages } : {}),
  });
}
