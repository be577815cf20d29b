// The shipped RBAC (deploy/rbac) is enough for everything cutover does to a cluster and nothing more:
// a ServiceAccount bound only to those roles runs every ClusterPort operation, the workloads gate and
// the Kubernetes state store, and is refused anything else with 403.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppsV1Api,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type V1ClusterRole,
  type V1Role,
  type V1RoleBinding,
  type RbacV1Subject,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { KubernetesCluster } from '../../src/adapters/k8s/cluster.js';
import type { ClusterConnection } from '../../src/adapters/k8s/client.js';
import { KubernetesStateStore } from '../../src/adapters/k8s/state-store.js';
import { KubernetesWorkloads } from '../../src/adapters/k8s/workloads.js';
import { ApiError } from '../../src/core/errors.js';
import type { PersistedRun } from '../../src/engine/store.js';
import { createNamespace, kubeConfigFor, repoRoot, uniqueName, waitFor } from '../support/lab.js';

const admin = kubeConfigFor('blue');
const labCluster = admin.getCurrentCluster()!;
const rbacApi = admin.makeApiClient(RbacAuthorizationV1Api);
const coreAdmin = admin.makeApiClient(CoreV1Api);
const batchAdmin = admin.makeApiClient(BatchV1Api);

type Manifest = V1ClusterRole | V1Role | V1RoleBinding;

function shipped(file: string): Manifest {
  const docs = parseAllDocuments(readFileSync(join(repoRoot, 'deploy', 'rbac', file), 'utf8'));
  expect(docs).toHaveLength(1);
  return docs[0]!.toJS() as Manifest;
}

/** A token minted by the TokenRequest API for the ServiceAccount, in a KubeConfig of its own. */
async function serviceAccountKubeConfig(name: string, namespace: string): Promise<KubeConfig> {
  const minted = await coreAdmin.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = minted.status?.token;
  if (!token) throw new Error('TokenRequest returned no token');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'blue', server: labCluster.server, caData: labCluster.caData, skipTLSVerify: false }],
    users: [{ name: name, token }],
    contexts: [{ name: 'sa', cluster: 'blue', user: name }],
    currentContext: 'sa',
  });
  return kc;
}

const isForbidden = (error: unknown): boolean =>
  (error instanceof ApiError && error.status === 403) || (error as { code?: number }).code === 403;

/** What a raw client-node call as the ServiceAccount answers: its HTTP status. */
async function statusOf(call: () => Promise<unknown>): Promise<number> {
  try {
    await call();
    return 200;
  } catch (error) {
    const code = (error as { code?: number }).code;
    if (typeof code !== 'number') throw error;
    return code;
  }
}

let workNs: string;
let otherNs: string;
let stateNs: string;
let clusterRoleName: string;
let sa: KubeConfig;
let cluster: KubernetesCluster;
const serviceAccount = 'cutover';

beforeAll(async () => {
  [workNs, otherNs, stateNs] = await Promise.all([
    createNamespace('blue', 'rbac-work'),
    createNamespace('blue', 'rbac-other'),
    createNamespace('blue', 'rbac-state'),
  ]);
  const subject: RbacV1Subject = { kind: 'ServiceAccount', name: serviceAccount, namespace: stateNs };
  await coreAdmin.createNamespacedServiceAccount({ namespace: stateNs, body: { metadata: { name: serviceAccount } } });

  // The ClusterRole is cluster-wide: a name of this run's own keeps parallel runs of this file apart.
  const clusterRole = shipped('cutover-operator.clusterrole.yaml') as V1ClusterRole;
  clusterRoleName = uniqueName('cutover-operator');
  await rbacApi.createClusterRole({ body: { ...clusterRole, metadata: { ...clusterRole.metadata, name: clusterRoleName } } });
  const operatorBinding = shipped('cutover-operator.rolebinding.yaml') as V1RoleBinding;
  await rbacApi.createNamespacedRoleBinding({
    namespace: workNs,
    body: { ...operatorBinding, metadata: { ...operatorBinding.metadata, namespace: workNs }, roleRef: { ...operatorBinding.roleRef, name: clusterRoleName }, subjects: [subject] },
  });
  const stateRole = shipped('cutover-state.role.yaml') as V1Role;
  await rbacApi.createNamespacedRole({ namespace: stateNs, body: { ...stateRole, metadata: { ...stateRole.metadata, namespace: stateNs } } });
  const stateBinding = shipped('cutover-state.rolebinding.yaml') as V1RoleBinding;
  await rbacApi.createNamespacedRoleBinding({
    namespace: stateNs,
    body: { ...stateBinding, metadata: { ...stateBinding.metadata, namespace: stateNs }, subjects: [subject] },
  });

  sa = await serviceAccountKubeConfig(serviceAccount, stateNs);
  const connection = async (): Promise<ClusterConnection> => ({ kubeConfig: sa, server: labCluster.server });
  cluster = new KubernetesCluster('blue', connection);
  // The authorizer learns new bindings from its informers: wait until the first grant is visible.
  await waitFor(
    'the RoleBinding to reach the authorizer',
    async () => {
      try {
        return await cluster.listCronJobs({ namespaces: [workNs] });
      } catch (error) {
        if (isForbidden(error)) return undefined;
        throw error;
      }
    },
    { timeoutMs: 30_000 },
  );
});

afterAll(async () => {
  if (clusterRoleName) await rbacApi.deleteClusterRole({ name: clusterRoleName });
});

describe('least-privilege RBAC in deploy/rbac', () => {
  it('grants every ClusterPort operation of the handoff, and the workloads gate, to a ServiceAccount bound only to it', async () => {
    const created = await batchAdmin.createNamespacedCronJob({
      namespace: workNs,
      body: {
        metadata: { name: 'invoices', labels: { team: 'billing' } },
        spec: {
          schedule: '0 0 1 1 *',
          suspend: true,
          startingDeadlineSeconds: 60,
          jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'registry.example/invoices:1' }] } } } },
        },
      },
    });
    const uid = created.metadata!.uid!;
    // A suspended Job owned by the CronJob: no Pod is made, listJobs must still find it by owner.
    await batchAdmin.createNamespacedJob({
      namespace: workNs,
      body: {
        metadata: { name: 'invoices-1', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'invoices', uid, controller: true }] },
        spec: { suspend: true, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'registry.example/invoices:1' }] } } },
      },
    });
    const ref = { namespace: workNs, name: 'invoices' };

    expect(await cluster.version()).toMatch(/^v\d+\.\d+\.\d+/);
    expect((await cluster.listCronJobs({ namespaces: [workNs], labelSelector: 'team=billing' })).map((c) => c.name)).toEqual(['invoices']);
    expect((await cluster.getCronJob(ref))?.uid).toBe(uid);
    // The baseline first, then the resume, then suspended again: the order of a handoff's writes.
    const lastTick = `${new Date().getUTCFullYear()}-01-01T00:00:00Z`;
    expect((await cluster.setLastScheduleTime(ref, lastTick)).lastScheduleTime).toBe(new Date(lastTick).toISOString());
    expect((await cluster.setSuspend(ref, false)).suspend).toBe(false);
    expect((await cluster.setSuspend(ref, true)).suspend).toBe(true);
    expect((await cluster.listJobs(workNs, uid)).map((j) => j.name)).toEqual(['invoices-1']);

    const workloads = new KubernetesWorkloads('blue', async () => ({ kubeConfig: sa, server: labCluster.server }));
    expect(await workloads.workloads([workNs])).toEqual([]);
  });

  it("answers preflight's permission checks as the authorizer decides them: allowed where bound, refused elsewhere", async () => {
    const check = (verb: string, resource: string, namespace: string, subresource?: string) => ({
      verb,
      group: 'batch',
      resource,
      namespace,
      ...(subresource ? { subresource } : {}),
    });
    const verdicts = await cluster.canI([
      check('patch', 'cronjobs', workNs),
      check('patch', 'cronjobs', workNs, 'status'),
      check('list', 'jobs', workNs),
      check('patch', 'cronjobs', otherNs),
      check('delete', 'cronjobs', workNs),
      // missedRuns latest/all: cutover starts a missed tick's Job on the target itself (issue 12).
      check('create', 'jobs', workNs),
      check('delete', 'jobs', workNs),
    ]);
    expect(verdicts.map((v) => v.allowed)).toEqual([true, true, true, false, false, true, false]);
  });

  it('grants the Kubernetes state store and its Lease lock in the state namespace through the cutover-state Role', async () => {
    const runbook = 'rbac-run';
    const store = new KubernetesStateStore({ cluster: 'blue', namespace: stateNs, runbook }, async () => ({ kubeConfig: sa, server: labCluster.server }));
    const lock = await store.lock({ steal: false });
    const run = {
      version: 1,
      runId: `${runbook}-20250601T100000-ab12`,
      runbook,
      startedAt: '2025-06-01T10:00:00.000Z',
      startedBy: 'ci',
      stepKinds: ['moveCronJobs'],
      status: 'done',
      plan: { runbook, environment: 'lab', from: 'blue', to: 'green', observedAt: '2025-06-01T10:00:00.000Z', fingerprint: 'x', cronJobs: [], steps: [], messages: [] },
      snapshot: { status: 'done', value: 'done', context: {} as never },
    } satisfies PersistedRun;
    await store.save(run);
    await store.save({ ...run, message: 'saved twice' });
    await store.appendJournal({ at: '2025-06-01T10:00:00.000Z', type: 'run', message: 'started' });
    await store.appendJournal({ at: '2025-06-01T10:00:01.000Z', type: 'run', message: 'done' });
    expect((await store.load())?.message).toBe('saved twice');
    expect((await store.readJournal()).map((e) => e.message)).toEqual(['started', 'done']);
    expect((await store.lockHolder())?.holder).toBe(lock.holder.holder);
    await lock.renew();
    await store.archive(run.runId);
    expect(await store.load()).toBeUndefined();
    await lock.release();
    expect(await store.lockHolder()).toBeUndefined();
  });

  it('refuses everything else with 403, and the adapter names the permission that is missing', async () => {
    // Through the adapter: a namespace the runbook was not granted.
    const listing = cluster.listCronJobs({ namespaces: [otherNs] });
    await expect(listing).rejects.toBeInstanceOf(ApiError);
    await expect(listing).rejects.toMatchObject({ status: 403 });
    await expect(listing).rejects.toThrow(
      `cannot list cronjobs in ${otherNs} on cluster blue: forbidden (HTTP 403) — grant list on cronjobs (API group "batch") in namespace ${otherNs} to the identity cutover uses`,
    );
    await expect(cluster.setSuspend({ namespace: otherNs, name: 'invoices' }, true)).rejects.toThrow(
      `cannot patch cronjobs in ${otherNs} on cluster blue (${otherNs}/invoices): forbidden (HTTP 403)`,
    );

    // Directly: verbs and resources the roles leave out, in the namespaces they do cover.
    const batch = sa.makeApiClient(BatchV1Api);
    const core = sa.makeApiClient(CoreV1Api);
    const apps = sa.makeApiClient(AppsV1Api);
    const leases = sa.makeApiClient(CoordinationV1Api);
    expect(await statusOf(() => batch.deleteNamespacedCronJob({ name: 'invoices', namespace: workNs }))).toBe(403);
    expect(await statusOf(() => batch.deleteNamespacedJob({ name: 'invoices-1', namespace: workNs }))).toBe(403);
    expect(await statusOf(() => core.listNamespacedSecret({ namespace: workNs }))).toBe(403);
    expect(await statusOf(() => core.listNamespacedConfigMap({ namespace: workNs }))).toBe(403);
    expect(await statusOf(() => core.listNamespacedSecret({ namespace: stateNs }))).toBe(403);
    expect(
      await statusOf(() =>
        apps.patchNamespacedDeployment(
          { name: 'api', namespace: workNs, body: { spec: { replicas: 0 } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      ),
    ).toBe(403);
    expect(await statusOf(() => leases.createNamespacedLease({ namespace: workNs, body: { metadata: { name: 'x' }, spec: {} } }))).toBe(403);
    expect(await statusOf(() => leases.listNamespacedLease({ namespace: stateNs }))).toBe(403);
    expect(await statusOf(() => core.createNamespace({ body: { metadata: { name: uniqueName('rbac-nope') } } }))).toBe(403);
  });
});
