// The kubernetes gate against the green lab cluster, through the real WorkloadsPort. The lab runs no
// deployment/statefulset controllers and no kubelet, so nothing ever becomes available by itself: the test
// writes status.availableReplicas through the status subresource, as the controllers would from pod
// readiness on a real cluster, and checks that the gate waits until then.
import { AppsV1Api, type V1Deployment, type V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { kubeconfigConnection } from '../../src/adapters/k8s/client.js';
import { KubernetesWorkloads } from '../../src/adapters/k8s/workloads.js';
import { HaltError } from '../../src/core/errors.js';
import type { GateStep } from '../../src/config/types.js';
import { gate } from '../../src/steps/gate.js';
import { createNamespace, kubeConfigFor, labEnvironmentPath, labKubeconfigPath } from '../support/lab.js';
import { stepRuntime, testEnvironment, testLoaded, testRun, virtualClock } from '../support/step-runtime.js';

const apps = kubeConfigFor('green').makeApiClient(AppsV1Api);
const labels = { app: 'web' };
const template = { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'registry.example/web:1' }] } };

function deployment(name: string, replicas: number): V1Deployment {
  return { metadata: { name, labels }, spec: { replicas, selector: { matchLabels: labels }, template } };
}

function statefulSet(name: string, replicas: number): V1StatefulSet {
  return { metadata: { name, labels }, spec: { replicas, serviceName: name, selector: { matchLabels: labels }, template } };
}

/** What the controllers would write once the pods are ready. */
async function markAvailable(namespace: string, kind: 'Deployment' | 'StatefulSet', name: string, available: number): Promise<void> {
  const counts = { replicas: available, readyReplicas: available, availableReplicas: available, updatedReplicas: available };
  if (kind === 'Deployment') {
    const current = await apps.readNamespacedDeploymentStatus({ name, namespace });
    await apps.replaceNamespacedDeploymentStatus({ name, namespace, body: { ...current, status: { ...current.status, ...counts } } });
  } else {
    const current = await apps.readNamespacedStatefulSetStatus({ name, namespace });
    await apps.replaceNamespacedStatefulSetStatus({ name, namespace, body: { ...current, status: { ...current.status, ...counts, currentReplicas: available } } });
  }
}

function runGate(namespaces: string[], timeoutMs = 60_000, selector?: string) {
  const env = testEnvironment();
  const step: GateStep = { kind: 'gate', name: 'green ready', timeoutMs, gate: { type: 'kubernetes', cluster: 'green', namespaces, ...(selector ? { selector } : {}) } };
  const connection = kubeconfigConnection('green', { kubeconfig: { context: 'lab-green', path: labKubeconfigPath } }, labEnvironmentPath);
  const workloads = new KubernetesWorkloads('green', async () => connection);
  const run = testRun({ loaded: testLoaded(env, [step]), ports: { workloads: { green: workloads } }, clock: virtualClock() });
  return { run, result: gate(stepRuntime(run, 0)) };
}

describe('kubernetes gate on the lab', () => {
  it('halts while a Deployment is not available, and passes once every workload is', async () => {
    const ns = await createNamespace('green', 'gate-k8s');
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', 2) });
    await apps.createNamespacedStatefulSet({ namespace: ns, body: statefulSet('db', 1) });

    const notYet = runGate([ns], 30_000);
    await expect(notYet.result).rejects.toThrow(HaltError);
    await expect(notYet.result).rejects.toThrow(new RegExp(`Deployment/${ns}/web 0/2`));
    expect(notYet.run.entries[0]?.data?.evidence).toEqual({
      cluster: 'green',
      workloads: { [`Deployment/${ns}/web`]: '0/2 available', [`StatefulSet/${ns}/db`]: '0/1 available' },
    });

    await markAvailable(ns, 'Deployment', 'web', 2);
    const half = runGate([ns], 30_000);
    await expect(half.result).rejects.toThrow(new RegExp(`StatefulSet/${ns}/db 0/1`));

    await markAvailable(ns, 'StatefulSet', 'db', 1);
    await expect(runGate([ns]).result).resolves.toMatchObject({ status: 'pass', looks: 1 });
  });

  it('passes a Deployment scaled to 0, and keeps waiting when the namespace has no workloads', async () => {
    const ns = await createNamespace('green', 'gate-k8s-zero');
    const empty = runGate([ns], 20_000);
    await expect(empty.result).rejects.toThrow(/no Deployment or StatefulSet found/);
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('batch-api', 0) });
    await expect(runGate([ns]).result).resolves.toMatchObject({ status: 'pass', evidence: { workloads: { [`Deployment/${ns}/batch-api`]: '0/0 available' } } });
  });
});
