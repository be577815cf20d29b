import { describe, expect, it } from 'vitest';
import { AppsV1Api, type V1Deployment, type V1StatefulSet } from '@kubernetes/client-node';
import { createWorkloadsPort } from '../../src/adapters/k8s/workloads.js';
import type { ClusterConfig, Environment } from '../../src/config/types.js';
import { createNamespace, kubeConfigFor, labEnvironmentPath } from '../support/lab.js';

const greenConfig: ClusterConfig = { kubeconfig: { context: 'lab-green', path: '../.lab/kubeconfig' } };
const env: Environment = {
  apiVersion: 'cutover.dev/v1',
  kind: 'Environment',
  name: 'workloads-e2e',
  clusters: { green: greenConfig },
  allowNonInteractiveApproval: false,
};
const apps = kubeConfigFor('green').makeApiClient(AppsV1Api);

const podTemplate = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: 'main', image: 'registry.example/api:1' }] },
});

function deployment(namespace: string, name: string, app: string, replicas?: number): V1Deployment {
  return {
    metadata: { namespace, name, labels: { app } },
    spec: { ...(replicas === undefined ? {} : { replicas }), selector: { matchLabels: { app } }, template: podTemplate(app) },
  };
}

function statefulSet(namespace: string, name: string, app: string, replicas: number): V1StatefulSet {
  return {
    metadata: { namespace, name, labels: { app } },
    spec: { replicas, serviceName: name, selector: { matchLabels: { app } }, template: podTemplate(app) },
  };
}

describe('WorkloadsPort against a real kube-apiserver', () => {
  it('reports desired and available replicas of Deployments and StatefulSets, filtered by label', async () => {
    const namespace = await createNamespace('green', 'k8s-workloads');
    await apps.createNamespacedDeployment({ namespace, body: deployment(namespace, 'api', 'api', 3) });
    await apps.createNamespacedDeployment({ namespace, body: deployment(namespace, 'api-default', 'api') });
    await apps.createNamespacedStatefulSet({ namespace, body: statefulSet(namespace, 'api-cache', 'api', 2) });
    await apps.createNamespacedDeployment({ namespace, body: deployment(namespace, 'batch-ui', 'ui', 1) });

    const port = createWorkloadsPort('green', greenConfig, env, labEnvironmentPath);
    const found = await port.workloads([namespace], 'app=api');
    const byName = Object.fromEntries(found.map((w) => [w.name, w]));

    expect(Object.keys(byName).sort()).toEqual(['api', 'api-cache', 'api-default']);
    // The lab runs no scheduler or kubelet, so nothing becomes available: exactly what a gate must catch.
    expect(byName.api).toEqual({ kind: 'Deployment', namespace, name: 'api', desired: 3, available: 0 });
    expect(byName['api-default']).toMatchObject({ kind: 'Deployment', desired: 1, available: 0 });
    expect(byName['api-cache']).toEqual({ kind: 'StatefulSet', namespace, name: 'api-cache', desired: 2, available: 0 });

    const everything = await port.workloads([namespace]);
    expect(everything.map((w) => w.name).sort()).toEqual(['api', 'api-cache', 'api-default', 'batch-ui']);
  });

  it('names the cluster and resource when listing is forbidden', async () => {
    const namespace = await createNamespace('green', 'k8s-workloads-denied');
    const norights: ClusterConfig = { kubeconfig: { context: 'lab-green-norights', path: '../.lab/kubeconfig' } };
    const port = createWorkloadsPort('green', norights, { ...env, clusters: { green: norights } }, labEnvironmentPath);
    await expect(port.workloads([namespace])).rejects.toThrow(
      new RegExp(`cannot list (deployments|statefulsets) in ${namespace} on cluster green: forbidden \\(HTTP 403\\) — grant list on (deployments|statefulsets) \\(API group "apps"\\)`),
    );
  });
});
