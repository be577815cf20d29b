// The lab itself: real servers of the pinned release, RBAC, the pod completer, moto — and the CronJob
// controller behaviour the whole product is built around, kept as regression tests of the pinned version.
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  DeleteHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import {
  ApiException,
  BatchV1Api,
  PatchStrategy,
  VersionApi,
  setHeaderOptions,
  type V1CronJob,
  type V1Job,
  type V1JobSpec,
} from '@kubernetes/client-node';
import { describe, expect, onTestFinished, test } from 'vitest';
import {
  LAB_KUBE_VERSION,
  awsClientConfig,
  createNamespace,
  kubeConfigFor,
  labClusterNames,
  uniqueName,
  waitFor,
  type LabCluster,
} from '../support/lab.js';

const SCHEDULED_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
const MINUTE = 60_000;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

const batch = (cluster: LabCluster) => kubeConfigFor(cluster).makeApiClient(BatchV1Api);

function jobSpec(podAnnotations: Record<string, string> = {}): V1JobSpec {
  return {
    backoffLimit: 0,
    template: {
      metadata: { annotations: podAnnotations },
      spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox' }] },
    },
  };
}

function cronJob(name: string, suspend: boolean): V1CronJob {
  return { metadata: { name }, spec: { schedule: '* * * * *', suspend, jobTemplate: { spec: jobSpec() } } };
}

const condition = (job: V1Job, type: string) => job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
/** The tick a Job was created for, in epoch ms (NaN when the annotation is missing). */
const scheduledTick = (job: V1Job) => Date.parse(job.metadata?.annotations?.[SCHEDULED_ANNOTATION] ?? '');

/** Latest `* * * * *` tick at or before `at`. */
const minuteFloor = (at: number) => Math.floor(at / MINUTE) * MINUTE;

/**
 * Sleeps until the clock is between :05 and :35 within a minute, so a step taken now and checked for the
 * next ~20 s cannot straddle a tick: what the controller does then is caused by the step, not by a tick.
 */
async function awayFromTicks(): Promise<void> {
  const second = (Date.now() % MINUTE) / 1000;
  if (second >= 5 && second <= 35) return;
  const wait = second < 5 ? 5 - second : 65 - second;
  await new Promise((r) => setTimeout(r, wait * 1000));
}

async function jobsOf(cluster: LabCluster, namespace: string): Promise<V1Job[]> {
  return (await batch(cluster).listNamespacedJob({ namespace })).items;
}

async function waitForJob(cluster: LabCluster, namespace: string, timeoutMs: number): Promise<V1Job> {
  return waitFor(`a Job in ${cluster}/${namespace}`, async () => (await jobsOf(cluster, namespace))[0], { timeoutMs });
}

async function waitForCondition(cluster: LabCluster, namespace: string, name: string, type: string): Promise<V1Job> {
  return waitFor(
    `condition ${type} on Job ${cluster}/${namespace}/${name}`,
    async () => {
      const job = await batch(cluster).readNamespacedJob({ name, namespace });
      return condition(job, type) ? job : undefined;
    },
    { timeoutMs: 60_000 },
  );
}

async function writeLastScheduleTime(cluster: LabCluster, namespace: string, name: string, at: Date): Promise<void> {
  const body = { status: { lastScheduleTime: at.toISOString().replace(/\.\d{3}Z$/, 'Z') } };
  await batch(cluster).patchNamespacedCronJobStatus({ name, namespace, body }, mergePatch);
}

async function resume(cluster: LabCluster, namespace: string, name: string): Promise<void> {
  await batch(cluster).patchNamespacedCronJob({ name, namespace, body: { spec: { suspend: false } } }, mergePatch);
}

describe('lab servers', () => {
  test.each(labClusterNames)('the %s apiserver reports the pinned Kubernetes version', async (cluster) => {
    const version = await kubeConfigFor(cluster).makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe(LAB_KUBE_VERSION);
  });

  test.each(labClusterNames)('RBAC on %s: a user without rights gets 403 listing CronJobs, the admin does not', async (cluster) => {
    const denied = kubeConfigFor(cluster, 'norights').makeApiClient(BatchV1Api);
    const error = await denied.listNamespacedCronJob({ namespace: 'default' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ApiException);
    expect((error as ApiException<unknown>).code).toBe(403);
    await expect(batch(cluster).listNamespacedCronJob({ namespace: 'default' })).resolves.toHaveProperty('items');
  });
});

describe('pod completer with the real Job controller', () => {
  test.concurrent('a Job completes after its Pod runs for the default time', async () => {
    const namespace = await createNamespace('green', 'lab-job-complete');
    await batch('green').createNamespacedJob({ namespace, body: { metadata: { name: 'once' }, spec: jobSpec() } });
    const job = await waitForCondition('green', namespace, 'once', 'Complete');
    expect(job.status?.succeeded).toBe(1);
  });

  test.concurrent('outcome annotation Failed makes the Job fail', async () => {
    const namespace = await createNamespace('green', 'lab-job-failed');
    const spec = jobSpec({ 'lab.cutover.dev/outcome': 'Failed' });
    await batch('green').createNamespacedJob({ namespace, body: { metadata: { name: 'broken' }, spec } });
    const job = await waitForCondition('green', namespace, 'broken', 'Failed');
    expect(job.status?.failed).toBe(1);
    expect(condition(job, 'Complete')).toBeUndefined();
  });

  test.concurrent('run-seconds annotation keeps the Job running past the default run time', async () => {
    const namespace = await createNamespace('green', 'lab-job-long');
    const spec = jobSpec({ 'lab.cutover.dev/run-seconds': '120' });
    await batch('green').createNamespacedJob({ namespace, body: { metadata: { name: 'long' }, spec } });
    await waitFor('an active Pod of Job long', async () => ((await batch('green').readNamespacedJob({ name: 'long', namespace })).status?.active ? true : undefined), { timeoutMs: 30_000 });
    // Twice the default run time (3 s): a Pod completed on the default schedule would be finished by now.
    await new Promise((r) => setTimeout(r, 6_000));
    const job = await batch('green').readNamespacedJob({ name: 'long', namespace });
    expect(job.status?.active).toBe(1);
    expect(condition(job, 'Complete') ?? condition(job, 'Failed')).toBeUndefined();
  });
});

// The minute-tick scenarios run side by side, each in its own namespace: together they take about as long
// as the slowest one (one to two minutes) rather than the sum.
describe('real CronJob controller (regression tests of the pinned release)', () => {
  test.concurrent('a `* * * * *` CronJob gets a Job at the next tick and the Job completes', async () => {
    const namespace = await createNamespace('blue', 'lab-cron-tick');
    const created = Date.now();
    await batch('blue').createNamespacedCronJob({ namespace, body: cronJob('tick', false) });
    const job = await waitForJob('blue', namespace, 2 * MINUTE + 30_000);
    const tick = scheduledTick(job);
    expect(tick % MINUTE).toBe(0);
    expect(tick).toBeGreaterThan(created);
    expect(job.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'CronJob', name: 'tick', controller: true });
    const done = await waitForCondition('blue', namespace, job.metadata?.name ?? '', 'Complete');
    expect(done.status?.succeeded).toBe(1);
  });

  // THE HAZARD this product defeats: resuming a CronJob whose baseline lies before the latest tick starts a
  // Job for that tick at once — on a target cluster, a tick the source cluster has usually already run.
  // creationTimestamp cannot be backdated, so the test writes status.lastScheduleTime (which the controller
  // takes as its baseline) five minutes into the past through the status subresource.
  test.concurrent('resuming with lastScheduleTime minutes ago starts one catch-up Job for the latest missed tick at once', async () => {
    const namespace = await createNamespace('blue', 'lab-cron-catchup');
    await batch('blue').createNamespacedCronJob({ namespace, body: cronJob('catchup', true) });
    await awayFromTicks();
    const latest = minuteFloor(Date.now());
    await writeLastScheduleTime('blue', namespace, 'catchup', new Date(latest - 5 * MINUTE));
    await resume('blue', namespace, 'catchup');

    const job = await waitForJob('blue', namespace, 15_000);
    expect(scheduledTick(job)).toBe(latest);
    expect(job.metadata?.name).toBe(`catchup-${latest / MINUTE}`);
    // Only the most recent missed tick is started, not one Job per missed tick.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await jobsOf('blue', namespace)).toHaveLength(1);
  });

  // The recipe the handoff relies on: hand the target the latest tick as its baseline, then resume.
  test.concurrent('resuming with lastScheduleTime at the latest tick starts nothing until the next tick', async () => {
    const namespace = await createNamespace('blue', 'lab-cron-nocatchup');
    await batch('blue').createNamespacedCronJob({ namespace, body: cronJob('quiet', true) });
    await awayFromTicks();
    const latest = minuteFloor(Date.now());
    await writeLastScheduleTime('blue', namespace, 'quiet', new Date(latest));
    await resume('blue', namespace, 'quiet');

    // :05–:35 plus 10 s stays inside the minute: a Job now could only be a catch-up.
    await new Promise((r) => setTimeout(r, 10_000));
    expect(await jobsOf('blue', namespace)).toEqual([]);
    const job = await waitForJob('blue', namespace, 2 * MINUTE);
    expect(scheduledTick(job)).toBe(latest + MINUTE);
  });
});

describe('moto', () => {
  test('Route 53: a hosted zone with two weighted records (blue, green) reads back as written', async () => {
    const route53 = new Route53Client(awsClientConfig());
    const zoneName = `${uniqueName('lab')}.example.com.`;
    const zone = await route53.send(new CreateHostedZoneCommand({ Name: zoneName, CallerReference: uniqueName('ref') }));
    const zoneId = zone.HostedZone?.Id ?? '';
    const records: ResourceRecordSet[] = [
      { Name: `api.${zoneName}`, Type: 'A', SetIdentifier: 'blue', Weight: 200, TTL: 60, ResourceRecords: [{ Value: '192.0.2.10' }] },
      { Name: `api.${zoneName}`, Type: 'A', SetIdentifier: 'green', Weight: 55, TTL: 60, ResourceRecords: [{ Value: '192.0.2.20' }] },
    ];
    const change = (Action: 'CREATE' | 'DELETE') =>
      new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: records.map((ResourceRecordSet) => ({ Action, ResourceRecordSet })) } });
    await route53.send(change('CREATE'));
    onTestFinished(async () => {
      await route53.send(change('DELETE'));
      await route53.send(new DeleteHostedZoneCommand({ Id: zoneId }));
    });

    const listed = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
    const weighted = (listed.ResourceRecordSets ?? []).filter((r) => r.Type === 'A' && r.SetIdentifier);
    expect(weighted.map((r) => ({ id: r.SetIdentifier, weight: r.Weight, ttl: r.TTL, values: r.ResourceRecords?.map((v) => v.Value) }))
      .sort((a, b) => String(a.id).localeCompare(String(b.id)))).toEqual([
      { id: 'blue', weight: 200, ttl: 60, values: ['192.0.2.10'] },
      { id: 'green', weight: 55, ttl: 60, values: ['192.0.2.20'] },
    ]);
  });

  test.each(labClusterNames)('EKS: DescribeCluster knows the lab cluster %s (registered by lab:up)', async (cluster) => {
    const eks = new EKSClient(awsClientConfig());
    const described = await eks.send(new DescribeClusterCommand({ name: cluster }));
    expect(described.cluster).toMatchObject({ name: cluster, status: 'ACTIVE' });
  });
});
