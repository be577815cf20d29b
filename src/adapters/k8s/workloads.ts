// WorkloadsPort over AppsV1Api, for `gate: kubernetes`: how many replicas each Deployment and StatefulSet
// wants and how many are available on the target cluster.
import { AppsV1Api, type V1Deployment, type V1StatefulSet } from '@kubernetes/client-node';
import type { ClusterConfig, Environment } from '../../config/types.js';
import type { WorkloadsPort } from '../../core/ports.js';
import { connectCluster, lazyConnection, makeApiClient, type ClusterConnection } from './client.js';
import { callOptions, defaultRequestPolicy, listAll, pageParams, read, type RequestPolicy } from './request.js';

type Workload = Awaited<ReturnType<WorkloadsPort['workloads']>>[number];

const PAGE_SIZE = 250;

interface AppsConnection {
  server: string;
  apps: AppsV1Api;
}

/** Desired replicas default to 1 when unset, as the API server defaults them. */
function workloadOf(kind: Workload['kind'], w: V1Deployment | V1StatefulSet): Workload {
  return {
    kind,
    namespace: w.metadata?.namespace ?? '',
    name: w.metadata?.name ?? '',
    desired: w.spec?.replicas ?? 1,
    available: w.status?.availableReplicas ?? 0,
  };
}

export const deploymentWorkload = (d: V1Deployment): Workload => workloadOf('Deployment', d);

export const statefulSetWorkload = (s: V1StatefulSet): Workload => workloadOf('StatefulSet', s);

export class KubernetesWorkloads implements WorkloadsPort {
  private clients: { from: ClusterConnection; apps: AppsConnection } | undefined;

  constructor(
    private readonly cluster: string,
    private readonly connection: () => Promise<ClusterConnection>,
    private readonly policy: RequestPolicy = defaultRequestPolicy,
  ) {}

  private async apps(): Promise<AppsConnection> {
    const connection = await this.connection();
    if (this.clients?.from !== connection) {
      const apps = { server: connection.server, apps: makeApiClient(connection.kubeConfig, AppsV1Api) };
      this.clients = { from: connection, apps };
    }
    return this.clients.apps;
  }

  async workloads(namespaces: string[], selector?: string): Promise<Workload[]> {
    const perNamespace = await Promise.all(namespaces.map((ns) => this.inNamespace(ns, selector)));
    return perNamespace.flat();
  }

  private async inNamespace(namespace: string, labelSelector: string | undefined): Promise<Workload[]> {
    const { server, apps } = await this.apps();
    const base = { namespace, ...(labelSelector ? { labelSelector } : {}) };
    const op = (resource: string) => ({ cluster: this.cluster, server, verb: 'list', resource, group: 'apps', namespace });
    const [deployments, statefulSets] = await Promise.all([
      listAll<V1Deployment>((token) =>
        read(op('deployments'), this.policy, () =>
          apps.listNamespacedDeployment({ ...base, ...pageParams(PAGE_SIZE, token) }, callOptions(this.policy)),
        ),
      ),
      listAll<V1StatefulSet>((token) =>
        read(op('statefulsets'), this.policy, () =>
          apps.listNamespacedStatefulSet({ ...base, ...pageParams(PAGE_SIZE, token) }, callOptions(this.policy)),
        ),
      ),
    ]);
    return [...deployments.map(deploymentWorkload), ...statefulSets.map(statefulSetWorkload)];
  }
}

export function createWorkloadsPort(name: string, config: ClusterConfig, env: Environment, envFile: string): WorkloadsPort {
  return new KubernetesWorkloads(name, lazyConnection(() => connectCluster(name, config, env, envFile)));
}
