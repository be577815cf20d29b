// The sandbox's simulated ports: a rehearsal's prediction is only as good as the Route 53 zone, the
// scripted gates and approvals, and the seeding behave like the real systems they stand for.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScriptedApprovals } from '../../src/adapters/sandbox/approvals.js';
import { VirtualClock } from '../../src/adapters/sandbox/clock.js';
import { SimulatedCluster } from '../../src/adapters/sandbox/cluster.js';
import { SimulatedZone, throttledDnsPort, type SimRecord } from '../../src/adapters/sandbox/dns.js';
import { ScriptedGates } from '../../src/adapters/sandbox/gates.js';
import { createSandbox } from '../../src/adapters/sandbox/index.js';
import { seededRandom } from '../../src/adapters/sandbox/random.js';
import { sandboxEnvironmentOf, seedFromObservation } from '../../src/adapters/sandbox/rehearse.js';
import type { Environment, LoadedRunbook, Step } from '../../src/config/types.js';
import { InputError } from '../../src/core/errors.js';
import type { ApprovalRequest } from '../../src/core/ports.js';
import type { Observation } from '../../src/plan/types.js';
import { isThrottled } from '../../src/adapters/aws/throttle.js';

const START = new Date('2026-03-02T10:00:20Z');

const RECORDS: SimRecord[] = [
  { name: 'api.example.com.', type: 'A', setIdentifier: 'blue', weight: 100, ttl: 60, values: ['192.0.2.10'] },
  { name: 'api.example.com.', type: 'A', setIdentifier: 'green', weight: 0, ttl: 60, values: ['192.0.2.20'] },
];

function zone(options: { insyncAfterMs?: number; maxRequestsPerSecond?: number } = {}) {
  const clock = new VirtualClock(START);
  const simulated = new SimulatedZone(clock, RECORDS, { insyncAfterMs: options.insyncAfterMs ?? 40_000, maxRequestsPerSecond: options.maxRequestsPerSecond ?? 5 });
  return { clock, simulated };
}

describe('simulated Route 53 zone', () => {
  it('reports a change PENDING until insyncAfter has passed, then INSYNC', async () => {
    const { clock, simulated } = zone();
    const records = await simulated.readGroup('api.example.com', 'A');
    const change = await simulated.setWeights(records, { green: 10, blue: 90 }, 'shift 10%');
    expect(change.status).toBe('PENDING');
    await clock.sleep(39_000);
    expect((await simulated.getChange(change.id)).status).toBe('PENDING');
    await clock.sleep(1_000);
    expect((await simulated.getChange(change.id)).status).toBe('INSYNC');
    expect((await simulated.readGroup('api.example.com.', 'A')).map((r) => [r.setIdentifier, r.weight])).toEqual([
      ['blue', 90],
      ['green', 10],
    ]);
  });

  it('takes weights keyed by name|type|setIdentifier, as the shift step sends them, and records the whole group', async () => {
    const { simulated } = zone();
    const records = await simulated.readGroup('api.example.com.', 'A');
    await simulated.setWeights(records, { 'api.example.com.|A|green': 50, 'api.example.com.|A|blue': 50 }, 'half');
    expect(simulated.timeline).toHaveLength(1);
    expect(simulated.timeline[0]!.groups).toEqual({ 'api.example.com.|A': { blue: 50, green: 50 } });
  });

  it('refuses a batch with a weight outside 0..255 and applies none of it', async () => {
    const { simulated } = zone();
    const records = await simulated.readGroup('api.example.com.', 'A');
    await expect(simulated.setWeights(records, { green: 300, blue: 0 }, 'bad')).rejects.toThrow(/outside 0..255/);
    expect((await simulated.readGroup('api.example.com.', 'A')).map((r) => r.weight)).toEqual([100, 0]);
    expect(simulated.timeline).toEqual([]);
  });

  it('answers Throttling beyond its per-second budget', async () => {
    const { simulated } = zone({ maxRequestsPerSecond: 2 });
    await simulated.readGroup('api.example.com.', 'A');
    await simulated.readGroup('api.example.com.', 'A');
    const refused = await simulated.readGroup('api.example.com.', 'A').catch((e: unknown) => e);
    expect(isThrottled(refused)).toBe(true);
    expect(simulated.calls.Throttled).toBe(1);
  });

  it('as the run sees it, waits on the virtual clock and retries throttled calls until they pass', async () => {
    const { clock, simulated } = zone({ maxRequestsPerSecond: 1 });
    // The client bucket allows 3 requests a second, the zone only 1: the extra calls are throttled and retried.
    const dns = throttledDnsPort(simulated, clock, { maxRequestsPerSecond: 3, random: seededRandom(1) });
    const reads = await Promise.all([1, 2, 3, 4].map(() => dns.readGroup('api.example.com.', 'A')));
    expect(reads.every((r) => r.length === 2)).toBe(true);
    expect(simulated.calls.Throttled).toBeGreaterThan(0);
    expect(clock.now().getTime()).toBeGreaterThan(START.getTime());
  });
});

describe('scripted gates', () => {
  const gates = new ScriptedGates({
    'api healthy': { healthyAfter: '2m', neverHealthy: false },
    cloudwatchAlarms: { healthyAfter: '0s', neverHealthy: true },
  });
  const later = (ms: number) => new Date(START.getTime() + ms);

  it('fail (wait) until healthyAfter has passed since the gate started, then pass', () => {
    expect(gates.verdict('api healthy', 'http', START, later(119_000))?.status).toBe('wait');
    expect(gates.verdict('api healthy', 'http', START, later(120_000))?.status).toBe('pass');
  });

  it('never pass when scripted neverHealthy, found by gate type', () => {
    expect(gates.verdict('gate: cloudwatchAlarms', 'cloudwatchAlarms', START, later(3_600_000))?.status).toBe('wait');
  });

  it('pass http and command gates nobody scripted, so a rehearsal never calls out', () => {
    expect(gates.verdict('other', 'http', START, START)?.status).toBe('pass');
    expect(gates.verdict('other', 'command', START, START)?.status).toBe('pass');
  });

  it('leave unscripted gates that read the run ports to look at the simulated world', () => {
    expect(gates.verdict('first runs', 'cronjobFirstRun', START, START)).toBeUndefined();
  });
});

function approvalRequest(over: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    runId: 'r1',
    stepIndex: 3,
    stepName: 'go to 50%',
    summary: '',
    effect: '',
    approvers: ['U1', 'U2', 'U3'],
    required: 2,
    deadline: new Date(START.getTime() + 30 * 60_000),
    startedBy: 'ops',
    remember: async () => {},
    ...over,
  };
}

const script = { decision: 'approve' as const, after: '4m', reason: 'no', steps: {} };

describe('scripted approvals', () => {
  it('approve after the scripted delay by the first `required` named approvers', async () => {
    const clock = new VirtualClock(START);
    const port = new ScriptedApprovals(clock, { ...script, by: ['U2', 'U3', 'U1'] }, true);
    const decision = await port.requestApproval(approvalRequest(), new AbortController().signal);
    expect(decision).toMatchObject({ outcome: 'approved', by: ['U2', 'U3'], at: '2026-03-02T10:04:20.000Z' });
    expect(clock.now().toISOString()).toBe('2026-03-02T10:04:20.000Z');
  });

  it('count only approvers the request names, as Slack does: too few time out at the deadline', async () => {
    const clock = new VirtualClock(START);
    const port = new ScriptedApprovals(clock, { ...script, by: ['U1', 'intruder'] }, true);
    const decision = await port.requestApproval(approvalRequest(), new AbortController().signal);
    expect(decision).toMatchObject({ outcome: 'timeout', approvedBy: ['U1'], at: '2026-03-02T10:30:20.000Z' });
  });

  it('time out when the scripted answer comes after the deadline', async () => {
    const clock = new VirtualClock(START);
    const port = new ScriptedApprovals(clock, { ...script, after: '1h' }, true);
    const decision = await port.requestApproval(approvalRequest(), new AbortController().signal);
    expect(decision).toMatchObject({ outcome: 'timeout', approvedBy: [] });
  });

  it('reject with the scripted reason, per step override by step name', async () => {
    const clock = new VirtualClock(START);
    const steps = { 'go to 50%': { decision: 'reject' as const, after: '10s', reason: 'error rate too high' } };
    const port = new ScriptedApprovals(clock, { ...script, steps }, true);
    const decision = await port.requestApproval(approvalRequest(), new AbortController().signal);
    expect(decision).toMatchObject({ outcome: 'rejected', by: 'U1', reason: 'error rate too high', at: '2026-03-02T10:00:30.000Z' });
  });

  it('stop waiting when the run is aborted', async () => {
    const clock = new VirtualClock(START);
    const port = new ScriptedApprovals(clock, script, true);
    const abort = new AbortController();
    const waiting = port.requestApproval(approvalRequest(), abort.signal);
    abort.abort(new Error('SIGINT'));
    await expect(waiting).rejects.toThrow('SIGINT');
  });
});

describe('simulated Job run times', () => {
  it('vary within the jitter and are the same for the same seed', async () => {
    const durations = async (seed: number): Promise<number[]> => {
      const clock = new VirtualClock(START);
      const cluster = new SimulatedCluster('blue', clock, { random: seededRandom(seed) });
      cluster.addCronJob({ namespace: 'b', name: 'm', schedule: '* * * * *', jobSeconds: 30, jobJitterSeconds: 10 });
      await clock.sleep(10 * 60_000);
      return cluster.jobs().map((j) => (j.finishAt - Date.parse(j.creationTimestamp)) / 1000);
    };
    const first = await durations(7);
    expect(first).toHaveLength(10);
    expect(first.every((s) => s >= 20 && s <= 40)).toBe(true);
    expect(new Set(first).size).toBeGreaterThan(1);
    expect(await durations(7)).toEqual(first);
  });
});

// ---- building a sandbox from an environment ------------------------------------------------------------

const GATE: Step = { kind: 'gate', name: 'api healthy', timeoutMs: 60_000, gate: { type: 'http', url: 'https://x', method: 'GET', headers: {}, expectStatus: 200, successes: 1, intervalMs: 1_000 } };

function loadedWith(sandbox: Record<string, unknown>, environmentFile: string, steps: Step[] = [{ kind: 'moveCronJobs' }, GATE]): LoadedRunbook {
  const environment: Environment = {
    apiVersion: 'cutover.dev/v1',
    kind: 'Environment',
    name: 'sandbox',
    clusters: { blue: { sandbox: {} }, green: { sandbox: {} } },
    allowNonInteractiveApproval: true,
    sandbox,
  };
  return {
    runbook: {
      apiVersion: 'cutover.dev/v1',
      kind: 'Runbook',
      name: 'rb',
      environment: 'env.yaml',
      from: 'blue',
      to: 'green',
      onFailure: 'halt',
      cronjobs: { namespaces: ['billing'], exclude: [], running: 'wait', drainTimeoutMs: 600_000, missedRuns: 'skip', missedRunsLimit: 10, concurrency: 2 },
      steps,
    },
    runbookFile: 'runbook.yaml',
    environment,
    environmentFile,
  };
}

describe('createSandbox', () => {
  it('seeds each cluster with its CronJobs and running Jobs at the configured start', async () => {
    const sandbox = createSandbox(
      loadedWith(
        {
          start: '2026-03-02T10:00:20Z',
          clusters: {
            blue: { cronjobs: [{ namespace: 'billing', name: 'm', schedule: '*/5 * * * *', runningJobs: [{ scheduledTime: '2026-03-02T10:00:00Z', remaining: '90s' }] }] },
            green: { cronjobs: [{ namespace: 'billing', name: 'm', schedule: '*/5 * * * *', suspend: true }] },
          },
        },
        'env.yaml',
      ),
    );
    expect(sandbox.clock.now()).toEqual(START);
    const blue = await sandbox.ports.clusters.blue!.listCronJobs({ namespaces: ['billing'] });
    const jobs = await sandbox.ports.clusters.blue!.listJobs('billing', blue[0]!.uid);
    expect(jobs.map((j) => [j.scheduledTime, j.outcome])).toEqual([['2026-03-02T10:00:00.000Z', undefined]]);
    expect((await sandbox.ports.clusters.green!.getCronJob({ namespace: 'billing', name: 'm' }))?.suspend).toBe(true);
  });

  it('refuses a bad sandbox section with every problem located in the environment file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cutover-sandbox-'));
    const file = join(dir, 'env.yaml');
    await writeFile(
      file,
      [
        'kind: Environment',
        'sandbox:',
        '  clusters:',
        '    blue:',
        '      cronjobs:',
        '        - { namespace: billing, name: m, schedule: "61 * * * *" }',
        '    gren: {}',
        '  gates:',
        '    api helthy: { healthyAfter: 1m }',
        '',
      ].join('\n'),
    );
    const sandbox = { clusters: { blue: { cronjobs: [{ namespace: 'billing', name: 'm', schedule: '61 * * * *' }] }, gren: {} }, gates: { 'api helthy': { healthyAfter: '1m' } } };
    const error = (() => {
      try {
        createSandbox(loadedWith(sandbox, file));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InputError);
    const issues = (error as InputError).issues.map((i) => `${i.line}:${i.col} ${i.path}`);
    expect(issues).toEqual(['6:52 sandbox.clusters.blue.cronjobs.0.schedule', '7:11 sandbox.clusters.gren']);
    expect((error as InputError).message).toContain('unknown cluster "gren"');
  });

  it('notes a gate script that names no gate step of the runbook, so a misspelt name is seen', () => {
    const sandbox = createSandbox(loadedWith({ clusters: {}, gates: { 'api helthy': { healthyAfter: '1m' }, 'api healthy': {} } }, 'env.yaml'));
    expect(sandbox.config.notes).toEqual([expect.stringContaining('sandbox.gates."api helthy" names no gate step of this runbook (gates: api healthy, http)')]);
  });

  it('refuses a field of the wrong type, naming it', () => {
    expect(() => createSandbox(loadedWith({ clusters: {}, dns: { insyncAfter: 'soon' } }, 'missing.yaml'))).toThrow(/sandbox\.dns\.insyncAfter: expected a duration/);
  });
});

// ---- seeding from a live observation ------------------------------------------------------------------

const OBSERVATION: Observation = {
  observedAt: '2026-03-02T10:00:20.000Z',
  from: 'blue',
  to: 'green',
  source: {
    cluster: 'blue',
    version: 'v1.33.5-eks',
    cronJobs: [
      {
        namespace: 'billing',
        name: 'mailer',
        uid: 'u-blue',
        resourceVersion: '9',
        creationTimestamp: '2025-06-01T00:00:00Z',
        schedule: '0 9 * * *',
        timeZone: 'Europe/Paris',
        suspend: false,
        startingDeadlineSeconds: 120,
        concurrencyPolicy: 'Forbid',
        lastScheduleTime: '2026-03-02T08:00:00Z',
        images: ['mailer:3'],
        labels: { team: 'billing' },
        annotations: {},
      },
    ],
    jobs: [
      { namespace: 'billing', name: 'mailer-1', uid: 'j1', ownerUid: 'u-blue', scheduledTime: '2026-03-02T08:00:00Z', creationTimestamp: '2026-03-02T08:00:01Z' },
      { namespace: 'billing', name: 'mailer-0', uid: 'j0', ownerUid: 'u-blue', scheduledTime: '2026-03-01T08:00:00Z', creationTimestamp: '2026-03-01T08:00:01Z', outcome: 'Complete' },
    ],
  },
  target: {
    cluster: 'green',
    version: 'v1.34.4-eks',
    cronJobs: [
      {
        namespace: 'billing',
        name: 'mailer',
        uid: 'u-green',
        resourceVersion: '3',
        creationTimestamp: '2026-02-20T00:00:00Z',
        schedule: '0 9 * * *',
        timeZone: 'Europe/Paris',
        suspend: true,
        concurrencyPolicy: 'Forbid',
        images: ['mailer:3'],
        labels: { team: 'billing' },
        annotations: {},
      },
    ],
    jobs: [],
  },
  dns: {
    'api.example.com.|A': [
      { name: 'api.example.com.', type: 'A', setIdentifier: 'blue', weight: 200, ttl: 30, raw: { ResourceRecords: [{ Value: '192.0.2.1' }] } },
      { name: 'api.example.com.', type: 'A', setIdentifier: 'green', weight: 0, ttl: 30, raw: { AliasTarget: { DNSName: 'lb.example.com' } } },
    ],
  },
};

describe('seedFromObservation', () => {
  const loaded = loadedWith({}, 'env.yaml');
  const config = seedFromObservation(OBSERVATION, loaded);

  it('starts the sandbox at the observation instant with both copies as observed', () => {
    expect(config.start).toBe('2026-03-02T10:00:20.000Z');
    const blue = config.clusters.blue!.cronjobs[0]!;
    expect(blue).toMatchObject({
      schedule: '0 9 * * *',
      timeZone: 'Europe/Paris',
      suspend: false,
      startingDeadlineSeconds: 120,
      concurrencyPolicy: 'Forbid',
      lastScheduleTime: '2026-03-02T08:00:00Z',
      creationTimestamp: '2025-06-01T00:00:00Z',
    });
    expect(config.clusters.green!.cronjobs[0]).toMatchObject({ suspend: true, creationTimestamp: '2026-02-20T00:00:00Z' });
    expect(config.clusters.blue!.version).toBe('v1.33.5-eks');
  });

  it('keeps only unfinished Jobs, assumed to run half the drainTimeout more, and says so', () => {
    expect(config.clusters.blue!.cronjobs[0]!.runningJobs).toEqual([{ scheduledTime: '2026-03-02T08:00:00Z', remaining: '300s' }]);
    expect(config.notes.join('\n')).toMatch(/1 Job\(s\) running at observation time are assumed to run 5m more/);
    const custom = seedFromObservation(OBSERVATION, loaded, { runningJobRemainingMs: 45_000 });
    expect(custom.clusters.blue!.cronjobs[0]!.runningJobs[0]!.remaining).toBe('45s');
  });

  it('copies the weighted records with their weights and TTLs', () => {
    expect(config.dns?.records).toEqual([
      { name: 'api.example.com.', type: 'A', setIdentifier: 'blue', weight: 200, ttl: 30, values: ['192.0.2.1'] },
      { name: 'api.example.com.', type: 'A', setIdentifier: 'green', weight: 0, ttl: 30, values: ['ALIAS lb.example.com'] },
    ]);
  });

  it('gives a world a sandbox accepts, in which the target keeps its observed state', async () => {
    const simulated: LoadedRunbook = { ...loaded, environment: sandboxEnvironmentOf({ ...loaded.environment, clusters: { blue: { kubeconfig: { context: 'b' } }, green: { eks: { name: 'g', region: 'us-east-1' } } }, state: { local: { dir: '.cutover' } } }, config) };
    expect(simulated.environment.clusters).toEqual({ blue: { sandbox: {} }, green: { sandbox: {} } });
    expect(simulated.environment.state).toBeUndefined();
    const sandbox = createSandbox(simulated);
    expect(sandbox.start.toISOString()).toBe(OBSERVATION.observedAt);
    const green = await sandbox.ports.clusters.green!.getCronJob({ namespace: 'billing', name: 'mailer' });
    expect(green).toMatchObject({ suspend: true, timeZone: 'Europe/Paris', concurrencyPolicy: 'Forbid' });
    expect((await sandbox.ports.dns!.readGroup('api.example.com.', 'A')).map((r) => r.weight)).toEqual([200, 0]);
  });
});
