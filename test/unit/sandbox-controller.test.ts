// The simulated CronJob controller must behave like kube-controller-manager's (shared/DOMAIN.md): these
// are the behaviours a rehearsal's prediction depends on. The same scenarios run against the real lab in
// test/e2e/conformance.test.ts.
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/adapters/sandbox/clock.js';
import { SimulatedCluster, type SimCronJobSpec } from '../../src/adapters/sandbox/cluster.js';

const START = new Date('2026-03-02T10:00:20Z');

function world(start = START): { clock: VirtualClock; cluster: SimulatedCluster } {
  const clock = new VirtualClock(start);
  return { clock, cluster: new SimulatedCluster('green', clock) };
}

const minutely = (over: Partial<SimCronJobSpec> = {}): SimCronJobSpec => ({
  namespace: 'billing',
  name: 'mailer',
  schedule: '* * * * *',
  jobSeconds: 5,
  ...over,
});

const ticksOf = (cluster: SimulatedCluster): string[] => cluster.jobs().map((j) => j.scheduledTime!);

describe('virtual clock', () => {
  it('jumps to the earliest sleeper and keeps scheduling order for equal times', async () => {
    const clock = new VirtualClock(START);
    const order: string[] = [];
    await Promise.all([
      clock.sleep(60_000).then(() => order.push(`b@${clock.now().toISOString()}`)),
      clock.sleep(1_000).then(() => order.push(`a@${clock.now().toISOString()}`)),
      clock.sleep(60_000).then(() => order.push(`c@${clock.now().toISOString()}`)),
    ]);
    expect(order).toEqual(['a@2026-03-02T10:00:21.000Z', 'b@2026-03-02T10:01:20.000Z', 'c@2026-03-02T10:01:20.000Z']);
  });

  it('does not advance on daemon timers alone', async () => {
    const clock = new VirtualClock(START);
    let fired = false;
    clock.schedule(START.getTime() + 1_000, () => (fired = true), { daemon: true });
    await new Promise((r) => setTimeout(r, 20));
    expect(fired).toBe(false);
    expect(clock.now()).toEqual(START);
  });

  it('rejects a sleep when its signal aborts', async () => {
    const clock = new VirtualClock(START);
    const abort = new AbortController();
    const sleeping = clock.sleep(10_000, abort.signal);
    abort.abort(new Error('operator pressed Ctrl-C'));
    await expect(sleeping).rejects.toThrow('Ctrl-C');
  });
});

describe('simulated CronJob controller', () => {
  it('starts one Job per tick while enabled, named after the tick in minutes', async () => {
    const { clock, cluster } = world();
    cluster.addCronJob(minutely());
    await clock.sleep(150_000);
    expect(ticksOf(cluster)).toEqual(['2026-03-02T10:01:00.000Z', '2026-03-02T10:02:00.000Z']);
    expect(cluster.jobs()[0]!.name).toBe(`mailer-${Date.parse('2026-03-02T10:01:00Z') / 60_000}`);
  });

  it('starts a catch-up Job at once when a suspended CronJob with missed ticks is resumed', async () => {
    const { clock, cluster } = world();
    const cj = cluster.addCronJob(
      minutely({ suspend: true, creationTimestamp: '2026-03-02T09:50:00Z', lastScheduleTime: '2026-03-02T09:55:00Z' }),
    );
    await clock.sleep(1_000);
    await cluster.setSuspend(cj, false);
    await clock.sleep(1_000);
    // Only the single most recent missed tick is started, not every tick since 09:55.
    expect(ticksOf(cluster)).toEqual(['2026-03-02T10:00:00.000Z']);
  });

  it('starts nothing on resume when lastScheduleTime was first set to the latest tick', async () => {
    const { clock, cluster } = world();
    const cj = cluster.addCronJob(minutely({ suspend: true, lastScheduleTime: '2026-03-02T09:55:00Z' }));
    await cluster.setLastScheduleTime(cj, '2026-03-02T10:00:00Z');
    await cluster.setSuspend(cj, false);
    await clock.sleep(30_000);
    expect(ticksOf(cluster)).toEqual([]);
    await clock.sleep(40_000);
    expect(ticksOf(cluster)).toEqual(['2026-03-02T10:01:00.000Z']);
  });

  it('does not catch up a tick older than startingDeadlineSeconds', async () => {
    const { clock, cluster } = world();
    const cj = cluster.addCronJob(
      minutely({ suspend: true, startingDeadlineSeconds: 10, lastScheduleTime: '2026-03-02T09:55:00Z' }),
    );
    await cluster.setSuspend(cj, false);
    await clock.sleep(30_000);
    expect(ticksOf(cluster)).toEqual([]);
  });

  it('leaves a tick missed under Forbid while a Job runs, and starts it when the Job finishes', async () => {
    const { clock, cluster } = world();
    cluster.addCronJob(minutely({ concurrencyPolicy: 'Forbid', jobSeconds: 90 }));
    await clock.sleep(190_000);
    // 10:01 runs until 10:02:30.1; the 10:02 tick is held back and started when that Job finishes. The
    // controller wakes 100 ms after a tick, as the real one does.
    const jobs = cluster.jobs().map((j) => [j.scheduledTime, j.creationTimestamp]);
    expect(jobs[0]).toEqual(['2026-03-02T10:01:00.000Z', '2026-03-02T10:01:00.100Z']);
    expect(jobs[1]).toEqual(['2026-03-02T10:02:00.000Z', '2026-03-02T10:02:30.100Z']);
    expect(cluster.events.some((e) => e.reason === 'JobAlreadyActive')).toBe(true);
  });

  it('evaluates the schedule in the CronJob timeZone', async () => {
    const { clock, cluster } = world(new Date('2026-03-02T03:29:30Z'));
    cluster.addCronJob(minutely({ schedule: '0 9 * * *', timeZone: 'Asia/Kolkata' }));
    await clock.sleep(60_000);
    // 09:00 in Kolkata (UTC+5:30) is 03:30 UTC.
    expect(ticksOf(cluster)).toEqual(['2026-03-02T03:30:00.000Z']);
  });

  // Issue 12: the controller estimates where to look for the latest missed tick; on uneven schedules the
  // estimate can lie past it and no Job starts at all.
  it('starts no Job on resume where the controller estimate skips the latest missed tick (*/5 9-17, resumed 18:00)', async () => {
    const { clock, cluster } = world(new Date('2026-03-02T18:00:05Z'));
    const cj = cluster.addCronJob(minutely({ schedule: '*/5 9-17 * * *', suspend: true, lastScheduleTime: '2026-03-02T17:45:00Z' }));
    await cluster.setSuspend(cj, false);
    await clock.sleep(60_000);
    expect(ticksOf(cluster)).toEqual([]);
  });

  it('starts the latest missed tick where the estimate finds it (*/5 9-17, resumed 17:58)', async () => {
    const { clock, cluster } = world(new Date('2026-03-02T17:58:05Z'));
    const cj = cluster.addCronJob(minutely({ schedule: '*/5 9-17 * * *', suspend: true, lastScheduleTime: '2026-03-02T17:45:00Z' }));
    await cluster.setSuspend(cj, false);
    await clock.sleep(1_000);
    expect(ticksOf(cluster)).toEqual(['2026-03-02T17:55:00.000Z']);
  });

  it('checks whether the tick was already started before Forbid: no JobAlreadyActive for a handled tick', async () => {
    const { clock, cluster } = world(new Date('2026-03-02T10:00:30Z'));
    const cj = cluster.addCronJob(minutely({ concurrencyPolicy: 'Forbid', lastScheduleTime: '2026-03-02T10:00:00Z' }));
    cluster.addRunningJob(cj, '2026-03-02T10:00:00Z', 600);
    await cluster.setLastScheduleTime(cj, '2026-03-02T10:00:00Z');
    await clock.sleep(10_000);
    expect(cluster.events.map((e) => e.reason)).not.toContain('JobAlreadyActive');
  });

  it('runs a CronJob in time zone Factory (the API server accepts it; Go reads it as UTC)', async () => {
    const { clock, cluster } = world(new Date('2026-03-02T09:59:30Z'));
    cluster.addCronJob(minutely({ schedule: '0 10 * * *', timeZone: 'Factory' }));
    await clock.sleep(60_000);
    expect(ticksOf(cluster)).toEqual(['2026-03-02T10:00:00.000Z']);
  });

  it('filters listed CronJobs by namespace and label selector', async () => {
    const { cluster } = world();
    cluster.addCronJob(minutely({ labels: { team: 'billing' } }));
    cluster.addCronJob(minutely({ name: 'other', labels: { team: 'ops' } }));
    cluster.addCronJob(minutely({ namespace: 'elsewhere', labels: { team: 'billing' } }));
    const found = await cluster.listCronJobs({ namespaces: ['billing'], labelSelector: 'team in (billing)' });
    expect(found.map((c) => c.name)).toEqual(['mailer']);
  });
});
