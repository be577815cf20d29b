import { describe, expect, it } from 'vitest';
import { HaltError, InputError } from '../../src/core/errors.js';
import type { AlarmState, ClusterPort, WorkloadsPort } from '../../src/core/ports.js';
import type { ObservedCronJob, ObservedJob } from '../../src/core/types.js';
import type { GateSpec, GateStep } from '../../src/config/types.js';
import type { CronJobPlanEntry } from '../../src/plan/types.js';
import { gate } from '../../src/steps/gate.js';
import { judgeAlarms } from '../../src/steps/gates/cloudwatch-alarms.js';
import { judgeCommand } from '../../src/steps/gates/command.js';
import { firstRunTargets, judgeFirstRuns } from '../../src/steps/gates/cronjob-first-run.js';
import { judgeHealthChecks } from '../../src/steps/gates/route53-health-checks.js';
import { judgeProbe, judgeStreak, type Probe } from '../../src/steps/gates/http.js';
import { judgeWorkloads } from '../../src/steps/gates/kubernetes.js';
import { emptyPlan, newProgress, stepRuntime, testEnvironment, testLoaded, testRun, virtualClock } from '../support/step-runtime.js';

const alarmsSpec = (insufficientData: 'ok' | 'fail' | 'wait', names: string[] = []): Extract<GateSpec, { type: 'cloudwatchAlarms' }> => ({
  type: 'cloudwatchAlarms',
  names,
  prefix: 'api-',
  insufficientData,
});
const alarms = (...states: [string, AlarmState][]) => states.map(([name, state]) => ({ name, state }));

describe('cloudwatchAlarms verdicts', () => {
  it('passes when every alarm is OK and fails at once on ALARM', () => {
    expect(judgeAlarms(alarmsSpec('wait'), alarms(['api-a', 'OK'], ['api-b', 'OK'])).status).toBe('pass');
    const firing = judgeAlarms(alarmsSpec('wait'), alarms(['api-a', 'OK'], ['api-b', 'ALARM']));
    expect(firing.status).toBe('fail');
    expect(firing.summary).toContain('api-b');
  });

  it.each([
    ['ok', 'pass'],
    ['fail', 'fail'],
    ['wait', 'wait'],
  ] as const)('treats INSUFFICIENT_DATA per policy %s', (policy, status) => {
    expect(judgeAlarms(alarmsSpec(policy), alarms(['api-a', 'OK'], ['api-b', 'INSUFFICIENT_DATA'])).status).toBe(status);
  });

  it('fails when a named alarm does not exist or the prefix matches nothing', () => {
    expect(judgeAlarms(alarmsSpec('ok', ['api-missing']), alarms(['api-a', 'OK'])).summary).toMatch(/not found: api-missing/);
    expect(judgeAlarms(alarmsSpec('ok'), []).status).toBe('fail');
  });
});

describe('http verdicts', () => {
  const spec = { url: 'http://x/health', expectStatus: 200, bodyPattern: 'ok', successes: 3 };
  const ok: Probe = { at: 't', status: 200, bodyMatched: true, ms: 1 };
  const bad: Probe = { at: 't', status: 503, bodyMatched: false, ms: 1 };

  it('needs N consecutive successes; a failure resets the count', () => {
    expect(judgeStreak(spec, [ok, ok, ok]).status).toBe('pass');
    expect(judgeStreak(spec, [ok, ok, bad, ok, ok]).status).toBe('wait');
    expect(judgeStreak(spec, [ok, ok, bad, ok, ok]).evidence.consecutive).toBe(2);
  });

  it('explains a miss: status, body, connection error', () => {
    expect(judgeProbe(spec, bad).reason).toBe('status 503, expected 200');
    expect(judgeProbe(spec, { ...ok, bodyMatched: false }).reason).toMatch(/body does not match/);
    expect(judgeProbe(spec, { at: 't', error: 'ECONNREFUSED: connect', ms: 1 }).reason).toMatch(/ECONNREFUSED/);
  });
});

describe('kubernetes and health-check verdicts', () => {
  const spec = { type: 'kubernetes' as const, cluster: 'green', namespaces: ['api'] };
  it('waits until every workload has all replicas available', () => {
    const rollout = [{ kind: 'Deployment' as const, namespace: 'api', name: 'web', desired: 3, available: 1 }];
    expect(judgeWorkloads(spec, rollout).status).toBe('wait');
    expect(judgeWorkloads(spec, [{ ...rollout[0]!, available: 3 }]).status).toBe('pass');
    expect(judgeWorkloads(spec, [{ ...rollout[0]!, desired: 0, available: 0 }]).status).toBe('pass');
    expect(judgeWorkloads(spec, []).summary).toMatch(/no Deployment or StatefulSet found/);
  });

  it('needs every checker of every health check healthy', () => {
    expect(judgeHealthChecks([{ id: 'a', healthy: 16, total: 16 }]).status).toBe('pass');
    expect(judgeHealthChecks([{ id: 'a', healthy: 15, total: 16 }]).status).toBe('wait');
    expect(judgeHealthChecks([{ id: 'a', healthy: 0, total: 0 }]).status).toBe('wait');
  });
});

describe('command verdicts', () => {
  it('passes on exit 0 only and keeps the output tail', () => {
    const base = { signal: null, timedOut: false, tail: 'checked 3 pods\n', ms: 5 };
    expect(judgeCommand('./check.sh', { ...base, exitCode: 0 }).status).toBe('pass');
    const failed = judgeCommand('./check.sh', { ...base, exitCode: 3 });
    expect(failed.status).toBe('fail');
    expect(failed.evidence.tail).toBe('checked 3 pods\n');
    expect(judgeCommand('./check.sh', { ...base, exitCode: null, signal: 'SIGTERM', timedOut: true }).summary).toMatch(/timeout/);
  });
});

describe('cronjobFirstRun verdicts', () => {
  const entry = (action: CronJobPlanEntry['action']): CronJobPlanEntry => ({
    kind: 'cronjob',
    ref: { namespace: 'billing', name: 'invoices' },
    action,
    schedule: '*/5 * * * *',
    source: { present: true, activeJobs: [] },
    target: { present: true, activeJobs: [] },
    differences: [],
    nextTicks: ['2026-03-01T12:05:00.000Z', '2026-03-01T12:10:00.000Z'],
    latestTick: '2026-03-01T12:00:00.000Z',
    messages: [],
  });
  const job = (name: string, scheduledTime: string, outcome?: 'Complete' | 'Failed'): ObservedJob => ({
    namespace: 'billing',
    name,
    uid: name,
    ownerUid: 'target-uid',
    scheduledTime,
    creationTimestamp: scheduledTime,
    ...(outcome ? { outcome } : {}),
  });

  it('takes the moved CronJobs from the plan and the baseline from the moveCronJobs output', () => {
    const plan = { ...emptyPlan(testLoaded(testEnvironment(), []), new Date('2026-03-01T12:01:00Z')), cronJobs: [entry('move'), { ...entry('already-moved'), ref: { namespace: 'billing', name: 'other' } }] };
    const targets = firstRunTargets(plan, [{ cronjobs: { 'billing/invoices': { baseline: '2026-03-01T12:05:00.000Z' } } }]);
    expect(targets).toEqual([
      { ref: { namespace: 'billing', name: 'invoices' }, after: '2026-03-01T12:05:00.000Z', nextTicks: ['2026-03-01T12:10:00.000Z'], schedule: '*/5 * * * *', timeZone: undefined },
    ]);
  });

  it('passes on the first Complete Job after the handoff, ignores earlier ones, fails on a Failed first run', () => {
    const target = { ref: { namespace: 'billing', name: 'invoices' }, after: '2026-03-01T12:00:00.000Z', nextTicks: [], schedule: '*/5 * * * *' };
    expect(judgeFirstRuns([{ target, jobs: [job('invoices-old', '2026-03-01T11:55:00.000Z', 'Complete')] }]).status).toBe('wait');
    expect(judgeFirstRuns([{ target, jobs: [job('invoices-1', '2026-03-01T12:05:00.000Z')] }]).status).toBe('wait');
    expect(judgeFirstRuns([{ target, jobs: [job('invoices-1', '2026-03-01T12:05:00.000Z', 'Complete')] }]).status).toBe('pass');
    expect(judgeFirstRuns([{ target, jobs: [job('invoices-1', '2026-03-01T12:05:00.000Z', 'Failed')] }]).status).toBe('fail');
  });

  it('does not hold the gate for a CronJob whose first tick after the handoff falls after the deadline', () => {
    const minutely = { ref: { namespace: 'billing', name: 'invoices' }, after: '2026-03-01T12:00:00.000Z', nextTicks: [], schedule: '*/5 * * * *' };
    const nightly = { ref: { namespace: 'billing', name: 'export' }, after: '2026-03-01T12:00:00.000Z', nextTicks: [], schedule: '30 2 * * *', timeZone: 'Asia/Kolkata' };
    const until = new Date('2026-03-01T12:20:00Z');
    const verdict = judgeFirstRuns(
      [
        { target: minutely, jobs: [job('invoices-1', '2026-03-01T12:05:00.000Z', 'Complete')] },
        { target: nightly, jobs: [] },
      ],
      until,
    );
    expect(verdict.status).toBe('pass');
    expect(verdict.summary).toBe('1 moved CronJob(s) completed their first run on the target; not due before the deadline: billing/export (next tick 2026-03-01T21:00:00.000Z)');
    // Without its run the minutely one, due at 12:05, still holds the gate.
    expect(judgeFirstRuns([{ target: minutely, jobs: [] }, { target: nightly, jobs: [] }], until).status).toBe('wait');
  });
});

describe('the gate runner', () => {
  const gateStep = (spec: GateSpec, timeoutMs = 60_000): GateStep => ({ kind: 'gate', name: 'api healthy', gate: spec, timeoutMs });

  it('looks again until the gate passes and records the evidence in the journal', async () => {
    const clock = virtualClock();
    let looks = 0;
    const workloads: WorkloadsPort = {
      workloads: async () => [{ kind: 'Deployment', namespace: 'api', name: 'web', desired: 2, available: ++looks >= 3 ? 2 : 1 }],
    };
    const run = testRun({ loaded: testLoaded(testEnvironment(), [gateStep({ type: 'kubernetes', cluster: 'green', namespaces: ['api'] })]), ports: { workloads: { green: workloads } }, clock });
    const output = await gate(stepRuntime(run, 0));
    expect(output).toMatchObject({ status: 'pass', looks: 3, evidence: { workloads: { 'Deployment/api/web': '2/2 available' } } });
    expect(run.entries).toEqual([expect.objectContaining({ type: 'gate', step: 0, message: expect.stringMatching(/^gate api healthy: pass/) })]);
  });

  it('names a gate without a name by its type, once', async () => {
    const clock = virtualClock();
    const workloads: WorkloadsPort = { workloads: async () => [{ kind: 'Deployment', namespace: 'api', name: 'web', desired: 1, available: 1 }] };
    const step: GateStep = { kind: 'gate', gate: { type: 'kubernetes', cluster: 'green', namespaces: ['api'] }, timeoutMs: 60_000 };
    const run = testRun({ loaded: testLoaded(testEnvironment(), [step]), ports: { workloads: { green: workloads } }, clock });
    await gate(stepRuntime(run, 0));
    expect(run.entries.map((e) => e.message)).toEqual([expect.stringMatching(/^gate: kubernetes: pass: /)]);
  });

  it('halts at the deadline with the last evidence, and a resume after the halt gets a fresh deadline', async () => {
    const clock = virtualClock();
    const run = testRun({
      loaded: testLoaded(testEnvironment(), [gateStep({ type: 'route53HealthChecks', ids: ['hc-1'] }, 60_000)]),
      ports: { healthChecks: { healthCheckStatus: async () => ({ healthy: 2, total: 3 }) } },
      clock,
    });
    const progress = newProgress();
    const start = clock.now().getTime();
    await expect(gate(stepRuntime(run, 0, progress))).rejects.toThrow(/did not pass within 1m .*hc-1 \(2\/3\)/s);
    expect(clock.now().getTime() - start).toBe(60_000);
    expect(run.entries[0]?.data?.evidence).toEqual({ healthChecks: { 'hc-1': '2/3 checkers healthy' } });
    await expect(gate(stepRuntime(run, 0, progress))).rejects.toThrow(HaltError);
    expect(clock.now().getTime() - start).toBe(120_000);
  });

  it('fails at once when an alarm fires, without waiting for the deadline', async () => {
    const clock = virtualClock();
    const run = testRun({
      loaded: testLoaded(testEnvironment(), [gateStep(alarmsSpec('wait'), 600_000)]),
      ports: { alarms: { alarmStates: async () => alarms(['api-5xx', 'ALARM']) } },
      clock,
    });
    await expect(gate(stepRuntime(run, 0))).rejects.toThrow(/gate api healthy failed: alarm\(s\) in ALARM: api-5xx/);
    expect(clock.sleeps).toEqual([]);
  });

  it('refuses a gate whose port the run lacks, as bad input', async () => {
    const run = testRun({ loaded: testLoaded(testEnvironment(), [gateStep(alarmsSpec('ok'))]), ports: {}, clock: virtualClock() });
    await expect(gate(stepRuntime(run, 0))).rejects.toThrow(InputError);
  });

  it('checks first runs on the target copy only', async () => {
    const clock = virtualClock(new Date('2026-03-01T12:20:00Z'));
    const cronJob = { namespace: 'billing', name: 'invoices', uid: 'target-uid' } as ObservedCronJob;
    const asked: (string | undefined)[] = [];
    const target = {
      getCronJob: async () => cronJob,
      listJobs: async (_ns: string, ownerUid?: string) => {
        asked.push(ownerUid);
        return [{ namespace: 'billing', name: 'invoices-1', uid: 'j1', ownerUid: 'target-uid', scheduledTime: '2026-03-01T12:05:00.000Z', creationTimestamp: '2026-03-01T12:05:01.000Z', outcome: 'Complete' as const }];
      },
    } as unknown as ClusterPort;
    const loaded = testLoaded(testEnvironment(), [gateStep({ type: 'cronjobFirstRun' })]);
    const plan = { ...emptyPlan(loaded, new Date('2026-03-01T12:01:00Z')), cronJobs: [{ kind: 'cronjob' as const, ref: { namespace: 'billing', name: 'invoices' }, action: 'move' as const, schedule: '*/5 * * * *', source: { present: true, activeJobs: [] }, target: { present: true, activeJobs: [] }, differences: [], nextTicks: [], latestTick: '2026-03-01T12:00:00.000Z', messages: [] }] };
    const run = testRun({ loaded, plan, ports: { clusters: { green: target } }, clock });
    await expect(gate(stepRuntime(run, 0))).resolves.toMatchObject({ status: 'pass' });
    expect(asked).toEqual(['target-uid']);
  });
});
