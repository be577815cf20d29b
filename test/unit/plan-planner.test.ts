import { describe, expect, it } from 'vitest';
import type { ObservedCronJob, ObservedJob } from '../../src/core/types.js';
import type { Step } from '../../src/config/types.js';
import { buildPlan } from '../../src/plan/planner.js';
import type { CronJobPlanEntry, Plan, StepPlanEntry } from '../../src/plan/types.js';
import {
  copies,
  cronJob,
  dnsSection,
  job,
  loadedRunbook,
  observation,
  TARGET,
  weightedRecord,
} from '../support/builders.js';

// 2025-06-02 10:07 UTC, a Monday; the default schedule */15 ticks at 10:00 and 10:15.
const NOW = '2025-06-02T10:07:00.000Z';

function planOf(
  source: ObservedCronJob[],
  target: ObservedCronJob[],
  extra: { jobs?: ObservedJob[]; targetJobs?: ObservedJob[]; observedAt?: string; loaded?: Parameters<typeof loadedRunbook>[0] } = {},
): Plan {
  const obs = observation({
    observedAt: extra.observedAt ?? NOW,
    source: { cronJobs: source, jobs: extra.jobs ?? [] },
    target: { cronJobs: target, jobs: extra.targetJobs ?? [] },
  });
  return buildPlan(obs, loadedRunbook(extra.loaded));
}

const only = (plan: Plan): CronJobPlanEntry => {
  expect(plan.cronJobs).toHaveLength(1);
  return plan.cronJobs[0]!;
};
const codes = (entry: { messages: { code: string }[] }): string[] => entry.messages.map((m) => m.code);
const message = (entry: { messages: { code: string; message: string }[] }, code: string): string =>
  entry.messages.find((m) => m.code === code)?.message ?? '';

describe('buildPlan: the action per CronJob', () => {
  it('moves a CronJob enabled on the source and suspended on the target', () => {
    const source = cronJob({ lastScheduleTime: '2025-06-02T10:00:00Z' });
    const target = cronJob({ cluster: TARGET, suspend: true });
    const entry = only(planOf([source], [target]));
    expect(entry.action).toBe('move');
    expect(entry.ref).toEqual({ namespace: 'billing', name: 'invoices' });
    expect(entry.source).toEqual({ present: true, suspend: false, uid: source.uid, lastScheduleTime: '2025-06-02T10:00:00Z', activeJobs: [] });
    expect(entry.target).toEqual({ present: true, suspend: true, uid: target.uid, activeJobs: [] });
    expect(entry.messages.filter((m) => m.severity !== 'info')).toEqual([]);
  });

  it('shows the next three ticks and the latest tick at or before the observation', () => {
    const { source, target } = copies();
    const entry = only(planOf([source], [target]));
    expect(entry.nextTicks).toEqual(['2025-06-02T10:15:00.000Z', '2025-06-02T10:30:00.000Z', '2025-06-02T10:45:00.000Z']);
    expect(entry.latestTick).toBe('2025-06-02T10:00:00.000Z');
  });

  it('computes ticks in the CronJob time zone', () => {
    const { source, target } = copies({ schedule: '0 9 * * *', timeZone: 'Europe/Berlin' });
    const entry = only(planOf([source], [target]));
    expect(entry.timeZone).toBe('Europe/Berlin');
    expect(entry.nextTicks[0]).toBe('2025-06-03T07:00:00.000Z');
    expect(entry.latestTick).toBe('2025-06-02T07:00:00.000Z');
  });

  it('blocks a CronJob missing on the target with an error', () => {
    const entry = only(planOf([cronJob()], []));
    expect(entry.action).toBe('blocked');
    expect(entry.target.present).toBe(false);
    const error = entry.messages.find((m) => m.code === 'missing-on-target');
    expect(error?.severity).toBe('error');
    expect(error?.subject).toBe('billing/invoices');
    expect(error?.message).toMatch(/create it there \(suspended\).*cronjobs\.exclude/);
  });

  it('leaves a CronJob found only on the target out of the moves and says so', () => {
    const plan = planOf([], [cronJob({ cluster: TARGET, suspend: true })]);
    expect(plan.cronJobs).toEqual([]);
    expect(plan.messages).toEqual([
      expect.objectContaining({ severity: 'warning', code: 'missing-on-source', subject: 'billing/invoices' }),
    ]);
    expect(plan.messages[0]!.message).toMatch(/nothing to move.*will not run until you resume it/);
  });

  it('suspends the target first when both copies are enabled, naming Jobs running twice', () => {
    const { source, target } = copies({}, { suspend: false });
    const running = job(target, { name: 'invoices-29145000' });
    const entry = only(planOf([source], [target], { targetJobs: [running] }));
    expect(entry.action).toBe('suspend-target-then-move');
    expect(entry.target.activeJobs).toEqual(['invoices-29145000']);
    const warning = entry.messages.find((m) => m.code === 'enabled-on-both');
    expect(warning?.severity).toBe('warning');
    expect(warning?.message).toMatch(/BOTH blue and green.*runs twice.*invoices-29145000.*suspends the green copy first/);
  });

  it('reports a CronJob suspended on the source and enabled on the target as already moved', () => {
    const { source, target } = copies({ suspend: true }, { suspend: false });
    const entry = only(planOf([source], [target]));
    expect(entry.action).toBe('already-moved');
    expect(entry.messages).toEqual([expect.objectContaining({ severity: 'info', code: 'already-moved' })]);
  });

  it('moves a CronJob suspended on both, warning that the target will be resumed', () => {
    const { source, target } = copies({ suspend: true });
    const entry = only(planOf([source], [target]));
    expect(entry.action).toBe('move');
    expect(message(entry, 'suspended-on-both')).toMatch(/resumes it on green.*paused on purpose/);
  });

  it('blocks a CronJob whose schedule Kubernetes would not run as cutover computes it', () => {
    const { source, target } = copies({ schedule: '@every 5m' });
    const entry = only(planOf([source], [target]));
    expect(entry.action).toBe('blocked');
    expect(entry.nextTicks).toEqual([]);
    expect(entry.latestTick).toBeUndefined();
    expect(entry.messages.map((m) => [m.severity, m.code, m.message.slice(0, 12)])).toEqual([
      ['error', 'invalid-schedule', 'source copy:'],
      ['error', 'invalid-schedule', 'target copy:'],
    ]);
  });

  it('blocks a CronJob whose target copy has an unknown time zone', () => {
    const { source, target } = copies({}, { timeZone: 'Mars/Olympus' });
    const entry = only(planOf([source], [target]));
    expect(entry.action).toBe('blocked');
    expect(message(entry, 'invalid-schedule')).toMatch(/^target copy: unknown time zone "Mars\/Olympus"/);
  });

  it('lists CronJobs in namespace/name order', () => {
    const a = copies({ namespace: 'reports', name: 'daily' });
    const b = copies({ namespace: 'billing', name: 'zeta' });
    const c = copies({ namespace: 'billing', name: 'alpha' });
    const plan = planOf([a.source, b.source, c.source], [c.target, a.target, b.target]);
    expect(plan.cronJobs.map((e) => `${e.ref.namespace}/${e.ref.name}`)).toEqual(['billing/alpha', 'billing/zeta', 'reports/daily']);
  });
});

describe('buildPlan: what the operator should know', () => {
  it('names running source Jobs by owner uid, ignoring finished ones and other owners', () => {
    const { source, target } = copies();
    const other = cronJob({ name: 'payroll' });
    const jobs = [
      job(source, { name: 'invoices-1' }),
      job(source, { name: 'invoices-2', outcome: 'Complete' }),
      job(source, { name: 'invoices-3', outcome: 'Failed' }),
      job(other, { name: 'invoices-4' }), // a look-alike name owned by another CronJob
      { ...job(source, { name: 'invoices-5' }), ownerUid: undefined },
    ];
    const entry = only(planOf([source], [target], { jobs }));
    expect(entry.source.activeJobs).toEqual(['invoices-1']);
    expect(message(entry, 'running-job')).toMatch(/running on blue: invoices-1; execute suspends the source, then waits up to 10m \(cronjobs.drainTimeout\)/);
  });

  it('says running Jobs will not be waited for with running: ignore', () => {
    const { source, target } = copies();
    const entry = only(planOf([source], [target], { jobs: [job(source)], loaded: { cronjobs: { running: 'ignore' } } }));
    expect(message(entry, 'running-job')).toMatch(/running: ignore they will not be waited for/);
    // No drain, so the handoff window is the short estimate and the 10:15 tick is outside it.
    expect(codes(entry)).not.toContain('tick-in-window');
  });

  it('warns about a tick within seconds of the observation', () => {
    const { source, target } = copies();
    const entry = only(planOf([source], [target], { observedAt: '2025-06-02T10:14:45.000Z' }));
    expect(message(entry, 'tick-in-window')).toMatch(/tick 2025-06-02T10:15:00.000Z \(in 15s\).*30s.*runs on neither cluster \(missedRuns: skip\)/);
  });

  it('stretches the handoff window to the drain timeout when Jobs are running', () => {
    const { source, target } = copies();
    const entry = only(planOf([source], [target], { jobs: [job(source)] }));
    expect(message(entry, 'tick-in-window')).toMatch(/tick 2025-06-02T10:15:00.000Z \(in 8m\).*10m \(the drain of its running Jobs\)/);
  });

  it('says, tick by tick, what the policy makes of the ticks in the handoff window (issue 12)', () => {
    const { source, target } = copies({ schedule: '*/5 9-17 * * *' });
    const at = { observedAt: '2025-06-02T10:07:00.000Z' };
    const latest = only(planOf([source], [target], { ...at, jobs: [job(source)], loaded: { cronjobs: { missedRuns: 'latest', drainTimeoutMs: 600_000 } } }));
    expect(message(latest, 'tick-in-window')).toBe(
      'ticks 2025-06-02T10:10:00.000Z (in 3m), 2025-06-02T10:15:00.000Z (in 8m) fall within the estimated handoff window of 10m ' +
        '(the drain of its running Jobs), while both copies are suspended: 2025-06-02T10:15:00.000Z runs once, late, on green: cutover ' +
        'starts its Job there before resuming it (missedRuns: latest); 2025-06-02T10:10:00.000Z runs on neither cluster ' +
        '(missedRuns: latest runs only the latest missed tick)',
    );
    const options = { ...at, jobs: [job(source)], loaded: { cronjobs: { missedRuns: 'all' as const, drainTimeoutMs: 600_000 } } };
    // Forbid (the builder's default): only the latest; Allow: each.
    expect(message(only(planOf([source], [target], options)), 'tick-in-window')).toMatch(/10:10:00.000Z runs on neither cluster \(concurrencyPolicy Forbid/);
    const allow = copies({ schedule: '*/5 9-17 * * *', concurrencyPolicy: 'Allow' });
    const all = only(planOf([allow.source], [allow.target], { ...options, jobs: [job(allow.source)] }));
    expect(message(all, 'tick-in-window')).not.toContain('runs on neither cluster');
    expect(message(all, 'tick-in-window')).toMatch(/10:10:00.000Z, 2025-06-02T10:15:00.000Z run once each, late, on green: cutover starts their Jobs/);
  });

  it("warns where the controller's own catch-up would lose a missed tick that cutover then runs (issue 12)", () => {
    // */5 9-17, last run 17:45, both suspended through 17:50 and 17:55 by a drain until after 18:00: the
    // controller's estimate jumps past 17:55 and starts nothing.
    const { source, target } = copies({ schedule: '*/5 9-17 * * *', lastScheduleTime: '2025-06-02T17:45:00Z' });
    const options = { observedAt: '2025-06-02T17:46:00.000Z', jobs: [job(source)] };
    const latest = only(planOf([source], [target], { ...options, loaded: { cronjobs: { missedRuns: 'latest', drainTimeoutMs: 15 * 60_000 } } }));
    expect(message(latest, 'controller-would-lose')).toMatch(/controller alone would start no Job for the missed tick 2025-06-02T17:55:00.000Z.*cutover starts it itself on green/);
    const skip = only(planOf([source], [target], { ...options, loaded: { cronjobs: { drainTimeoutMs: 15 * 60_000 } } }));
    expect(codes(skip)).not.toContain('controller-would-lose');
    // A short window misses one tick at most: the controller finds it.
    const short = only(planOf([source], [target], { observedAt: '2025-06-02T17:49:45.000Z', loaded: { cronjobs: { missedRuns: 'latest' } } }));
    expect(codes(short)).not.toContain('controller-would-lose');
  });

  it('does not warn about ticks for CronJobs that are not moved', () => {
    const { source, target } = copies({ suspend: true }, { suspend: false });
    const entry = only(planOf([source], [target], { observedAt: '2025-06-02T10:14:45.000Z' }));
    expect(codes(entry)).not.toContain('tick-in-window');
  });

  it('warns that a GitOps or helm managed copy may be re-enabled by its next sync', () => {
    const { source, target } = copies({ managedBy: 'argocd' }, { managedBy: 'helm' });
    const entry = only(planOf([source], [target]));
    const warnings = entry.messages.filter((m) => m.code === 'managed-by');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]!.message).toMatch(/blue copy is managed by argocd.*suspend: false again.*--sync-policy none/);
    expect(warnings[1]!.message).toMatch(/green copy is managed by helm.*suspend it again/);
  });

  it('warns once per differing spec field', () => {
    const source = cronJob({ schedule: '*/15 * * * *', images: ['a:1'], startingDeadlineSeconds: 100 });
    const target = cronJob({ cluster: TARGET, suspend: true, schedule: '*/30 * * * *', images: ['a:2'], concurrencyPolicy: 'Allow' });
    const entry = only(planOf([source], [target]));
    expect(entry.differences).toEqual([
      { field: 'schedule', source: '*/15 * * * *', target: '*/30 * * * *' },
      { field: 'images', source: 'a:1', target: 'a:2' },
      { field: 'concurrencyPolicy', source: 'Forbid', target: 'Allow' },
      { field: 'startingDeadlineSeconds', source: '100', target: '(unset)' },
    ]);
    expect(entry.messages.filter((m) => m.code === 'spec-differs')).toHaveLength(4);
    expect(message(entry, 'spec-differs')).toMatch(/schedule differs.*green copy's schedule, and the baseline is computed from it/);
  });

  it('with missedRuns: latest, says which tick cutover starts on the target when the source has not run it yet', () => {
    const { source, target } = copies({ lastScheduleTime: '2025-06-02T09:45:00Z' });
    const entry = only(planOf([source], [target], { loaded: { cronjobs: { missedRuns: 'latest' } } }));
    const note = entry.messages.find((m) => m.code === 'missed-runs');
    expect(note?.severity).toBe('warning');
    expect(note?.message).toMatch(/tick 2025-06-02T10:00:00.000Z has not run on blue yet \(its last run: 2025-06-02T09:45:00Z\).*starts it once on green/);
  });

  it('with missedRuns: latest or all, says cutover starts the missed ticks itself, and that a suspended source hands over nothing older', () => {
    const upToDate = copies({ lastScheduleTime: '2025-06-02T10:00:00Z' });
    const latest = only(planOf([upToDate.source], [upToDate.target], { loaded: { cronjobs: { missedRuns: 'latest' } } }));
    expect(latest.messages.find((m) => m.code === 'missed-runs')).toMatchObject({ severity: 'info' });
    expect(message(latest, 'missed-runs')).toMatch(/cutover itself starts the latest tick missed during the handoff on green/);
    const all = only(planOf([upToDate.source], [upToDate.target], { loaded: { cronjobs: { missedRuns: 'all', missedRunsLimit: 3 } } }));
    expect(message(all, 'missed-runs')).toMatch(/each tick missed during the handoff \(at most 3\)/);
    const suspended = copies({ suspend: true, lastScheduleTime: '2025-06-02T09:45:00Z' });
    expect(message(only(planOf([suspended.source], [suspended.target], { loaded: { cronjobs: { missedRuns: 'all' } } })), 'missed-runs')).toMatch(
      /suspended on blue already.*ticks missed before it starts are not run/,
    );
  });

  it('points out a daylight-saving change of a CronJob zone within a day', () => {
    const { source, target } = copies({ schedule: '30 2 * * *', timeZone: 'Europe/Berlin' });
    const plan = planOf([source], [target], { observedAt: '2025-10-25T12:00:00.000Z' });
    expect(plan.messages).toEqual([expect.objectContaining({ severity: 'info', code: 'dst-transition', subject: 'Europe/Berlin' })]);
    expect(plan.messages[0]!.message).toMatch(/2025-10-26T01:00:00.000Z.*repeated hour runs twice/);
    expect(only(plan).nextTicks.slice(0, 2)).toEqual(['2025-10-26T00:30:00.000Z', '2025-10-26T01:30:00.000Z']);
  });

  it('warns when the runbook selects no CronJob at all', () => {
    const plan = planOf([], []);
    expect(plan.messages).toEqual([expect.objectContaining({ severity: 'warning', code: 'no-cronjobs' })]);
  });
});

describe('buildPlan: steps', () => {
  const shiftSteps: Step[] = [
    { kind: 'preflight' },
    { kind: 'moveCronJobs' },
    { kind: 'shiftTraffic', percent: 10, soakMs: 300_000 },
    { kind: 'gate', gate: { type: 'cronjobFirstRun' }, timeoutMs: 600_000 },
    { kind: 'shiftTraffic', percent: 50, soakMs: 0 },
    { kind: 'approve', via: 'slack', required: 2, timeoutMs: 1_800_000 },
    { kind: 'shiftTraffic', name: 'all in', percent: 100, soakMs: 0 },
  ];

  function shiftPlan(records = [weightedRecord('blue', 100), weightedRecord('green', 0), weightedRecord('canary', 10)]): Plan {
    const { source, target } = copies();
    const obs = observation({
      observedAt: NOW,
      source: { cronJobs: [source] },
      target: { cronJobs: [target] },
      dns: { 'api.example.com.|A': records },
    });
    const slack = { channel: 'C1', approvers: ['U1', 'U2'], botTokenEnv: 'B', appTokenEnv: 'A', allowSelfApproval: false };
    return buildPlan(obs, loadedRunbook({ steps: shiftSteps, environment: { dns: dnsSection(), slack } }));
  }

  type Shift = Extract<StepPlanEntry, { kind: 'shiftTraffic' }>;
  const shifts = (plan: Plan): Shift[] => plan.steps.filter((s): s is Shift => s.kind === 'shiftTraffic');

  it('has one entry per runbook step, labelled and numbered', () => {
    const plan = shiftPlan();
    expect(plan.steps.map((s) => [s.index, s.kind, s.label])).toEqual([
      [0, 'preflight', 'preflight'],
      [1, 'moveCronJobs', 'move CronJobs'],
      [2, 'shiftTraffic', 'shift 10% of traffic to the target'],
      [3, 'gate', 'gate: cronjobFirstRun'],
      [4, 'shiftTraffic', 'shift 50% of traffic to the target'],
      [5, 'approve', 'approval via slack'],
      [6, 'shiftTraffic', 'all in'],
    ]);
    expect(plan.steps[1]).toMatchObject({ count: 1 });
    expect(plan.steps[3]).toMatchObject({ gateType: 'cronjobFirstRun', timeoutMs: 600_000 });
    expect(plan.steps[5]).toMatchObject({ via: 'slack', required: 2, approvers: ['U1', 'U2'] });
  });

  it('starts each traffic step from the weights the previous one leaves', () => {
    const [first, second, third] = shifts(shiftPlan());
    expect(second!.groups[0]!.before).toEqual(first!.groups[0]!.after);
    expect(third!.groups[0]!.before).toEqual(second!.groups[0]!.after);
  });

  it('shows the effective share of every record, a third record included', () => {
    const [first, , last] = shifts(shiftPlan());
    const before = first!.groups[0]!.before;
    expect(before.map((s) => [s.setIdentifier, s.weight, s.percent])).toEqual([
      ['blue', 100, 90.91],
      ['green', 0, 0],
      ['canary', 10, 9.09],
    ]);
    const after = Object.fromEntries(first!.groups[0]!.after.map((s) => [s.setIdentifier, s]));
    // 10% of the blue+green traffic goes to green; the canary keeps its weight and its share.
    expect(after.green!.weight / (after.green!.weight + after.blue!.weight)).toBeCloseTo(0.1);
    expect(after.canary).toMatchObject({ weight: 10, percent: 9.09 });
    const end = Object.fromEntries(last!.groups[0]!.after.map((s) => [s.setIdentifier, s]));
    expect(end.blue!.weight).toBe(0);
    expect(end.green!.weight).toBeGreaterThan(0);
  });

  it('turns a DNS trap into a plan error instead of throwing', () => {
    const plan = shiftPlan([weightedRecord('blue', 100), weightedRecord('', Number.NaN)]);
    const errors = plan.messages.filter((m) => m.severity === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ code: 'dns-invalid', subject: 'shift 10% of traffic to the target' });
    expect(shifts(plan)[0]!.groups).toEqual([]);
  });

  it('reports a DNS group that was not read as an error', () => {
    const { source, target } = copies();
    const obs = observation({ source: { cronJobs: [source] }, target: { cronJobs: [target] } });
    const plan = buildPlan(obs, loadedRunbook({ steps: shiftSteps, environment: { dns: dnsSection() } }));
    expect(plan.messages.filter((m) => m.code === 'dns-unavailable')).toHaveLength(3);
  });
});

describe('buildPlan: fingerprint', () => {
  const world = (overrides: { suspend?: boolean; last?: string; weight?: number; observedAt?: string; reversed?: boolean } = {}) => {
    const a = copies({ name: 'a', lastScheduleTime: overrides.last ?? '2025-06-02T10:00:00Z' }, { suspend: overrides.suspend ?? true });
    const b = copies({ name: 'b' });
    const jobs = [job(a.source, { name: 'a-1' }), job(b.source, { name: 'b-1' })];
    const order = <T>(items: T[]): T[] => (overrides.reversed ? [...items].reverse() : items);
    return buildPlan(
      observation({
        observedAt: overrides.observedAt ?? NOW,
        source: { cronJobs: order([a.source, b.source]), jobs: order(jobs) },
        target: { cronJobs: order([a.target, b.target]) },
        dns: { 'api.example.com.|A': order([weightedRecord('blue', overrides.weight ?? 100), weightedRecord('green', 0)]) },
      }),
      loadedRunbook({ steps: [{ kind: 'shiftTraffic', percent: 10, soakMs: 0 }], environment: { dns: dnsSection() } }),
    ).fingerprint;
  };

  it('is a sha256 that ignores the observation time and the order things were listed in', () => {
    expect(world()).toMatch(/^[0-9a-f]{64}$/);
    expect(world({ observedAt: '2025-06-02T11:00:00.000Z' })).toBe(world());
    expect(world({ reversed: true })).toBe(world());
  });

  it('changes with what execute depends on', () => {
    const base = world();
    expect(world({ suspend: false })).not.toBe(base);
    expect(world({ last: '2025-06-02T10:15:00Z' })).not.toBe(base);
    expect(world({ weight: 90 })).not.toBe(base);
  });
});

describe('buildPlan at scale', () => {
  /** Counts element reads of an array, to show the planner reads each input a bounded number of times. */
  function counted<T>(items: T[]): { items: T[]; reads: () => number } {
    let reads = 0;
    const proxy = new Proxy(items, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads += 1;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    return { items: proxy, reads: () => reads };
  }

  it('plans 2,000 CronJobs reading each CronJob and Job a bounded number of times (no n² lookups)', () => {
    const n = 2_000;
    const pairs = Array.from({ length: n }, (_, i) => copies({ name: `cj-${String(i).padStart(4, '0')}`, schedule: `${i % 60} * * * *` }));
    const jobs = counted(pairs.map((p, i) => job(p.source, { name: `cj-${i}-job`, ...(i % 2 === 0 ? { outcome: 'Complete' as const } : {}) })));
    const targets = counted(pairs.map((p) => p.target));
    const plan = buildPlan(
      observation({ source: { cronJobs: pairs.map((p) => p.source), jobs: jobs.items }, target: { cronJobs: targets.items } }),
      loadedRunbook(),
    );
    expect(plan.cronJobs).toHaveLength(n);
    expect(plan.cronJobs.filter((e) => e.source.activeJobs.length === 1)).toHaveLength(n / 2);
    expect(plan.cronJobs[1]!.source.activeJobs).toEqual(['cj-1-job']);
    expect(jobs.reads()).toBeLessThanOrEqual(5 * n);
    expect(targets.reads()).toBeLessThanOrEqual(5 * n);
  });
});
