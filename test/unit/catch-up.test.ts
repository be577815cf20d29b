// Which ticks missed during a handoff run late on the target (issue 12: cutover owns catch-up), the Job
// cutover starts for them, and the controller's annotation format it copies.
import type { V1CronJob } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { activeReference, addActivePatch, jobForTick, jobNameForTick } from '../../src/adapters/k8s/jobs.js';
import { rfc3339InZone } from '../../src/plan/zone.js';
import { decideCatchUp, describeTick, type CatchUpInput } from '../../src/plan/catch-up.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (ticks: number[]): string[] => ticks.map((t) => new Date(t).toISOString());

function input(over: Partial<CatchUpInput>): CatchUpInput {
  return {
    policy: 'latest',
    limit: 10,
    schedule: '*/5 9-17 * * *',
    concurrencyPolicy: 'Allow',
    windowFrom: at('2026-03-02T17:45:00Z'),
    sourceRan: at('2026-03-02T17:45:00Z'),
    sourceJobTicks: new Set(),
    targetJobTicks: new Set(),
    targetBusy: false,
    now: at('2026-03-02T18:00:05Z'),
    ...over,
  };
}

describe('decideCatchUp', () => {
  it('latest: the tick the controller alone would lose on an uneven schedule (last run 17:45, resumed 18:00) runs once', () => {
    const decision = decideCatchUp(input({}));
    expect(iso(decision.missed)).toEqual(['2026-03-02T17:50:00.000Z', '2026-03-02T17:55:00.000Z']);
    expect(iso(decision.create)).toEqual(['2026-03-02T17:55:00.000Z']);
    expect(decision.skip).toEqual([{ tick: at('2026-03-02T17:50:00Z'), reason: 'missedRuns: latest runs only the latest missed tick' }]);
  });

  it('all: every missed tick, in order; with a limit the latest ones, the older ones skipped with the reason', () => {
    expect(iso(decideCatchUp(input({ policy: 'all' })).create)).toEqual(['2026-03-02T17:50:00.000Z', '2026-03-02T17:55:00.000Z']);
    const limited = decideCatchUp(input({ policy: 'all', limit: 1, windowFrom: at('2026-03-02T17:30:00Z'), sourceRan: at('2026-03-02T17:30:00Z') }));
    expect(iso(limited.create)).toEqual(['2026-03-02T17:55:00.000Z']);
    expect(limited.skip.map((s) => s.reason)).toEqual(Array(4).fill('missedRunsLimit 1: only the latest 1 missed ticks run'));
  });

  it('skip: nothing runs, every missed tick is reported', () => {
    const decision = decideCatchUp(input({ policy: 'skip' }));
    expect(decision.create).toEqual([]);
    expect(decision.skip.map((s) => s.reason)).toEqual(['missedRuns: skip', 'missedRuns: skip']);
  });

  it('never a tick with a Job on either cluster, nor one at or before what the source ran or the window start', () => {
    const decision = decideCatchUp(
      input({
        policy: 'all',
        windowFrom: at('2026-03-02T17:40:00Z'),
        sourceRan: at('2026-03-02T17:45:00Z'),
        sourceJobTicks: new Set([at('2026-03-02T17:50:00Z')]),
        targetJobTicks: new Set([at('2026-03-02T17:55:00Z')]),
      }),
    );
    expect(decision.missed).toEqual([]);
    expect(decision.create).toEqual([]);
  });

  it('Forbid and Replace run only the latest, and nothing while a target Job still runs', () => {
    for (const concurrencyPolicy of ['Forbid', 'Replace'] as const) {
      const decision = decideCatchUp(input({ policy: 'all', concurrencyPolicy }));
      expect(iso(decision.create)).toEqual(['2026-03-02T17:55:00.000Z']);
      expect(decision.skip[0]!.reason).toBe(`concurrencyPolicy ${concurrencyPolicy}: only the latest missed tick runs`);
      const busy = decideCatchUp(input({ policy: 'latest', concurrencyPolicy, targetBusy: true }));
      expect(busy.create).toEqual([]);
      expect(busy.skip.map((s) => s.reason)).toEqual(Array(2).fill(`concurrencyPolicy ${concurrencyPolicy}: a Job of the target copy is still running`));
    }
    expect(decideCatchUp(input({ targetBusy: true })).create).toHaveLength(1);
  });

  it('a tick past startingDeadlineSeconds is not started (the controller would not either)', () => {
    const decision = decideCatchUp(input({ policy: 'all', startingDeadlineSeconds: 400 }));
    expect(iso(decision.create)).toEqual(['2026-03-02T17:55:00.000Z']);
    expect(decision.skip[0]!.reason).toMatch(/past its startingDeadlineSeconds \(400s\)/);
  });

  it('Jobs started before a crash count against the policy: a resumed latest starts no second one', () => {
    const decision = decideCatchUp(input({ alreadyStarted: 1 }));
    expect(decision.create).toEqual([]);
    expect(decision.skip.map((s) => s.reason)).toEqual(
      Array(2).fill('this handoff already started 1 Job(s) for missed ticks, as many as missedRuns: latest allows'),
    );
    expect(decideCatchUp(input({ policy: 'all', limit: 2, alreadyStarted: 1 })).create).toHaveLength(1);
  });

  it('ticks in the CronJob zone, across the spring change (Europe/Berlin 2026-03-29, 02:00 → 03:00)', () => {
    const decision = decideCatchUp(
      input({
        policy: 'all',
        schedule: '30 1-4 * * *',
        timeZone: 'Europe/Berlin',
        windowFrom: at('2026-03-29T00:00:00Z'),
        sourceRan: at('2026-03-29T00:00:00Z'),
        now: at('2026-03-29T02:45:00Z'),
      }),
    );
    // 01:30 CET (00:30Z), then 03:30 and 04:30 CEST (01:30Z, 02:30Z): 02:30 does not exist that day.
    expect(iso(decision.create)).toEqual(['2026-03-29T00:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-29T02:30:00.000Z']);
  });

  it('describes each outcome for the journal', () => {
    expect(describeTick('b/x', { tick: '2026-03-02T17:55:00.000Z', outcome: 'late', cluster: 'green', job: 'x-29541475' })).toBe(
      'b/x: tick 2026-03-02T17:55:00Z ran late on green as Job x-29541475 (created by cutover)',
    );
    expect(describeTick('b/x', { tick: '2026-03-02T17:55:00.000Z', outcome: 'skipped', reason: 'missedRuns: skip' })).toBe(
      'b/x: tick 2026-03-02T17:55:00Z runs nowhere (missedRuns: skip)',
    );
    expect(describeTick('b/x', { tick: '2026-03-02T17:55:00.000Z', outcome: 'source', cluster: 'blue', job: 'x-1' })).toMatch(/ran on blue as Job x-1/);
  });
});

describe('the Job cutover starts for a missed tick', () => {
  const cronJob: V1CronJob = {
    metadata: { name: 'digest', namespace: 'billing', uid: 'cj-uid', resourceVersion: '42' },
    spec: {
      schedule: '30 9 * * *',
      timeZone: 'Asia/Kolkata',
      jobTemplate: {
        metadata: { labels: { app: 'digest' }, annotations: { team: 'billing' } },
        spec: { backoffLimit: 2, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox:1.36' }] } } },
      },
    },
    status: { active: [{ kind: 'Job', name: 'older', namespace: 'billing', uid: 'older-uid' }] },
  };

  it("is the controller's own Job for that tick: name, zone-local annotation, template labels, controller owner", () => {
    const tick = at('2026-03-02T04:00:00Z');
    const job = jobForTick(cronJob, tick);
    expect(job.metadata?.name).toBe(`digest-${tick / 60_000}`);
    expect(jobNameForTick('digest', tick + 59_999)).toBe(`digest-${tick / 60_000}`);
    expect(job.metadata?.labels).toEqual({ app: 'digest' });
    expect(job.metadata?.annotations).toEqual({
      team: 'billing',
      'batch.kubernetes.io/cronjob-scheduled-timestamp': '2026-03-02T09:30:00+05:30',
      'cutover.dev/started-by': 'cutover',
    });
    expect(job.metadata?.ownerReferences).toEqual([
      { apiVersion: 'batch/v1', kind: 'CronJob', name: 'digest', uid: 'cj-uid', controller: true, blockOwnerDeletion: true },
    ]);
    expect(job.spec).toEqual(cronJob.spec!.jobTemplate.spec);
    expect(job.spec).not.toBe(cronJob.spec!.jobTemplate.spec);
  });

  it('is added to status.active once, guarded by the resourceVersion it was read at', () => {
    const job = { ...jobForTick(cronJob, at('2026-03-02T04:00:00Z')) };
    job.metadata = { ...job.metadata, uid: 'new-uid', resourceVersion: '7' };
    expect(addActivePatch(cronJob, job)).toEqual({
      metadata: { resourceVersion: '42' },
      status: { active: [...cronJob.status!.active!, activeReference(job)] },
    });
    expect(activeReference(job)).toEqual({ apiVersion: 'batch/v1', kind: 'Job', namespace: 'billing', name: job.metadata.name, uid: 'new-uid', resourceVersion: '7' });
    const listed = { ...cronJob, status: { active: [activeReference(job)] } };
    expect(addActivePatch(listed, job)).toBeUndefined();
  });
});

describe('rfc3339InZone (Go time.Format RFC3339 in the CronJob zone)', () => {
  it.each([
    ['2026-03-02T04:00:00Z', 'Asia/Kolkata', '2026-03-02T09:30:00+05:30'],
    ['2026-07-01T12:00:00Z', 'Europe/Berlin', '2026-07-01T14:00:00+02:00'],
    ['2026-01-01T12:00:00Z', 'Europe/Berlin', '2026-01-01T13:00:00+01:00'],
    ['2026-01-01T12:00:00Z', 'America/New_York', '2026-01-01T07:00:00-05:00'],
    ['2026-01-01T12:00:00Z', 'America/St_Johns', '2026-01-01T08:30:00-03:30'],
    ['2026-01-01T12:00:00.900Z', undefined, '2026-01-01T12:00:00Z'],
    ['2026-01-01T12:00:00Z', 'UTC', '2026-01-01T12:00:00Z'],
    ['2026-01-01T12:00:00Z', 'Factory', '2026-01-01T12:00:00Z'],
  ])('%s in %s is %s', (instant, zone, expected) => {
    expect(rfc3339InZone(Date.parse(instant), zone)).toBe(expected);
  });
});
