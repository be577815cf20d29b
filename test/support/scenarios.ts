// Conformance scenarios: the same CronJob specs and the same suspend / resume / lastScheduleTime sequence,
// played against the real lab controllers and replayed against the sandbox's simulated controller at the
// same instants. The Jobs each world creates — (cluster, CronJob, tick) at each checkpoint — must be the
// same: that is what makes a rehearsal's prediction worth anything.
//
// Times are offsets from `base`, a minute boundary (a tick of `* * * * *`). Actions sit well away from
// ticks (:15..:20 in the minute), checkpoints at least 10 s after whatever they look for, so a real
// controller's latency (a Job appears ~0.1–1 s after its tick) cannot change the outcome. A creation
// timestamp cannot be backdated on a real server, so "past" ticks come from status.lastScheduleTime
// writes, in both worlds.
import { BatchV1Api, type V1CronJob } from '@kubernetes/client-node';
import { VirtualClock } from '../../src/adapters/sandbox/clock.js';
import { SimulatedCluster } from '../../src/adapters/sandbox/cluster.js';
import { createClusterPort } from '../../src/adapters/k8s/cluster.js';
import type { Environment } from '../../src/config/types.js';
import type { ClusterPort } from '../../src/core/ports.js';
import type { ConcurrencyPolicy } from '../../src/core/types.js';
import { contextFor, kubeConfigFor, labEnvironmentPath, labKubeconfigPath, type LabCluster } from './lab-env.js';

export type ScenarioCluster = LabCluster;

export interface ScenarioCronJob {
  cluster: ScenarioCluster;
  name: string;
  schedule: string;
  timeZone?: string;
  suspend: boolean;
  startingDeadlineSeconds?: number;
  concurrencyPolicy?: ConcurrencyPolicy;
  /** How long each Job's Pod runs: the lab's `lab.cutover.dev/run-seconds`; the podcompleter's 3 s otherwise. */
  runSeconds?: number;
}

export type ScenarioAction =
  | { atS: number; create: ScenarioCronJob }
  | { atS: number; suspend: boolean; cluster: ScenarioCluster; name: string }
  /** Writes status.lastScheduleTime = base + `tickS` seconds. */
  | { atS: number; lastScheduleTime: { tickS: number }; cluster: ScenarioCluster; name: string };

export interface Checkpoint {
  atS: number;
  /** The Jobs expected by then, as `cluster/cronjob@tick` with the tick in seconds from base. */
  expect: string[];
}

export interface Scenario {
  name: string;
  /** The controller rule the scenario pins down. */
  rule: string;
  actions: ScenarioAction[];
  checkpoints: Checkpoint[];
}

const MINUTE_S = 60;

/** The podcompleter finishes a Job's Pod this long after the Pod was created, unless annotated. */
export const LAB_DEFAULT_RUN_SECONDS = 3;
/** Between a Job's creation and its Pod's, and between the Pod's end and the Job's Complete condition. */
const LAB_JOB_OVERHEAD_SECONDS = 2;

const cron = (over: Partial<ScenarioCronJob> & Pick<ScenarioCronJob, 'name'>): ScenarioCronJob => ({
  cluster: 'green',
  schedule: '* * * * *',
  suspend: true,
  ...over,
});

/** `mm hh * * *` reaching `at` in `timeZone`. */
function dailyAt(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: 'numeric', minute: 'numeric', hourCycle: 'h23' }).formatToParts(at);
  const part = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  return `${part('minute')} ${part('hour')} * * *`;
}

/** The scenarios, for a base minute; their data depends on it only through the time-zone schedule. */
export function conformanceScenarios(base: Date): Scenario[] {
  const kathmandu = dailyAt(new Date(base.getTime() + MINUTE_S * 1000), 'Asia/Kathmandu');
  return [
    {
      name: 'resume without baseline',
      rule: 'resuming a CronJob whose lastScheduleTime lies minutes back starts one Job at once, for the latest missed tick only',
      actions: [
        { atS: 15, create: cron({ name: 'catchup' }) },
        { atS: 17, lastScheduleTime: { tickS: -5 * MINUTE_S }, cluster: 'green', name: 'catchup' },
        { atS: 20, suspend: false, cluster: 'green', name: 'catchup' },
      ],
      checkpoints: [
        { atS: 35, expect: ['green/catchup@0'] },
        { atS: 75, expect: ['green/catchup@0', 'green/catchup@60'] },
      ],
    },
    {
      name: 'resume with baseline',
      rule: 'resuming after lastScheduleTime was set to the latest tick starts nothing until the next tick',
      actions: [
        { atS: 15, create: cron({ name: 'quiet' }) },
        { atS: 17, lastScheduleTime: { tickS: 0 }, cluster: 'green', name: 'quiet' },
        { atS: 20, suspend: false, cluster: 'green', name: 'quiet' },
      ],
      checkpoints: [
        { atS: 35, expect: [] },
        { atS: 75, expect: ['green/quiet@60'] },
      ],
    },
    {
      name: 'startingDeadlineSeconds',
      rule: 'a missed tick older than startingDeadlineSeconds is not started on resume; a younger one is',
      actions: [
        { atS: 15, create: cron({ name: 'deadline10', startingDeadlineSeconds: 10 }) },
        { atS: 15, create: cron({ name: 'deadline60', startingDeadlineSeconds: 60 }) },
        { atS: 17, lastScheduleTime: { tickS: -5 * MINUTE_S }, cluster: 'green', name: 'deadline10' },
        { atS: 17, lastScheduleTime: { tickS: -5 * MINUTE_S }, cluster: 'green', name: 'deadline60' },
        { atS: 20, suspend: false, cluster: 'green', name: 'deadline10' },
        { atS: 20, suspend: false, cluster: 'green', name: 'deadline60' },
      ],
      checkpoints: [
        { atS: 35, expect: ['green/deadline60@0'] },
        { atS: 75, expect: ['green/deadline10@60', 'green/deadline60@0', 'green/deadline60@60'] },
      ],
    },
    {
      name: 'Forbid with a running Job',
      rule: 'Forbid holds a tick back while a Job runs and starts it, late, when that Job finishes; Allow starts it on time',
      actions: [
        { atS: 15, create: cron({ name: 'forbid', suspend: false, concurrencyPolicy: 'Forbid', runSeconds: 68 }) },
        { atS: 15, create: cron({ name: 'allow', suspend: false, concurrencyPolicy: 'Allow', runSeconds: 68 }) },
      ],
      // The first Job's Pod finishes 68 s after it was created (not before 128 s): the first checkpoint comes
      // before that, the second well after, since a loaded lab may take many seconds to complete the Job
      // and start the held-back tick, and before the 180 s tick.
      checkpoints: [
        { atS: 126, expect: ['green/allow@120', 'green/allow@60', 'green/forbid@60'] },
        { atS: 172, expect: ['green/allow@120', 'green/allow@60', 'green/forbid@120', 'green/forbid@60'] },
      ],
    },
    {
      name: 'timeZone',
      rule: 'the schedule is read in spec.timeZone (Asia/Kathmandu, UTC+05:45); without it, in UTC',
      actions: [
        { atS: 15, create: cron({ name: 'kathmandu', schedule: kathmandu, timeZone: 'Asia/Kathmandu', suspend: false }) },
        { atS: 15, create: cron({ name: 'utc', schedule: kathmandu, suspend: false }) },
      ],
      checkpoints: [{ atS: 75, expect: ['green/kathmandu@60'] }],
    },
    {
      name: 'handoff across clusters',
      rule: 'suspend on the source, then resume on the target: with the latest tick as baseline the tick runs once; with none, the target runs it again',
      actions: [
        { atS: 15, create: cron({ name: 'recipe', cluster: 'blue', suspend: false }) },
        { atS: 15, create: cron({ name: 'recipe', cluster: 'green' }) },
        { atS: 15, create: cron({ name: 'naive', cluster: 'blue', suspend: false }) },
        { atS: 15, create: cron({ name: 'naive', cluster: 'green' }) },
        { atS: 75, suspend: true, cluster: 'blue', name: 'recipe' },
        { atS: 75, suspend: true, cluster: 'blue', name: 'naive' },
        { atS: 77, lastScheduleTime: { tickS: 60 }, cluster: 'green', name: 'recipe' },
        { atS: 80, suspend: false, cluster: 'green', name: 'recipe' },
        { atS: 80, suspend: false, cluster: 'green', name: 'naive' },
      ],
      checkpoints: [
        { atS: 95, expect: ['blue/naive@60', 'blue/recipe@60', 'green/naive@60'] },
        { atS: 135, expect: ['blue/naive@60', 'blue/recipe@60', 'green/naive@120', 'green/naive@60', 'green/recipe@120'] },
      ],
    },
  ];
}

// ---- backends --------------------------------------------------------------------------------------------

export interface ScenarioJob {
  cluster: ScenarioCluster;
  cronJob: string;
  tick: string;
}

export interface ScenarioBackend {
  now(): Date;
  sleepUntil(at: Date): Promise<void>;
  /** Creates the CronJob and returns its creationTimestamp as stored (the sandbox is given the lab's). */
  create(namespace: string, cronJob: ScenarioCronJob, creationTimestamp?: string): Promise<string>;
  setSuspend(namespace: string, cluster: ScenarioCluster, name: string, suspend: boolean): Promise<void>;
  setLastScheduleTime(namespace: string, cluster: ScenarioCluster, name: string, at: Date): Promise<void>;
  jobs(namespace: string): Promise<ScenarioJob[]>;
}

/** The sandbox: two simulated clusters on one virtual clock that starts at `start`. */
export function sandboxBackend(start: Date): ScenarioBackend {
  const clock = new VirtualClock(start);
  const clusters = { blue: new SimulatedCluster('blue', clock), green: new SimulatedCluster('green', clock) };
  return {
    now: () => clock.now(),
    sleepUntil: (at) => clock.sleep(Math.max(0, at.getTime() - clock.now().getTime())),
    async create(namespace, cj, creationTimestamp) {
      const created = clusters[cj.cluster].addCronJob({
        namespace,
        name: cj.name,
        schedule: cj.schedule,
        ...(cj.timeZone ? { timeZone: cj.timeZone } : {}),
        suspend: cj.suspend,
        ...(cj.startingDeadlineSeconds !== undefined ? { startingDeadlineSeconds: cj.startingDeadlineSeconds } : {}),
        concurrencyPolicy: cj.concurrencyPolicy ?? 'Allow',
        jobSeconds: (cj.runSeconds ?? LAB_DEFAULT_RUN_SECONDS) + LAB_JOB_OVERHEAD_SECONDS,
        ...(creationTimestamp ? { creationTimestamp } : {}),
      });
      return created.creationTimestamp;
    },
    async setSuspend(namespace, cluster, name, suspend) {
      await clusters[cluster].setSuspend({ namespace, name }, suspend);
    },
    async setLastScheduleTime(namespace, cluster, name, at) {
      await clusters[cluster].setLastScheduleTime({ namespace, name }, at.toISOString());
    },
    async jobs(namespace) {
      return Object.values(clusters).flatMap((c) =>
        c.jobs()
          .filter((j) => !j.deleted && j.namespace === namespace)
          .map((j) => ({ cluster: c.name as ScenarioCluster, cronJob: j.ownerName ?? '?', tick: j.scheduledTime ?? '?' })),
      );
    },
  };
}

function labEnvironment(): Environment {
  const cluster = (name: ScenarioCluster) => ({ kubeconfig: { context: contextFor(name), path: labKubeconfigPath } });
  return {
    apiVersion: 'cutover.dev/v1',
    kind: 'Environment',
    name: 'lab',
    clusters: { blue: cluster('blue'), green: cluster('green') },
    allowNonInteractiveApproval: false,
  };
}

function labCronJob(cj: ScenarioCronJob): V1CronJob {
  const annotations: Record<string, string> = cj.runSeconds !== undefined ? { 'lab.cutover.dev/run-seconds': String(cj.runSeconds) } : {};
  return {
    metadata: { name: cj.name },
    spec: {
      schedule: cj.schedule,
      ...(cj.timeZone ? { timeZone: cj.timeZone } : {}),
      suspend: cj.suspend,
      ...(cj.startingDeadlineSeconds !== undefined ? { startingDeadlineSeconds: cj.startingDeadlineSeconds } : {}),
      concurrencyPolicy: cj.concurrencyPolicy ?? 'Allow',
      jobTemplate: {
        spec: {
          backoffLimit: 0,
          template: {
            metadata: { annotations },
            spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox' }] },
          },
        },
      },
    },
  };
}

/** The real lab: CronJobs created with client-node, every other call through cutover's own ClusterPort. */
export function labBackend(): ScenarioBackend {
  const environment = labEnvironment();
  const ports: Record<ScenarioCluster, ClusterPort> = {
    blue: createClusterPort('blue', environment.clusters.blue!, environment, labEnvironmentPath),
    green: createClusterPort('green', environment.clusters.green!, environment, labEnvironmentPath),
  };
  const batch = { blue: kubeConfigFor('blue').makeApiClient(BatchV1Api), green: kubeConfigFor('green').makeApiClient(BatchV1Api) };
  return {
    now: () => new Date(),
    sleepUntil: (at) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at.getTime() - Date.now()))),
    async create(namespace, cj) {
      const created = await batch[cj.cluster].createNamespacedCronJob({ namespace, body: labCronJob(cj) });
      const stamp = created.metadata?.creationTimestamp;
      if (!stamp) throw new Error(`CronJob ${cj.cluster}/${namespace}/${cj.name} came back without a creationTimestamp`);
      return new Date(stamp).toISOString();
    },
    async setSuspend(namespace, cluster, name, suspend) {
      await ports[cluster].setSuspend({ namespace, name }, suspend);
    },
    async setLastScheduleTime(namespace, cluster, name, at) {
      await ports[cluster].setLastScheduleTime({ namespace, name }, at.toISOString());
    },
    async jobs(namespace) {
      const found = await Promise.all(
        (['blue', 'green'] as const).map(async (cluster) =>
          (await ports[cluster].listJobs(namespace)).map((j) => ({ cluster, cronJob: j.ownerName ?? '?', tick: j.scheduledTime ?? '?' })),
        ),
      );
      return found.flat();
    },
  };
}

// ---- running -------------------------------------------------------------------------------------------

/** What happened when: the instants actions were taken (and creation timestamps), and the Jobs seen at checkpoints. */
export interface ScenarioTrace {
  base: string;
  steps: { at: string; action: ScenarioAction; creationTimestamp?: string }[];
  checkpoints: { at: string; atS: number; jobs: string[] }[];
}

type Timeline = ({ kind: 'action'; at: Date; action: ScenarioAction; creationTimestamp?: string } | { kind: 'checkpoint'; at: Date; atS: number })[];

const offset = (base: Date, seconds: number): Date => new Date(base.getTime() + seconds * 1000);

/** `cluster/cronjob@tick`, the tick in seconds from base; sorted, so two worlds compare as sets. */
function describeJobs(jobs: ScenarioJob[], base: Date): string[] {
  return jobs.map((j) => `${j.cluster}/${j.cronJob}@${(Date.parse(j.tick) - base.getTime()) / 1000}`).sort();
}

async function act(backend: ScenarioBackend, namespace: string, base: Date, action: ScenarioAction, creationTimestamp?: string): Promise<string | undefined> {
  if ('create' in action) return backend.create(namespace, action.create, creationTimestamp);
  if ('suspend' in action) await backend.setSuspend(namespace, action.cluster, action.name, action.suspend);
  else await backend.setLastScheduleTime(namespace, action.cluster, action.name, offset(base, action.lastScheduleTime.tickS));
  return undefined;
}

async function run(timeline: Timeline, backend: ScenarioBackend, namespace: string, base: Date): Promise<ScenarioTrace> {
  const trace: ScenarioTrace = { base: base.toISOString(), steps: [], checkpoints: [] };
  const ordered = [...timeline].sort((a, b) => a.at.getTime() - b.at.getTime() || (a.kind === b.kind ? 0 : a.kind === 'action' ? -1 : 1));
  for (const entry of ordered) {
    await backend.sleepUntil(entry.at);
    const at = backend.now().toISOString();
    if (entry.kind === 'checkpoint') {
      trace.checkpoints.push({ at, atS: entry.atS, jobs: describeJobs(await backend.jobs(namespace), base) });
      continue;
    }
    const created = await act(backend, namespace, base, entry.action, entry.creationTimestamp);
    trace.steps.push({ at, action: entry.action, ...(created ? { creationTimestamp: created } : {}) });
  }
  return trace;
}

/** Plays a scenario from its plan: each action at base + atS, as close as the backend's clock allows. */
export function playScenario(scenario: Scenario, backend: ScenarioBackend, namespace: string, base: Date): Promise<ScenarioTrace> {
  const timeline: Timeline = [
    ...scenario.actions.map((action) => ({ kind: 'action' as const, at: offset(base, action.atS), action })),
    ...scenario.checkpoints.map((c) => ({ kind: 'checkpoint' as const, at: offset(base, c.atS), atS: c.atS })),
  ];
  return run(timeline, backend, namespace, base);
}

/**
 * Replays what another world did, at the very instants it did it (and with the creation timestamps its
 * server stored), and looks at the checkpoints' instants.
 */
export function replayScenario(trace: ScenarioTrace, backend: ScenarioBackend, namespace: string): Promise<ScenarioTrace> {
  const timeline: Timeline = [
    ...trace.steps.map((s) => ({ kind: 'action' as const, at: new Date(s.at), action: s.action, ...(s.creationTimestamp ? { creationTimestamp: s.creationTimestamp } : {}) })),
    ...trace.checkpoints.map((c) => ({ kind: 'checkpoint' as const, at: new Date(c.at), atS: c.atS })),
  ];
  return run(timeline, backend, namespace, new Date(trace.base));
}

/** The earliest minute boundary whose first scenario actions (at :15) are still at least `leadMs` ahead. */
export function nextBase(now: Date, leadMs = 5_000): Date {
  const minute = MINUTE_S * 1000;
  return new Date(Math.ceil((now.getTime() + leadMs - 15_000) / minute) * minute);
}

/** Starts the virtual clock of a replay just before the trace's first action. */
export const replayStart = (trace: ScenarioTrace): Date => new Date(Date.parse(trace.steps[0]?.at ?? trace.base) - 1_000);
