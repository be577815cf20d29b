import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchV1Api, type V1CronJob, type V1Job } from '@kubernetes/client-node';
import { createTokenSource } from '../../src/adapters/aws/eks.js';
import { KubernetesCluster, createClusterPort } from '../../src/adapters/k8s/cluster.js';
import { connectCluster, eksKubeConfig } from '../../src/adapters/k8s/client.js';
import type { ClusterConfig, Environment } from '../../src/config/types.js';
import { ApiError, InputError } from '../../src/core/errors.js';
import type { ClusterPort } from '../../src/core/ports.js';
import {
  LAB_KUBE_VERSION,
  clusterCa,
  createNamespace,
  kubeConfigFor,
  labEnvironmentPath,
  waitFor,
} from '../support/lab.js';

/** Paths in the environment file are relative to it: config/lab.yaml → ../.lab/kubeconfig. */
const envFile = labEnvironmentPath;
const blueConfig: ClusterConfig = { kubeconfig: { context: 'lab-blue', path: '../.lab/kubeconfig' } };
const norightsConfig: ClusterConfig = { kubeconfig: { context: 'lab-blue-norights', path: '../.lab/kubeconfig' } };

function environment(clusters: Record<string, ClusterConfig>): Environment {
  return { apiVersion: 'cutover.dev/v1', kind: 'Environment', name: 'k8s-e2e', clusters, allowNonInteractiveApproval: false };
}

const env = environment({ blue: blueConfig });
const admin = kubeConfigFor('blue').makeApiClient(BatchV1Api);

/** Yearly schedule: enabling it in a test never makes the controller start a Job by surprise. */
function cronJobManifest(namespace: string, name: string, extra: { labels?: Record<string, string>; schedule?: string; suspend?: boolean } = {}): V1CronJob {
  return {
    metadata: {
      namespace,
      name,
      labels: { team: 'billing', ...extra.labels },
      annotations: { 'meta.helm.sh/release-name': 'billing', 'example.dev/owner': 'sre' },
    },
    spec: {
      schedule: extra.schedule ?? '0 0 1 1 *',
      timeZone: 'Europe/Berlin',
      suspend: extra.suspend ?? true,
      startingDeadlineSeconds: 300,
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: 5,
      jobTemplate: {
        spec: {
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [
                { name: 'main', image: 'registry.example/invoices:1.2', command: ['/bin/run'] },
                { name: 'proxy', image: 'registry.example/proxy:3' },
              ],
            },
          },
        },
      },
    },
  };
}

async function createCronJob(namespace: string, name: string, extra?: Parameters<typeof cronJobManifest>[2]): Promise<V1CronJob> {
  return admin.createNamespacedCronJob({ namespace, body: cronJobManifest(namespace, name, extra) });
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('ClusterPort against a real kube-apiserver', () => {
  let blue: ClusterPort;
  let namespace: string;

  beforeAll(async () => {
    blue = createClusterPort('blue', blueConfig, env, envFile);
    namespace = await createNamespace('blue', 'k8s-cluster');
  });

  it('reports the server version, resolving the kubeconfig path against the environment file', async () => {
    expect(await blue.version()).toBe(LAB_KUBE_VERSION);
  });

  it('gets a CronJob as observed fields, and undefined for one that does not exist', async () => {
    const created = await createCronJob(namespace, 'get-me');
    const observed = await blue.getCronJob({ namespace, name: 'get-me' });
    expect(observed).toMatchObject({
      namespace,
      name: 'get-me',
      uid: created.metadata?.uid,
      schedule: '0 0 1 1 *',
      timeZone: 'Europe/Berlin',
      suspend: true,
      startingDeadlineSeconds: 300,
      concurrencyPolicy: 'Forbid',
      images: ['registry.example/invoices:1.2', 'registry.example/proxy:3'],
      managedBy: 'helm',
    });
    expect(observed?.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    expect(await blue.getCronJob({ namespace, name: 'no-such-cronjob' })).toBeUndefined();
  });

  it('lists CronJobs of the namespaces by label selector across pages', async () => {
    const ns = await createNamespace('blue', 'k8s-list');
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => createCronJob(ns, `billing-${n}`)));
    await createCronJob(ns, 'reports-x', { labels: { team: 'reports' } });
    const paged = new KubernetesCluster('blue', () => connectCluster('blue', blueConfig, env, envFile), { pageSize: 2 });

    const billing = await paged.listCronJobs({ namespaces: [ns], labelSelector: 'team=billing' });
    expect(billing.map((c) => c.name).sort()).toEqual(['billing-a', 'billing-b', 'billing-c', 'billing-d', 'billing-e']);

    const everything = await paged.listCronJobs({ namespaces: [ns, namespace] });
    expect(everything.filter((c) => c.namespace === ns)).toHaveLength(6);
  });

  it('setSuspend merge-patches spec.suspend only and returns what the server stored', async () => {
    const created = await createCronJob(namespace, 'suspend-me');
    const enabled = await blue.setSuspend({ namespace, name: 'suspend-me' }, false);
    expect(enabled.suspend).toBe(false);
    expect(enabled.resourceVersion).not.toBe(created.metadata?.resourceVersion);

    const raw = await admin.readNamespacedCronJob({ namespace, name: 'suspend-me' });
    const spec = raw.spec!;
    const containers = spec.jobTemplate.spec!.template.spec!.containers;
    expect(spec.suspend).toBe(false);
    // A merge patch must leave every other field alone (a JSON-Patch or replace would not).
    expect(spec.schedule).toBe('0 0 1 1 *');
    expect(spec.timeZone).toBe('Europe/Berlin');
    expect(spec.startingDeadlineSeconds).toBe(300);
    expect(spec.successfulJobsHistoryLimit).toBe(5);
    expect(containers.map((c) => c.image)).toEqual(['registry.example/invoices:1.2', 'registry.example/proxy:3']);
    expect(containers[0]!.command).toEqual(['/bin/run']);
    expect(raw.metadata!.labels).toEqual({ team: 'billing' });
    expect(raw.metadata!.annotations).toMatchObject({ 'example.dev/owner': 'sre' });

    const suspended = await blue.setSuspend({ namespace, name: 'suspend-me' }, true);
    expect(suspended.suspend).toBe(true);
    expect((await blue.getCronJob({ namespace, name: 'suspend-me' }))?.suspend).toBe(true);
  });

  it('setLastScheduleTime lands in status through the subresource and survives a spec patch', async () => {
    await createCronJob(namespace, 'baseline');
    const ref = { namespace, name: 'baseline' };
    const stored = await blue.setLastScheduleTime(ref, '2025-03-02T08:05:00.000Z');
    expect(stored.lastScheduleTime).toBe('2025-03-02T08:05:00.000Z');
    expect(stored.suspend).toBe(true);

    const raw = await admin.readNamespacedCronJob(ref);
    expect(raw.status?.lastScheduleTime?.toISOString()).toBe('2025-03-02T08:05:00.000Z');
    expect(raw.spec?.schedule).toBe('0 0 1 1 *');

    // Spec and status are separate writes: patching spec must not reset the baseline just written.
    await blue.setSuspend(ref, false);
    expect((await blue.getCronJob(ref))?.lastScheduleTime).toBe('2025-03-02T08:05:00.000Z');

    // A later baseline replaces the earlier one.
    await blue.setLastScheduleTime(ref, '2026-01-01T00:00:00Z');
    expect((await blue.getCronJob(ref))?.lastScheduleTime).toBe('2026-01-01T00:00:00.000Z');
  });

  it('throws a 404 ApiError naming the CronJob when patching one that does not exist', async () => {
    const failure = blue.setSuspend({ namespace, name: 'missing' }, true);
    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({ status: 404 });
    await expect(failure).rejects.toThrow(new RegExp(`cluster blue: patch cronjobs ${namespace}/missing failed with HTTP 404: .*not found`));
  });
});

describe('Jobs of a CronJob, as the real controller makes them', () => {
  it('lists only the Jobs whose controller is the CronJob, with their tick and final outcome', async () => {
    const ns = await createNamespace('blue', 'k8s-jobs');
    const blue = createClusterPort('blue', blueConfig, env, envFile);
    // Every minute and enabled: the controller starts a Job at the next tick, and the lab completes it.
    const cronJob = await createCronJob(ns, 'every-minute', { schedule: '* * * * *', suspend: false });
    const stray: V1Job = {
      metadata: { namespace: ns, name: 'manual-run' },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'registry.example/x:1' }] } } },
    };
    await admin.createNamespacedJob({ namespace: ns, body: stray });

    const owned = await waitFor(
      'a finished Job of CronJob every-minute',
      async () => {
        const jobs = await blue.listJobs(ns, cronJob.metadata?.uid);
        return jobs.find((job) => job.outcome !== undefined);
      },
      { timeoutMs: 150_000, intervalMs: 2_000 },
    );
    // Stop further ticks; the test namespace is removed afterwards.
    await blue.setSuspend({ namespace: ns, name: 'every-minute' }, true);

    expect(owned.ownerUid).toBe(cronJob.metadata?.uid);
    expect(owned.ownerName).toBe('every-minute');
    expect(owned.outcome).toBe('Complete');
    expect(owned.scheduledTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/);
    expect(owned.name).toBe(`every-minute-${new Date(owned.scheduledTime!).getTime() / 60_000}`);

    const ownedNames = (await blue.listJobs(ns, cronJob.metadata?.uid)).map((job) => job.name);
    expect(ownedNames).not.toContain('manual-run');
    const all = await blue.listJobs(ns);
    expect(all.map((job) => job.name)).toContain('manual-run');
    expect(all.find((job) => job.name === 'manual-run')?.ownerUid).toBeUndefined();
  });
});

describe('cluster errors an operator can act on', () => {
  it('names the missing permission when the identity has no RBAC rights', async () => {
    const namespace = await createNamespace('blue', 'k8s-forbidden');
    await createCronJob(namespace, 'guarded');
    const norights = createClusterPort('blue', norightsConfig, environment({ blue: norightsConfig }), envFile);

    const read = norights.getCronJob({ namespace, name: 'guarded' });
    await expect(read).rejects.toMatchObject({ status: 403 });
    await expect(read).rejects.toThrow(`cannot get cronjobs in ${namespace} on cluster blue (${namespace}/guarded): forbidden (HTTP 403) — grant get on cronjobs`);

    const write = norights.setLastScheduleTime({ namespace, name: 'guarded' }, '2025-03-02T08:05:00Z');
    await expect(write).rejects.toThrow(`cannot patch cronjobs/status in ${namespace} on cluster blue`);
    await expect(write).rejects.toThrow('grant patch on cronjobs/status (API group "batch")');
    // The server's own words are kept for the record.
    await expect(write).rejects.toThrow(/server: .*forbidden/);

    const list = norights.listJobs(namespace);
    await expect(list).rejects.toThrow(`cannot list jobs in ${namespace} on cluster blue: forbidden (HTTP 403) — grant list on jobs`);
  });

  it('says the credentials were rejected when the token is unknown to the cluster', async () => {
    const labServer = kubeConfigFor('blue').getCurrentCluster()!.server;
    const ca = Buffer.from(clusterCa('blue')).toString('base64');
    const kubeConfig = eksKubeConfig('blue', labServer, ca, async () => 'not-a-token-the-lab-knows');
    const port = new KubernetesCluster('blue', async () => ({ kubeConfig, server: labServer }));
    const failure = port.listJobs('default');
    await expect(failure).rejects.toMatchObject({ status: 401 });
    await expect(failure).rejects.toThrow('cluster blue rejected the credentials for list jobs in default: unauthorized (HTTP 401)');
  });

  it('asks the EKS token source on every request, and the minted token reaches the API server', async () => {
    const labServer = kubeConfigFor('blue').getCurrentCluster()!.server;
    const ca = Buffer.from(clusterCa('blue')).toString('base64');
    const mint = createTokenSource({
      clusterName: 'blue',
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    const tokens: string[] = [];
    const kubeConfig = eksKubeConfig('blue', labServer, ca, async () => {
      const token = await mint();
      tokens.push(token);
      return token;
    });
    const port = new KubernetesCluster('blue', async () => ({ kubeConfig, server: labServer }));
    // The lab authenticates static tokens, not STS: a 401 (not an anonymous 403) proves a bearer token was sent.
    await expect(port.version()).rejects.toMatchObject({ status: 401 });
    await expect(port.listJobs('default')).rejects.toMatchObject({ status: 401 });
    await expect(port.getCronJob({ namespace: 'default', name: 'x' })).rejects.toMatchObject({ status: 401 });
    expect(tokens).toHaveLength(3);
    expect(tokens.every((t) => t.startsWith('k8s-aws-v1.'))).toBe(true);
    // Within its reuse window the same token serves every request.
    expect(new Set(tokens).size).toBe(1);
  });

  describe('with a kubeconfig pointing at a closed port', () => {
    let dir: string;
    let server: string;
    let deadConfig: ClusterConfig;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'cutover-k8s-e2e-'));
      server = `https://127.0.0.1:${await closedPort()}`;
      const ca = Buffer.from(clusterCa('blue')).toString('base64');
      const kubeconfig = [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{ name: dead, cluster: { server: "' + server + '", certificate-authority-data: "' + ca + '" } }]',
        'users: [{ name: someone, user: { token: not-a-real-token } }]',
        'contexts: [{ name: dead, context: { cluster: dead, user: someone } }]',
        'current-context: dead',
      ].join('\n');
      writeFileSync(join(dir, 'kubeconfig'), kubeconfig);
      deadConfig = { kubeconfig: { context: 'dead', path: join(dir, 'kubeconfig') } };
    });

    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('says the cluster is unreachable, with its URL', async () => {
      const dead = createClusterPort('dead', deadConfig, environment({ dead: deadConfig }), envFile);
      const failure = dead.version();
      await expect(failure).rejects.toBeInstanceOf(ApiError);
      await expect(failure).rejects.toThrow(`cluster dead (${server}) unreachable: connect ECONNREFUSED`);
    });
  });

  it('refuses a context the kubeconfig does not have, naming the field and the contexts it has', async () => {
    const config: ClusterConfig = { kubeconfig: { context: 'lab-purple', path: '../.lab/kubeconfig' } };
    const purple = createClusterPort('purple', config, environment({ purple: config }), envFile);
    const failure = purple.version();
    await expect(failure).rejects.toBeInstanceOf(InputError);
    await expect(failure).rejects.toThrow('clusters.purple.kubeconfig.context: context "lab-purple" not found');
    await expect(failure).rejects.toThrow('lab-blue, lab-blue-norights');
  });

  it('refuses a kubeconfig path that does not exist', async () => {
    const config: ClusterConfig = { kubeconfig: { context: 'lab-blue', path: 'no-such-dir/kubeconfig' } };
    const lost = createClusterPort('lost', config, environment({ lost: config }), envFile);
    await expect(lost.version()).rejects.toThrow(/clusters\.lost\.kubeconfig\.path: kubeconfig .*no-such-dir\/kubeconfig does not exist/);
  });
});
