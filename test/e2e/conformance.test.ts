// Conformance: the sandbox's simulated CronJob controller against the real one. Each scenario
// (test/support/scenarios.ts) is played on the lab's kube-controller-manager, then replayed on the sandbox at
// the very instants the lab saw each action; the Jobs (cluster, CronJob, tick) at every checkpoint must be
// identical — and must be what the scenario says the controller does.
//
// All scenarios start together in beforeAll, each in namespaces of its own (made there, so they live until
// the file ends), and each test awaits its own: the file takes about as long as the longest scenario
// (~3 minutes), not their sum, whatever vitest's limit on concurrent tests.
import { BatchV1Api } from '@kubernetes/client-node';
import { beforeAll, describe, expect, test } from 'vitest';
import { rehearse } from '../../src/adapters/sandbox/rehearse.js';
import { loadRunbook } from '../../src/config/load.js';
import type { Reporter } from '../../src/steps/types.js';
import { createNamespace, kubeConfigFor, labRunbookPath, uniqueName } from '../support/lab.js';
import {
  conformanceScenarios,
  labBackend,
  nextBase,
  playScenario,
  replayScenario,
  replayStart,
  sandboxBackend,
  type Scenario,
  type ScenarioTrace,
} from '../support/scenarios.js';

interface Outcome {
  scenario: Scenario;
  lab: ScenarioTrace;
  sandbox: ScenarioTrace;
}

const names = conformanceScenarios(new Date(0)).map((s) => s.name);
const outcomes = new Map<string, Promise<Outcome>>();

async function conform(name: string, namespace: string, base: Date): Promise<Outcome> {
  const scenario = conformanceScenarios(base).find((s) => s.name === name)!;
  const lab = await playScenario(scenario, labBackend(), namespace, base);
  const sandbox = await replayScenario(lab, sandboxBackend(replayStart(lab)), namespace);
  return { scenario, lab, sandbox };
}

beforeAll(async () => {
  const namespaces = await Promise.all(
    names.map(async (name) => {
      const namespace = uniqueName(`conformance-${name.replace(/[^a-z0-9]+/gi, '-')}`);
      await Promise.all([createNamespace('blue', 'conformance', namespace), createNamespace('green', 'conformance', namespace)]);
      return namespace;
    }),
  );
  const base = nextBase(new Date());
  names.forEach((name, i) => {
    const running = conform(name, namespaces[i]!, base);
    // Awaited by the scenario's test; marked handled here so a failure is reported there, not as unhandled.
    running.catch(() => undefined);
    outcomes.set(name, running);
  });
});

const quiet: Reporter = { step: () => {}, info: () => {}, warn: () => {}, waiting: () => {} };

// Runs while the scenarios above play: it reads the lab once and simulates, in a few seconds.
describe('rehearse against the lab', () => {
  test('seeds the sandbox from the live clusters, predicts the ticks lost to the drain, and writes nothing', async () => {
    const namespace = uniqueName('rehearse');
    await Promise.all([createNamespace('blue', 'rehearse', namespace), createNamespace('green', 'rehearse', namespace)]);
    const blue = kubeConfigFor('blue').makeApiClient(BatchV1Api);
    const green = kubeConfigFor('green').makeApiClient(BatchV1Api);
    const template = { spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox' }] } } } };
    const cronJob = (suspend: boolean) => ({ metadata: { name: 'mailer' }, spec: { schedule: '* * * * *', suspend, jobTemplate: template } });
    const source = await blue.createNamespacedCronJob({ namespace, body: cronJob(false) });
    await green.createNamespacedCronJob({ namespace, body: cronJob(true) });
    // A Job of the source copy that keeps running (the lab's pod annotation), as the controller would own it.
    const tick = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString().replace('.000Z', 'Z');
    await blue.createNamespacedJob({
      namespace,
      body: {
        metadata: {
          name: 'mailer-running',
          annotations: { 'batch.kubernetes.io/cronjob-scheduled-timestamp': tick },
          ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'mailer', uid: source.metadata!.uid!, controller: true }],
        },
        spec: { ...template.spec, template: { ...template.spec.template, metadata: { annotations: { 'lab.cutover.dev/run-seconds': '600' } } } },
      },
    });

    const lab = await loadRunbook(labRunbookPath);
    const loaded = { ...lab, runbook: { ...lab.runbook, cronjobs: { ...lab.runbook.cronjobs, namespaces: [namespace] } } };
    const outcome = await rehearse(loaded, { reporter: quiet });

    expect(outcome.result?.status).toBe('done');
    expect(outcome.report.notes.join('\n')).toContain('assumed to run 5m more');
    const mailer = outcome.report.cronJobs.find((c) => c.cronJob === `${namespace}/mailer`)!;
    // Both copies stay suspended while the running Job drains (~5 minutes): every minute tick in there is lost.
    expect(mailer.handoff?.ticksInside.length).toBeGreaterThanOrEqual(4);
    expect(mailer.missedTicks).toEqual(mailer.handoff?.ticksInside);
    expect(mailer.enabledAtEnd).toEqual(['green']);
    expect(outcome.report.doubleRuns).toBe(0);
    // The real clusters are as they were.
    expect((await blue.readNamespacedCronJob({ namespace, name: 'mailer' })).spec?.suspend).toBe(false);
    const target = await green.readNamespacedCronJob({ namespace, name: 'mailer' });
    expect(target.spec?.suspend).toBe(true);
    expect(target.status?.lastScheduleTime).toBeUndefined();
    expect((await green.listNamespacedJob({ namespace })).items).toEqual([]);
  });
});

describe('the sandbox creates the same Jobs as the real CronJob controller', () => {
  test.each(names)('%s', async (name) => {
    const { scenario, lab, sandbox } = await outcomes.get(name)!;
    // Checkpoints are compared with their instants, so a failure shows when each world saw what.
    const seen = (trace: ScenarioTrace) => trace.checkpoints.map((c) => ({ at: c.at, jobs: c.jobs }));
    expect(seen(sandbox)).toEqual(seen(lab));
    expect(lab.checkpoints.map((c) => c.jobs)).toEqual(scenario.checkpoints.map((c) => [...c.expect].sort()));
  });
});
