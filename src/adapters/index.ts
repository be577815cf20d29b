// Wires the ports of one loaded runbook to the real systems its environment names: Kubernetes clusters
// (kubeconfig or EKS), Route 53, CloudWatch, Slack, the terminal — or the in-memory sandbox.
import type { LoadedRunbook, Environment } from '../config/types.js';
import type { AlarmsPort, ClusterPort, DnsPort, HealthChecksPort, Ports, RunNotifier, WorkloadsPort } from '../core/ports.js';
import { ensureAccount } from './aws/sts.js';
import { connectCluster, lazyConnection } from './k8s/client.js';
import { KubernetesCluster } from './k8s/cluster.js';
import { KubernetesWorkloads } from './k8s/workloads.js';

/** The sandbox module is written apart; loaded only for the sandbox environment. */
interface SandboxModule {
  createSandboxPorts(loaded: LoadedRunbook): Promise<Ports> | Ports;
}

async function loadSandbox(): Promise<SandboxModule> {
  // A specifier in a variable keeps typecheck independent of whether the sandbox module exists yet.
  const specifier = './sandbox/index.js';
  return (await import(specifier)) as SandboxModule;
}

/**
 * AWS ports first confirm the credentials belong to the pinned `aws.accountId`, once per run, before any
 * call: weights must never move in an account the environment file does not name.
 */
export function afterAccountCheck<T extends object>(port: T, env: Environment): T {
  return new Proxy(port, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await ensureAccount(env);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

function kubernetesPorts(loaded: LoadedRunbook): Pick<Ports, 'clusters' | 'workloads'> {
  const { environment: env, environmentFile } = loaded;
  const clusters: Record<string, ClusterPort> = {};
  const workloads: Record<string, WorkloadsPort> = {};
  for (const [name, config] of Object.entries(env.clusters)) {
    // One connection per cluster, shared by its ports, dialled on first use.
    const connection = lazyConnection(() => connectCluster(name, config, env, environmentFile));
    clusters[name] = new KubernetesCluster(name, connection);
    workloads[name] = new KubernetesWorkloads(name, connection);
  }
  return { clusters, workloads };
}

async function awsPorts(env: Environment): Promise<{ dns?: DnsPort; alarms?: AlarmsPort; healthChecks?: HealthChecksPort }> {
  const route53 = await import('./aws/route53.js');
  const cloudwatch = await import('./aws/cloudwatch.js');
  return {
    ...(env.dns ? { dns: afterAccountCheck(route53.createDnsPort(env), env) } : {}),
    alarms: afterAccountCheck(cloudwatch.createAlarmsPort(env), env),
    healthChecks: afterAccountCheck(route53.createHealthChecksPort(env), env),
  };
}

/** Terminal approvals always; Slack approvals and the run's Slack thread when the environment has `slack`. */
async function approvalPorts(env: Environment): Promise<{ approvals: Ports['approvals']; notifier?: RunNotifier }> {
  const { createTerminalApprovalPort } = await import('./terminal/index.js');
  const approvals: Ports['approvals'] = { terminal: createTerminalApprovalPort() };
  if (!env.slack) return { approvals };
  const { createSlackApprovalPort } = await import('./slack/index.js');
  const slack = createSlackApprovalPort(env);
  approvals.slack = slack;
  return { approvals, notifier: slack.notifier };
}

export async function createPorts(loaded: LoadedRunbook): Promise<Ports> {
  const env = loaded.environment;
  if (env.sandbox) {
    const sandbox = await loadSandbox();
    return sandbox.createSandboxPorts(loaded);
  }
  const [aws, approval] = await Promise.all([awsPorts(env), approvalPorts(env)]);
  return { ...kubernetesPorts(loaded), ...aws, ...approval };
}
