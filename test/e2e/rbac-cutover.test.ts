// Issue 6, on the real lab: a full `cutover execute` (preflight + moveCronJobs, run state in Kubernetes with
// its Lease) as a ServiceAccount bound only to the shipped roles of deploy/rbac, on both clusters, both
// fenced first by the same ServiceAccount (issue 13). It completes and moves ownership; the same ServiceAccount is refused a CronJob delete, and a runbook naming a namespace it was
// not granted stops with the missing grant named and nothing changed.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, type V1ClusterRole, type V1ClusterRoleBinding, type V1Role, type V1RoleBinding } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { describe, expect, onTestFinished, test } from 'vitest';
import {
  MINUTE,
  SuspendWatch,
  batch,
  cutover,
  enabledWhere,
  minutelyCronJob,
  writeHandoffRunbook,
  type CliResult,
} from '../support/crash.js';
import { createNamespace, kubeConfigFor, repoRoot, uniqueName, waitFor, type LabCluster } from '../support/lab.js';

const SA = 'cutover';
const show = (r: CliResult) => `exit ${r.code ?? r.signal}\n${r.stdout}\n${r.stderr}`;

function shipped<T>(file: string): T {
  return parseAllDocuments(readFileSync(join(repoRoot, 'deploy', 'rbac', file), 'utf8'))[0]!.toJS() as T;
}

interface Grants {
  clusterRole: string;
  saNamespace: string;
}

/** The shipped ClusterRole (under a name of this run), the ServiceAccount, and bindings in `work` (+ state). */
async function grant(cluster: LabCluster, work: string, state: string | undefined): Promise<Grants> {
  const kc = kubeConfigFor(cluster);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const saNamespace = state ?? (await createNamespace(cluster, 'rbac-cutover-sa'));
  await core.createNamespacedServiceAccount({ namespace: saNamespace, body: { metadata: { name: SA } } });
  const subjects = [{ kind: 'ServiceAccount', name: SA, namespace: saNamespace }];
  const role = shipped<V1ClusterRole>('cutover-operator.clusterrole.yaml');
  const clusterRole = uniqueName('cutover-operator');
  await rbac.createClusterRole({ body: { ...role, metadata: { ...role.metadata, name: clusterRole } } });
  onTestFinished(async () => {
    await rbac.deleteClusterRole({ name: clusterRole });
  });
  const binding = shipped<V1RoleBinding>('cutover-operator.rolebinding.yaml');
  await rbac.createNamespacedRoleBinding({
    namespace: work,
    body: { ...binding, metadata: { ...binding.metadata, namespace: work }, roleRef: { ...binding.roleRef, name: clusterRole }, subjects },
  });
  // The fence's own cluster role (issue 13), bound cluster-wide as shipped.
  const fenceRole = shipped<V1ClusterRole>('cutover-fence.clusterrole.yaml');
  const fenceName = uniqueName('cutover-fence');
  await rbac.createClusterRole({ body: { ...fenceRole, metadata: { ...fenceRole.metadata, name: fenceName } } });
  const fenceBinding = shipped<V1ClusterRoleBinding>('cutover-fence.clusterrolebinding.yaml');
  await rbac.createClusterRoleBinding({
    body: { ...fenceBinding, metadata: { ...fenceBinding.metadata, name: fenceName }, roleRef: { ...fenceBinding.roleRef, name: fenceName }, subjects },
  });
  onTestFinished(async () => {
    await rbac.deleteClusterRoleBinding({ name: fenceName });
    await rbac.deleteClusterRole({ name: fenceName });
  });
  if (state) {
    const stateRole = shipped<V1Role>('cutover-state.role.yaml');
    await rbac.createNamespacedRole({ namespace: state, body: { ...stateRole, metadata: { ...stateRole.metadata, namespace: state } } });
    const stateBinding = shipped<V1RoleBinding>('cutover-state.rolebinding.yaml');
    await rbac.createNamespacedRoleBinding({ namespace: state, body: { ...stateBinding, metadata: { ...stateBinding.metadata, namespace: state }, subjects } });
  }
  return { clusterRole, saNamespace };
}

async function token(cluster: LabCluster, namespace: string): Promise<string> {
  const minted = await kubeConfigFor(cluster)
    .makeApiClient(CoreV1Api)
    .createNamespacedServiceAccountToken({
      name: SA,
      namespace,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds: 3600 } },
    });
  const value = minted.status?.token;
  if (!value) throw new Error('TokenRequest returned no token');
  return value;
}

/** A kubeconfig with contexts `sa-blue` and `sa-green`: the lab servers, the ServiceAccount's tokens. */
async function serviceAccountKubeconfig(dir: string, tokens: Record<LabCluster, string>): Promise<string> {
  const clusters = (['blue', 'green'] as const).map((c) => {
    const server = kubeConfigFor(c).getCurrentCluster()!;
    return { name: c, cluster: { server: server.server, 'certificate-authority-data': server.caData } };
  });
  const file = join(dir, 'sa-kubeconfig');
  await writeFile(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters,
      users: (['blue', 'green'] as const).map((c) => ({ name: `sa-${c}`, user: { token: tokens[c] } })),
      contexts: (['blue', 'green'] as const).map((c) => ({ name: `sa-${c}`, context: { cluster: c, user: `sa-${c}` } })),
      'current-context': 'sa-blue',
    }),
  );
  return file;
}

describe('least privilege: a whole cutover as the shipped role (issue 6)', () => {

  test('execute completes as a ServiceAccount bound only to deploy/rbac; anything beyond it is refused', async () => {
    const sweep = uniqueName('rbac-cutover');
    const work = uniqueName('rbac-cutover');
    const ungranted = uniqueName('rbac-ungranted');
    for (const cluster of ['blue', 'green'] as const) {
      await createNamespace(cluster, 'rbac-cutover', work);
      await createNamespace(cluster, 'rbac-cutover', ungranted);
    }
    const state = await createNamespace('blue', 'rbac-cutover-state');
    for (const name of ['alpha', 'beta']) {
      await batch('blue').createNamespacedCronJob({ namespace: work, body: minutelyCronJob(name, sweep, false) });
      await batch('green').createNamespacedCronJob({ namespace: work, body: minutelyCronJob(name, sweep, true) });
    }
    await batch('blue').createNamespacedCronJob({ namespace: ungranted, body: minutelyCronJob('other', sweep, false) });
    await batch('green').createNamespacedCronJob({ namespace: ungranted, body: minutelyCronJob('other', sweep, true) });
    const blueGrants = await grant('blue', work, state);
    const greenGrants = await grant('green', work, undefined);

    const dir = await mkdtemp(join(tmpdir(), 'cutover-rbac-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const kubeconfig = await serviceAccountKubeconfig(dir, {
      blue: await token('blue', blueGrants.saNamespace),
      green: await token('green', greenGrants.saNamespace),
    });
    const contexts = { blue: 'sa-blue', green: 'sa-green' };
    const stateLine = `state: { kubernetes: { cluster: blue, namespace: ${state} } }`;
    const { runbook } = await writeHandoffRunbook(dir, [work], { name: 'least-privilege', kubeconfig, contexts });
    // The environment keeps its run in Kubernetes: Lease and ConfigMaps in the state namespace only.
    const environment = readFileSync(join(dir, 'environment.yaml'), 'utf8').replace('state: { local: { dir: state } }', stateLine);
    await writeFile(join(dir, 'environment.yaml'), environment);

    // The authorizer learns new bindings from its informers: wait until both grants answer.
    for (const cluster of ['blue', 'green'] as const) {
      const kc = kubeConfigFor(cluster);
      await waitFor(
        `the grant on ${cluster}`,
        async () => {
          const review = await kc.makeApiClient(RbacAuthorizationV1Api).listNamespacedRoleBinding({ namespace: work });
          return review.items.length > 0 ? true : undefined;
        },
        { timeoutMs: 30_000 },
      );
    }
    const watch = new SuspendWatch({ sweep });
    await watch.start();
    onTestFinished(() => watch.stop());

    // Both clusters fenced by the ServiceAccount itself, with the shipped fence role (issue 13).
    for (const cluster of ['blue', 'green'] as const) {
      let fenced: CliResult | undefined;
      await waitFor(
        `fence ${cluster} as the ServiceAccount`,
        async () => {
          fenced = await cutover(['fence', '-f', runbook, '--on', cluster]);
          return fenced.code === 0 || !/403|forbidden/i.test(fenced.stderr) ? true : undefined;
        },
        { timeoutMs: MINUTE, intervalMs: 2_000 },
      ).catch(() => expect.fail(show(fenced!)));
      expect(fenced!.code, show(fenced!)).toBe(0);
      // Removed with the lab's admin credentials: the ServiceAccount's grants may already be gone by then.
      onTestFinished(async () => {
        const admission = kubeConfigFor(cluster).makeApiClient(AdmissionregistrationV1Api);
        await admission.deleteValidatingAdmissionPolicyBinding({ name: 'cutover-fence-least-privilege' }).catch(() => undefined);
        await admission.deleteValidatingAdmissionPolicy({ name: 'cutover-fence-least-privilege' }).catch(() => undefined);
      });
    }

    let done: CliResult | undefined;
    await waitFor(
      'execute as the ServiceAccount to complete',
      async () => {
        done = await cutover(['execute', '-f', runbook, '--yes']);
        // A 403 right after the binding was made is the authorizer catching up; anything else is final.
        return done.code === 0 || !done.stderr.includes('403') ? true : undefined;
      },
      { timeoutMs: 2 * MINUTE, intervalMs: 2_000 },
    );
    expect(done!.code, show(done!)).toBe(0);
    expect((await enabledWhere(sweep)).get(`${work}/alpha`)).toEqual(['green']);
    expect((await enabledWhere(sweep)).get(`${work}/beta`)).toEqual(['green']);
    const owners = async (cluster: LabCluster) =>
      ((await kubeConfigFor(cluster).makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: 'cutover.dev', version: 'v1', namespace: work, plural: 'fencerecords', name: 'cutover-fence' })) as {
        spec: { cronJobs: Record<string, string> };
      }).spec.cronJobs;
    expect(await owners('blue')).toMatchObject({ alpha: 'fenced', beta: 'fenced' });
    expect(await owners('green')).toMatchObject({ alpha: 'owned', beta: 'owned' });
    await watch.stop();
    expect(watch.bothEnabled()).toEqual([]);
    // The run, its journal and its Lease live in the state namespace.
    const configMaps = await kubeConfigFor('blue').makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: state });
    expect(configMaps.items.map((c) => c.metadata?.name)).toEqual(expect.arrayContaining(['cutover-least-privilege']));

    // Beyond the role: a CronJob delete as the ServiceAccount is refused.
    const { KubeConfig, BatchV1Api } = await import('@kubernetes/client-node');
    const saConfig = new KubeConfig();
    saConfig.loadFromFile(kubeconfig);
    saConfig.setCurrentContext('sa-blue');
    const deleted = await saConfig
      .makeApiClient(BatchV1Api)
      .deleteNamespacedCronJob({ name: 'alpha', namespace: work })
      .then(
        () => 200,
        (error: { code?: number }) => error.code,
      );
    expect(deleted).toBe(403);

    // A namespace not granted: refused with the missing grant named, nothing changed.
    const other = await writeHandoffRunbook(join(dir), [ungranted], { name: 'ungranted', kubeconfig, contexts });
    await writeFile(join(dir, 'environment.yaml'), environment);
    const refused = await cutover(['execute', '-f', other.runbook, '--yes']);
    expect(refused.code, show(refused)).not.toBe(0);
    expect(refused.stderr, show(refused)).toMatch(/403|forbidden|not allowed|grant/i);
    expect((await enabledWhere(sweep)).get(`${ungranted}/other`)).toEqual(['blue']);
  }, 6 * MINUTE);
});
