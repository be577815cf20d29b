// Issue 12, on the real lab: ticks missed during a handoff, on an uneven schedule where the CronJob controller
// alone loses them. The schedule `p,p+1,p+2 * * * *` (minutes) ticks three times a minute apart and then not
// for an hour. Blue ran tick p; its Job (made by the test, owned by blue's copy) runs until about p+3m05s,
// so the handoff drains through ticks p+1 and p+2. When green is resumed, the controller's own catch-up
// (resuming with blue's lastScheduleTime, as `run-once` used to) estimates three missed ticks from the
// first two, starts its scan at p+2 and finds nothing after it within the hour: it starts no Job. A control
// CronJob on green shows the real controller doing exactly that. Side by side, in their own namespaces:
//   latest  cutover starts p+2 on green itself; p+1 is recorded as skipped;
//   all     cutover starts p+1 and p+2 on green;
//   crash   as `all`, but the CLI is SIGKILLed right after the first Job creation answered; the re-run
//           starts the second one and no tick gets a second Job.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1CronJob, type V1Job } from '@kubernetes/client-node';
import { describe, expect, onTestFinished, test } from 'vitest';
import { MINUTE, SuspendWatch, batch, cutover, showResult, sleep, untilDone, writeHandoffRunbook } from '../support/crash.js';
import { createNamespace, kubeConfigFor, uniqueName, waitFor, type LabCluster } from '../support/lab.js';

const core = (cluster: LabCluster) => kubeConfigFor(cluster).makeApiClient(CoreV1Api);

const SCHEDULED = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const kubeTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const NAME = 'report';

// Kills the CLI as soon as the API server has answered its first Job creation (201), before anything else
// it does next: the second Job's creation, the status.active update, the progress save.
const KILL_AFTER_FIRST_JOB = `
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
const original = https.request;
https.request = function request(...args) {
  const req = original.apply(this, args);
  const options = args.find((a) => a && typeof a === 'object' && !(a instanceof URL)) ?? {};
  const target = typeof args[0] === 'string' || args[0] instanceof URL ? String(args[0]) : (options.path ?? '');
  if ((options.method ?? 'GET') === 'POST' && /\\/jobs(\\?|$)/.test(new URL(target, 'https://x').pathname + '?')) {
    req.on('response', (res) => { if (res.statusCode === 201) process.kill(process.pid, 'SIGKILL'); });
  }
  return req;
};
syncBuiltinESMExports();
`;

function cronJob(minutes: number[], suspend: boolean): V1CronJob {
  return {
    metadata: { name: NAME },
    spec: {
      schedule: `${minutes.map((m) => m % 60).join(',')} * * * *`,
      suspend,
      successfulJobsHistoryLimit: 50,
      failedJobsHistoryLimit: 50,
      jobTemplate: {
        metadata: { labels: { app: NAME } },
        spec: {
          backoffLimit: 0,
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox' }] } },
        },
      },
    },
  };
}

/** The Job blue's controller would have made for `tick`, still running for `runSeconds`. */
function runningSourceJob(owner: V1CronJob, tick: number, runSeconds: number): V1Job {
  return {
    metadata: {
      name: `${NAME}-${Math.floor(tick / MINUTE)}`,
      annotations: { [SCHEDULED]: kubeTime(tick) },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: NAME, uid: owner.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { annotations: { 'lab.cutover.dev/run-seconds': String(runSeconds) } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox' }] },
      },
    },
  };
}

interface Ran {
  cluster: LabCluster;
  name: string;
  tick: number;
  startedBy?: string;
}

async function jobsOf(namespace: string, clusters: LabCluster[] = ['blue', 'green']): Promise<Ran[]> {
  const all: Ran[] = [];
  for (const cluster of clusters) {
    for (const job of (await batch(cluster).listNamespacedJob({ namespace })).items) {
      const startedBy = job.metadata?.annotations?.['cutover.dev/started-by'];
      all.push({ cluster, name: job.metadata!.name!, tick: Date.parse(job.metadata?.annotations?.[SCHEDULED] ?? ''), ...(startedBy ? { startedBy } : {}) });
    }
  }
  return all.sort((a, b) => a.tick - b.tick || a.cluster.localeCompare(b.cluster));
}

const at = (ms: number) => new Date(ms).toISOString();

describe('cutover runs the ticks a handoff missed itself, where the controller alone loses them (issue 12)', () => {
  test(
    'latest runs the last missed tick once on green, all runs each, a SIGKILL between two creations resumes without a duplicate',
    async () => {
      // p: a minute that has begun at least 1 s ago and ends at least 40 s from now, so the handoffs start
      // well before tick p+1 (closer than 10 s, a handoff would wait for it to run on blue first).
      let now = Date.now();
      if (now % MINUTE > 20_000) {
        await sleep(MINUTE - (now % MINUTE) + 1_000);
        now = Date.now();
      }
      const p = now - (now % MINUTE);
      const minute = new Date(p).getUTCMinutes();
      const minutes = [minute, minute + 1, minute + 2];
      const [t1, t2] = [p + MINUTE, p + 2 * MINUTE];
      // Until p+3m05s: the drain outlasts both ticks and ends past t1 + 2 x (t2 - t1), where the estimate fails.
      const runSeconds = Math.round((p + 3 * MINUTE + 5_000 - Date.now()) / 1000);

      const dir = await mkdtemp(join(tmpdir(), 'cutover-catch-up-'));
      onTestFinished(() => rm(dir, { recursive: true, force: true }));
      const hook = join(dir, 'kill-after-first-job.mjs');
      await writeFile(hook, KILL_AFTER_FIRST_JOB);

      const scenarios = ['latest', 'all', 'crash'] as const;
      const namespaces: Record<(typeof scenarios)[number], string> = { latest: '', all: '', crash: '' };
      for (const scenario of scenarios) {
        const namespace = uniqueName(`catch-up-${scenario}`);
        namespaces[scenario] = namespace;
        await createNamespace('blue', 'catch-up', namespace);
        await createNamespace('green', 'catch-up', namespace);
        const blue = await batch('blue').createNamespacedCronJob({ namespace, body: cronJob(minutes, false) });
        await batch('blue').patchNamespacedCronJobStatus({ name: NAME, namespace, body: { status: { lastScheduleTime: kubeTime(p) } } }, mergePatch);
        await batch('blue').createNamespacedJob({ namespace, body: runningSourceJob(blue, p, runSeconds) });
        await batch('green').createNamespacedCronJob({ namespace, body: cronJob(minutes, true) });
      }
      // The controller alone: suspended since before p+1 with blue's baseline p, resumed after the drain.
      const control = await createNamespace('green', 'catch-up-control');
      await batch('green').createNamespacedCronJob({ namespace: control, body: cronJob(minutes, true) });
      await batch('green').patchNamespacedCronJobStatus({ name: NAME, namespace: control, body: { status: { lastScheduleTime: kubeTime(p) } } }, mergePatch);

      const watches = scenarios.map((s) => new SuspendWatch({ namespace: namespaces[s] }));
      for (const watch of watches) await watch.start();
      onTestFinished(() => Promise.all(watches.map((w) => w.stop())).then(() => undefined));

      const runbooks = await Promise.all(
        scenarios.map(async (scenario) => {
          const sub = join(dir, scenario);
          await mkdir(sub, { recursive: true });
          return writeHandoffRunbook(sub, [namespaces[scenario]], {
            name: `catch-up-${scenario}`,
            missedRuns: scenario === 'latest' ? 'latest' : 'all',
            drainTimeout: '6m',
          });
        }),
      );
      const [latestRun, allRun, crashed] = await Promise.all([
        cutover(['execute', '-f', runbooks[0]!.runbook, '--yes'], { timeoutMs: 8 * MINUTE }),
        cutover(['execute', '-f', runbooks[1]!.runbook, '--yes'], { timeoutMs: 8 * MINUTE }),
        cutover(['execute', '-f', runbooks[2]!.runbook, '--yes'], {
          timeoutMs: 8 * MINUTE,
          env: { NODE_OPTIONS: `--import ${pathToFileURL(hook).href}` },
        }),
      ]);
      expect(latestRun.code, showResult(latestRun)).toBe(0);
      expect(allRun.code, showResult(allRun)).toBe(0);
      expect(crashed.signal, showResult(crashed)).toBe('SIGKILL');

      // The control copy is resumed now, past the drain: the real controller's own catch-up.
      await batch('green').patchNamespacedCronJob({ name: NAME, namespace: control, body: { spec: { suspend: false } } }, mergePatch);
      const resumed = await untilDone(runbooks[2]!.runbook);
      expect(resumed.length).toBe(1);

      // Every tick once; where each ran.
      const latestJobs = await jobsOf(namespaces.latest);
      expect(latestJobs.map((j) => [at(j.tick), j.cluster, j.startedBy])).toEqual([
        [at(p), 'blue', undefined],
        [at(t2), 'green', 'cutover'],
      ]);
      for (const scenario of ['all', 'crash'] as const) {
        const jobs = await jobsOf(namespaces[scenario]);
        expect(jobs.map((j) => [at(j.tick), j.cluster, j.startedBy]), scenario).toEqual([
          [at(p), 'blue', undefined],
          [at(t1), 'green', 'cutover'],
          [at(t2), 'green', 'cutover'],
        ]);
        const green = await batch('green').readNamespacedCronJob({ name: NAME, namespace: namespaces[scenario] });
        expect(green.status?.lastScheduleTime && Date.parse(String(green.status.lastScheduleTime))).toBe(t2);
        // The controller tracked them as its own: it saw each finish from its active list (SawCompletedJob).
        // Its sync triggered by the Job's creation runs before cutover has listed the Job in status.active
        // (that needs the Job's uid): an UnexpectedJob warning may name such a Job, nothing else comes of it.
        // (In the crash scenario the first Job may finish before the resumed run could list it; the
        // controller then counts it as finished without it, so only the clean run is checked here.)
        if (scenario === 'crash') continue;
        const started = jobs.filter((j) => j.startedBy === 'cutover').map((j) => j.name);
        const events = await waitFor(
          `SawCompletedJob events for ${started.join(', ')} on green`,
          async () => {
            const list = (await core('green').listNamespacedEvent({ namespace: namespaces[scenario] })).items;
            const seen = started.every((name) => list.some((e) => e.reason === 'SawCompletedJob' && e.message?.includes(name)));
            return seen ? list : undefined;
          },
          { timeoutMs: 60_000 },
        );
        const unexpected = events.filter((e) => e.reason === 'UnexpectedJob');
        for (const event of unexpected) expect(started.some((name) => event.message?.endsWith(`: ${name}`)), event.message).toBe(true);
      }
      for (const watch of watches) expect(watch.bothEnabled()).toEqual([]);

      // The real controller alone started nothing for p+1 or p+2 (it had 10 s; it acts within one sync).
      await sleep(10_000);
      expect(await jobsOf(control, ['green'])).toEqual([]);

      // status names the ticks: run late (which Job), skipped by policy.
      const status = await cutover(['status', '-f', runbooks[0]!.runbook]);
      expect(status.stdout, showResult(status)).toContain(`tick ${at(t2)} ran late on green as Job ${NAME}-${t2 / MINUTE} (started by cutover)`);
      expect(status.stdout).toContain(`tick ${at(t1)} runs nowhere: missedRuns: latest runs only the latest missed tick`);
    },
    10 * MINUTE,
  );
});
