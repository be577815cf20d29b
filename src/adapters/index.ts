// Wires the ports of one loaded runbook to the real systems its environment names: Kubernetes clusters
// (kubeconfig or EKS), Route 53, CloudWatch, Slack, the terminal — or the in-memory sandbox.
import type { LoadedRunbook, Environment } from '../config/types.js';
import type { AlarmsPort, ClusterPort, DnsPort, HealthChecksPort, Ports, RunNotifier, WorkloadsPort } from '../core/ports.js';
import { connectCluster, lazyConnection } from './k8s/client.js';
import { KubernetesCluster } from './k8s/cluster.js';
import { KubernetesWorkloads } from './k8s/workloads.js';
import { defaultRequestPolicy } from './k8s/request.js';

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
        const { ensureAccount } = await import('./aws/sts.js');
        await ensureAccount(env);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** What the caller hands every adapter: the run's signal, which ends any retry pause at once. */
export interface PortOptions {
  signal?: AbortSignal;
}

function kubernetesPorts(loaded: LoadedRunbook, options: PortOptions = {}): Pick<Ports, 'clusters' | 'workloads'> {
  const { environment: env, environmentFile } = loaded;
  const clusters: Record<string, ClusterPort> = {};
  const workloads: Record<string, WorkloadsPort> = {};
  for (const [name, config] of Object.entries(env.clusters)) {
    // One connection per cluster, shared by its ports, dialled on first use.
    const connection = lazyConnection(() => connectCluster(name, config, env, environmentFile));
    clusters[name] = new KubernetesCluster(name, connection, options.signal ? { policy: { ...defaultRequestPolicy, signal: options.signal } } : {});
    workloads[name] = new KubernetesWorkloads(name, connection);
  }
  return { clusters, workloads };
}

/**
 * Route 53 and CloudWatch ports, each only when the runbook uses it: the AWS SDK takes a noticeable part of
 * a command's start, and a runbook that only moves CronJobs never needs it.
 */
async function awsPorts(loaded: LoadedRunbook, options: PortOptions = {}): Promise<{ dns?: DnsPort; alarms?: AlarmsPort; healthChecks?: HealthChecksPort }> {
  const env = loaded.environment;
  const gateTypes = new Set(loaded.runbook.steps.flatMap((step) => (step.kind === 'gate' ? [step.gate.type] : [])));
  const needsHealthChecks = gateTypes.has('route53HealthChecks');
  const route53 = env.dns || needsHealthChecks ? await import('./aws/route53.js') : undefined;
  const cloudwatch = gateTypes.has('cloudwatchAlarms') ? await import('./aws/cloudwatch.js') : undefined;
  return {
    ...(route53 && env.dns ? { dns: afterAccountCheck(route53.createDnsPort(env, undefined, options.signal), env) } : {}),
    ...(cloudwatch ? { alarms: afterAccountCheck(cloudwatch.createAlarmsPort(env), env) } : {}),
    ...(route53 && needsHealthChecks ? { healthChecks: afterAccountCheck(route53.createHealthChecksPort(env, undefined, options.signal), env) } : {}),
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

export async function createPorts(loaded: LoadedRunbook, options: PortOptions = {}): Promise<Ports> {
  const env = loaded.environment;
  if (env.sandbox) {
    const sandbox = await loadSandbox();
    return sandbox.createSandboxPorts(loaded);
  }
  const [aws, approval] = await Promise.all([awsPorts(loaded, options), approvalPorts(env)]);
  return { ...kubernetesPorts(loaded, options), ...aws, ...approval };
}
