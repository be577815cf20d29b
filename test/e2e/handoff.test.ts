// Issue 3, on the real lab: `cutover execute` moves four minutely CronJobs from blue to green, side by side,
// and afterwards no tick has run on both clusters, green runs the ticks after the handoff, blue none, and
// (watched on both apiservers during the run) there was no instant with both copies enabled.
//   stale    the green copy's lastScheduleTime is ten minutes old: resuming it without a baseline starts a
//            Job at once for a tick blue already ran (a control CronJob shows the controller doing so);
//   long     a Job still running at cutover time (75 s), which the handoff must drain;
//   kolkata  timeZone Asia/Kolkata;
//   forbid   concurrencyPolicy Forbid, which only a drain keeps true across two clusters.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PatchStrategy, setHeaderOptions, type V1CronJob, type V1Job } from '@kubernetes/client-node';
import { describe, expect, onTestFinished, test } from 'vitest';
import { MINUTE, SuspendWatch, batch, cutover, sleep, writeHandoffRunbook } from '../support/crash.js';
import { createNamespace, uniqueName, waitFor, type LabCluster } from '../support/lab.js';

const SCHEDULED = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface Scenario {
  name: string;
  timeZone?: string;
  concurrencyPolicy?: 'Forbid';
  runSeconds?: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'stale' },
  { name: 'long', runSeconds: 75 },
  { name: 'kolkata', timeZone: 'Asia/Kolkata' },
  { name: 'forbid', concurrencyPolicy: 'Forbid' },
];

function cronJob(scenario: Scenario, suspend: boolean): V1CronJob {
  const annotations: Record<string, string> = scenario.runSeconds ? { 'lab.cutover.dev/run-seconds': String(scenario.runSeconds) } : {};
  return {
    metadata: { name: scenario.name },
    spec: {
      schedule: '* * * * *',
      suspend,
      // The default history (3 successful Jobs) would delete the evidence of earlier ticks during the test.
      successfulJobsHistoryLimit: 50,
      failedJobsHistoryLimit: 50,
      ...(scenario.timeZone ? { timeZone: scenario.timeZone } : {}),
      ...(scenario.concurrencyPolicy ? { concurrencyPolicy: scenario.concurrencyPolicy } : {}),
      jobTemplate: {
        spec: {
          backoffLimit: 0,
          template: { metadata: { annotations }, spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox' }] } },
        },
      },
    },
  };
}

const kubeTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function writeLastScheduleTime(cluster: LabCluster, namespace: string, name: string, at: number): Promise<void> {
  await batch(cluster).patchNamespacedCronJobStatus({ name, namespace, body: { status: { lastScheduleTime: kubeTime(at) } } }, mergePatch);
}

// ---------------------------------------------------------------------------------------------------------

interface RanJob {
  cluster: LabCluster;
  name: string;
  cronJob: string;
  tick: number;
  created: number;
  finished?: number;
  active: boolean;
}

async function ranJobs(namespace: string): Promise<RanJob[]> {
  const all: RanJob[] = [];
  for (const cluster of ['blue', 'green'] as const) {
    const jobs: V1Job[] = (await batch(cluster).listNamespacedJob({ namespace })).items;
    all.push(...jobs.map((job) => ranJob(cluster, job)));
  }
  return all;
}

function ranJob(cluster: LabCluster, job: V1Job): RanJob {
  const meta = job.metadata!;
  const owner = meta.ownerReferences?.find((o) => o.controller === true && o.kind === 'CronJob');
  const done = job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  return {
    cluster,
    name: meta.name!,
    cronJob: owner?.name ?? '?',
    tick: Date.parse(meta.annotations?.[SCHEDULED] ?? ''),
    created: new Date(meta.creationTimestamp!).getTime(),
    ...(done?.lastTransitionTime ? { finished: new Date(done.lastTransitionTime).getTime() } : {}),
    active: !done,
  };
}

describe('cutover execute hands CronJobs over on the real lab (issue 3)', () => {
  // The evidence is about the shipped binary, built from the current sources by the e2e global setup.

  test('no tick runs on both clusters, green runs the ticks after the handoff, never both copies enabled', async () => {
    const namespace = uniqueName('handoff');
    await createNamespace('blue', 'handoff', namespace);
    await createNamespace('green', 'handoff', namespace);
    const controlNamespace = await createNamespace('green', 'handoff-control');
    const dir = await mkdtemp(join(tmpdir(), 'cutover-handoff-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));

    for (const scenario of SCENARIOS) {
      await batch('blue').createNamespacedCronJob({ namespace, body: cronJob(scenario, false) });
      await batch('green').createNamespacedCronJob({ namespace, body: cronJob(scenario, true) });
    }
    await batch('green').createNamespacedCronJob({ namespace: controlNamespace, body: cronJob({ name: 'control' }, true) });
    const watch = new SuspendWatch({ namespace });
    await watch.start();
    onTestFinished(() => watch.stop());

    // Blue runs its first tick; `long` then has a Job that outlives the handoff's start.
    await waitFor(
      'a first Job of every CronJob on blue, the long one still running',
      async () => {
        const jobs = (await ranJobs(namespace)).filter((j) => j.cluster === 'blue');
        const ready = SCENARIOS.every((s) => jobs.some((j) => j.cronJob === s.name)) && jobs.some((j) => j.cronJob === 'long' && j.active);
        return ready ? true : undefined;
      },
      { timeoutMs: 2 * MINUTE + 30_000, intervalMs: 1_000 },
    );
    const longJob = (await ranJobs(namespace)).find((j) => j.cluster === 'blue' && j.cronJob === 'long' && j.active)!;
    // Green copies that have been suspended for minutes: the controller's baseline lies ten ticks back.
    const staleBaseline = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
    await writeLastScheduleTime('green', namespace, 'stale', staleBaseline);
    await writeLastScheduleTime('green', controlNamespace, 'control', staleBaseline);

    const { runbook } = await writeHandoffRunbook(dir, [namespace], { name: 'handoff-e2e', concurrency: 4 });
    const started = Date.now();
    // The control is resumed without a baseline, as a hand-made cutover would do it.
    await batch('green').patchNamespacedCronJob({ name: 'control', namespace: controlNamespace, body: { spec: { suspend: false } } }, mergePatch);
    const result = await cutover(['execute', '-f', runbook, '--yes']);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    const handedOff = Date.now();

    // Two more ticks, then a little time for green's controller to start their Jobs.
    await sleep(Math.floor(handedOff / MINUTE) * MINUTE + 2 * MINUTE + 20_000 - Date.now());
    await watch.stop();
    const jobs = await ranJobs(namespace);
    const end = Date.now();

    // The hazard is real on this controller: the control started a Job at once for a tick already past.
    const control = (await batch('green').listNamespacedJob({ namespace: controlNamespace })).items;
    const catchUp = Math.min(...control.map((j) => Date.parse(j.metadata?.annotations?.[SCHEDULED] ?? '')));
    expect(catchUp).toBeLessThanOrEqual(started);
    expect(catchUp).toBeGreaterThan(staleBaseline);

    expect(watch.bothEnabled()).toEqual([]);
    for (const { name } of SCENARIOS) {
      const mine = jobs.filter((j) => j.cronJob === name);
      const perTick = new Map<number, string[]>();
      for (const job of mine) perTick.set(job.tick, [...(perTick.get(job.tick) ?? []), `${job.cluster}/${job.name}`]);
      expect([...perTick.values()].filter((names) => names.length > 1), `${name}: ticks run on both clusters`).toEqual([]);

      const suspendedOnBlue = watch.switchedAt('blue', `${namespace}/${name}`, true);
      const resumedOnGreen = watch.switchedAt('green', `${namespace}/${name}`, false);
      expect(suspendedOnBlue, `${name}: seen suspended on blue`).toBeDefined();
      expect(resumedOnGreen, `${name}: seen resumed on green`).toBeDefined();
      expect(resumedOnGreen!).toBeGreaterThan(suspendedOnBlue!);
      expect(resumedOnGreen!).toBeLessThanOrEqual(handedOff);

      const lateOnBlue = mine.filter((j) => j.cluster === 'blue' && j.tick > suspendedOnBlue!);
      expect(lateOnBlue, `${name}: blue ran nothing after its suspend`).toEqual([]);
      const greenTicks = mine.filter((j) => j.cluster === 'green').map((j) => j.tick).sort((a, b) => a - b);
      const due: number[] = [];
      for (let t = Math.floor(resumedOnGreen! / MINUTE) * MINUTE + MINUTE; t <= end - 20_000; t += MINUTE) due.push(t);
      expect(due.length, `${name}: ticks due on green during the test`).toBeGreaterThanOrEqual(2);
      expect(greenTicks.filter((t) => t > resumedOnGreen!), `${name}: green ran every tick after its resume`).toEqual(
        expect.arrayContaining(due),
      );
    }

    // stale: no catch-up Job on green for a tick blue had run.
    const blueStaleTicks = new Set(jobs.filter((j) => j.cronJob === 'stale' && j.cluster === 'blue').map((j) => j.tick));
    expect(jobs.filter((j) => j.cronJob === 'stale' && j.cluster === 'green' && blueStaleTicks.has(j.tick))).toEqual([]);
    // long: green was resumed only after the Job running at cutover time had finished on blue.
    const drained = jobs.find((j) => j.cluster === 'blue' && j.name === longJob.name);
    expect(drained?.finished, 'the long Job finished on blue').toBeDefined();
    expect(watch.switchedAt('green', `${namespace}/long`, false)!).toBeGreaterThanOrEqual(drained!.finished! - 1_000);
    // forbid: no green Job started before every blue Job had finished.
    const blueForbid = jobs.filter((j) => j.cronJob === 'forbid' && j.cluster === 'blue');
    const firstGreenForbid = Math.min(...jobs.filter((j) => j.cronJob === 'forbid' && j.cluster === 'green').map((j) => j.created));
    for (const job of blueForbid) expect(job.finished ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(firstGreenForbid);
  }, 9 * MINUTE);
});
