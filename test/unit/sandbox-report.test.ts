// The rehearsal report must catch exactly what the product promises never to do (a tick run on both
// clusters, both copies enabled at once) and show what operators plan around (missed ticks, the ticks that
// fall inside a handoff window). Worlds are driven by hand on the simulated controller.
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/adapters/sandbox/clock.js';
import { SimulatedCluster, type SimCronJobSpec } from '../../src/adapters/sandbox/cluster.js';
import { buildReport, renderReport, type RehearsalReport } from '../../src/adapters/sandbox/report.js';
import type { JournalEntry } from '../../src/steps/types.js';

const START = new Date('2026-03-02T10:00:20Z');
const REF = { namespace: 'billing', name: 'mailer' };

function pair(blue: Partial<SimCronJobSpec>, green: Partial<SimCronJobSpec>) {
  const clock = new VirtualClock(START);
  const clusters = { blue: new SimulatedCluster('blue', clock), green: new SimulatedCluster('green', clock) };
  const spec: SimCronJobSpec = { ...REF, schedule: '* * * * *', jobSeconds: 5 };
  clusters.blue.addCronJob({ ...spec, ...blue });
  clusters.green.addCronJob({ ...spec, ...green });
  return { clock, ...clusters };
}

function reportOf(world: ReturnType<typeof pair>, journal: JournalEntry[] = [], policy: 'Allow' | 'Forbid' = 'Allow'): RehearsalReport {
  const clusters = [world.blue, world.green];
  return buildReport({
    runbook: 'rb',
    from: 'blue',
    to: 'green',
    status: 'done',
    start: START,
    end: world.clock.now(),
    cronJobs: [{ key: 'billing/mailer', schedule: '* * * * *', concurrencyPolicy: policy }],
    jobs: clusters.flatMap((c) => c.jobs()),
    suspendHistory: { blue: world.blue.suspendHistory, green: world.green.suspendHistory },
    events: clusters.flatMap((c) => c.events),
    weights: [],
    journal,
    apiCalls: {},
  });
}

describe('rehearsal report', () => {
  it('counts a tick run on both clusters as a double run, and the copies enabled on both from the start', async () => {
    const world = pair({}, {});
    await world.clock.sleep(130_000);
    const report = reportOf(world);
    expect(report.doubleRuns).toBe(2);
    expect(report.cronJobs[0]!.doubleRuns).toEqual(['2026-03-02T10:01:00.000Z', '2026-03-02T10:02:00.000Z']);
    expect(report.cronJobs[0]!.enabledOnBoth).toEqual([{ from: START.toISOString(), atStart: true }]);
    // Found so at the start: shown, but not counted against the run.
    expect(report.enabledOnBoth).toBe(0);
    expect(renderReport(report)).toMatch(/10:01:00Z {2}blue:mailer-\d+ \(Complete\), green:mailer-\d+ \(Complete\) {2}DOUBLE RUN/);
    expect(renderReport(report)).toContain('Double runs: 2');
  });

  it('counts a moment the run left both copies enabled', async () => {
    const world = pair({}, { suspend: true });
    await world.clock.sleep(20_000);
    await world.green.setSuspend(REF, false);
    await world.clock.sleep(10_000);
    await world.blue.setSuspend(REF, true);
    const report = reportOf(world);
    expect(report.cronJobs[0]!.enabledOnBoth).toEqual([{ from: '2026-03-02T10:00:40.000Z', to: '2026-03-02T10:00:50.000Z' }]);
    expect(report.enabledOnBoth).toBe(1);
  });

  it('shows the handoff window with the ticks inside it, missed with missedRuns skip', async () => {
    const world = pair({}, { suspend: true });
    const journal: JournalEntry[] = [{ at: START.toISOString(), type: 'run', message: 'run started' }];
    await world.clock.sleep(20_000);
    await world.blue.setSuspend(REF, true);
    // Both suspended across the 10:01 tick; the target is baselined to it before it is resumed.
    await world.clock.sleep(60_000);
    await world.green.setLastScheduleTime(REF, '2026-03-02T10:01:00Z');
    await world.green.setSuspend(REF, false);
    await world.clock.sleep(60_000);
    journal.push({ at: world.clock.now().toISOString(), type: 'run', message: 'run done' });
    const report = reportOf(world, journal);
    const cj = report.cronJobs[0]!;
    expect(cj.handoff).toEqual({
      sourceSuspendedAt: '2026-03-02T10:00:40.000Z',
      targetResumedAt: '2026-03-02T10:01:40.000Z',
      ticksInside: ['2026-03-02T10:01:00.000Z'],
    });
    expect(cj.missedTicks).toEqual(['2026-03-02T10:01:00.000Z']);
    expect(cj.ticks.map((r) => [r.tick, r.jobs.map((j) => j.cluster)])).toEqual([
      ['2026-03-02T10:01:00.000Z', []],
      ['2026-03-02T10:02:00.000Z', ['green']],
    ]);
    expect(cj.enabledAtEnd).toEqual(['green']);
    expect(report).toMatchObject({ doubleRuns: 0, missedTicks: 1, ticksInsideHandoffs: 1, enabledOnBoth: 0, run: { durationMs: 140_000 } });
    expect(renderReport(report)).toContain('10:01:00Z  MISSED (no Job on either cluster)');
  });

  it('flags Jobs of a Forbid CronJob running at the same time on both clusters', async () => {
    const world = pair({ jobSeconds: 90, concurrencyPolicy: 'Forbid' }, { suspend: true, concurrencyPolicy: 'Forbid' });
    await world.clock.sleep(50_000);
    // Moved without a drain: the 10:01 Job on blue still runs when green starts 10:02.
    await world.blue.setSuspend(REF, true);
    await world.green.setLastScheduleTime(REF, '2026-03-02T10:01:00Z');
    await world.green.setSuspend(REF, false);
    await world.clock.sleep(70_000);
    const report = reportOf(world, [], 'Forbid');
    expect(report.concurrentRuns).toBe(1);
    expect(report.cronJobs[0]!.concurrentRuns[0]).toMatch(/^blue\/mailer-\d+ and green\/mailer-\d+$/);
  });
});
