// Builds a client-node KubeConfig for one environment cluster: from a kubeconfig context, or from EKS
// (DescribeCluster for endpoint and CA, and a fresh STS-presigned bearer token per request).
import { existsSync } from 'node:fs';
import https from 'node:https';
import { homedir } from 'node:os';
import path from 'node:path';
import { KubeConfig, ServerConfiguration, createConfiguration, type Configuration, type RequestContext, type User } from '@kubernetes/client-node';
import { InputError } from '../../core/errors.js';
import type { ClusterConfig, EksClusterConfig, Environment, KubeconfigClusterConfig } from '../../config/types.js';

/** client-node's authenticator hook; the interface itself is not exported from the package root. */
type Authenticator = Parameters<KubeConfig['addAuthenticator']>[0];

export interface ClusterConnection {
  kubeConfig: KubeConfig;
  /** API server URL, for messages. */
  server: string;
}

/** Marks the kubeconfig user whose token cutover mints itself, so only that user gets the EKS authenticator. */
const EKS_AUTH_PROVIDER = 'cutover-eks';

/**
 * Hooks into client-node's per-request authentication: every request asks for a token, and the token
 * source decides whether the cached one is still young enough. A static token would expire mid-run.
 */
export class EksTokenAuthenticator implements Authenticator {
  constructor(private readonly token: () => Promise<string>) {}

  isAuthProvider(user: User): boolean {
    return (user.authProvider as { name?: string } | undefined)?.name === EKS_AUTH_PROVIDER;
  }

  async applyAuthentication(_user: User, opts: Parameters<Authenticator['applyAuthentication']>[1]): Promise<void> {
    const token = await this.token();
    const headers = opts.headers !== undefined && !Array.isArray(opts.headers) ? opts.headers : {};
    opts.headers = { ...headers, Authorization: `Bearer ${token}` };
  }
}

const keepAliveAgents = new WeakMap<KubeConfig, https.Agent>();

/** The agent every request to this cluster shares, once the first request has built it. */
export const keepAliveAgent = (kubeConfig: KubeConfig): https.Agent | undefined => keepAliveAgents.get(kubeConfig);

/**
 * KubeConfig.makeApiClient, except that every request to the cluster shares one keep-alive agent. client-node
 * builds a new https.Agent for each request, so each one would open a connection and handshake TLS again:
 * about half the CPU of a 500-CronJob handoff (docs/benchmarks.md). Authentication still runs per request
 * (the EKS token is refreshed as before); only the connection is reused, with the TLS options of the first.
 */
export function makeApiClient<T>(kubeConfig: KubeConfig, api: new (configuration: Configuration) => T): T {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new InputError(`kubeconfig context "${kubeConfig.getCurrentContext()}" names no cluster server`);
  const auth = {
    getName: () => 'kubeconfig-keep-alive',
    async applySecurityAuthentication(context: RequestContext): Promise<void> {
      await kubeConfig.applySecurityAuthentication(context);
      let agent = keepAliveAgents.get(kubeConfig);
      if (!agent) {
        const built = context.getAgent();
        if (!(built instanceof https.Agent)) return;
        agent = new https.Agent({ ...built.options, keepAlive: true });
        keepAliveAgents.set(kubeConfig, agent);
      }
      context.setAgent(agent);
    },
  };
  return new api(createConfiguration({ baseServer: new ServerConfiguration(server, {}), authMethods: { default: auth } }));
}

function issue(envFile: string, field: string, message: string): InputError {
  return new InputError(`invalid cluster in ${envFile}`, [{ file: envFile, path: field, message }]);
}

/** The kubeconfig file to read: the configured path (relative to the environment file), KUBECONFIG, ~/.kube/config. */
export function kubeconfigPath(config: KubeconfigClusterConfig, envFile: string): string | undefined {
  if (config.kubeconfig.path) return path.resolve(path.dirname(envFile), config.kubeconfig.path);
  const fromEnv = process.env.KUBECONFIG?.split(path.delimiter).find((p) => p !== '');
  if (fromEnv) return undefined; // client-node merges every KUBECONFIG entry itself
  return path.join(homedir(), '.kube', 'config');
}

function loadKubeconfigFile(kc: KubeConfig, file: string | undefined, field: string, envFile: string): void {
  if (file !== undefined && !existsSync(file)) {
    throw issue(envFile, field, `kubeconfig ${file} does not exist: set kubeconfig.path or KUBECONFIG`);
  }
  try {
    if (file === undefined) kc.loadFromDefault();
    else kc.loadFromFile(file);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw issue(envFile, field, `cannot read kubeconfig ${file ?? process.env.KUBECONFIG}: ${detail}`);
  }
}

export function kubeconfigConnection(name: string, config: KubeconfigClusterConfig, envFile: string): ClusterConnection {
  const kc = new KubeConfig();
  const file = kubeconfigPath(config, envFile);
  loadKubeconfigFile(kc, file, `clusters.${name}.kubeconfig.path`, envFile);
  const { context } = config.kubeconfig;
  if (!kc.getContextObject(context)) {
    const known = kc.getContexts().map((c) => c.name).join(', ') || 'none';
    throw issue(
      envFile,
      `clusters.${name}.kubeconfig.context`,
      `context "${context}" not found in ${file ?? process.env.KUBECONFIG}; contexts there: ${known}`,
    );
  }
  kc.setCurrentContext(context);
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw issue(envFile, `clusters.${name}.kubeconfig.context`, `context "${context}" names a cluster that is not in the kubeconfig`);
  }
  return { kubeConfig: kc, server: cluster.server };
}

/**
 * A directory standing for `/` when cutover reads its pod's ServiceAccount files (token, ca.crt,
 * namespace under /var/run/secrets/kubernetes.io/serviceaccount): for tests, and for pods that mount the
 * token somewhere else. Unset in a normal pod.
 */
export const IN_CLUSTER_ROOT_ENV = 'CUTOVER_IN_CLUSTER_ROOT';
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The cluster this process runs in, as its pod's ServiceAccount reaches it: the API server from
 * KUBERNETES_SERVICE_HOST/PORT (set by the kubelet), the projected token and CA from the ServiceAccount
 * mount. client-node re-reads the token file as it ages, so the kubelet's rotation of a projected token
 * reaches a run that lasts hours.
 */
export function inClusterConnection(envFile: string): ClusterConnection {
  const field = 'state.kubernetes';
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw issue(
      envFile,
      field,
      'no cluster is named, so the state lives in the cluster cutover runs in, but KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set (not in a pod): run cutover as a pod (deploy/chart/cutover) or name a cluster in state.kubernetes.cluster',
    );
  }
  const root = process.env[IN_CLUSTER_ROOT_ENV] ?? '';
  for (const file of ['token', 'ca.crt']) {
    const full = `${root}${SERVICE_ACCOUNT_DIR}/${file}`;
    if (!existsSync(full)) {
      throw issue(
        envFile,
        field,
        `no cluster is named, so cutover uses its pod's ServiceAccount, but ${full} does not exist: mount the ServiceAccount token (automountServiceAccountToken or a projected volume) or name a cluster in state.kubernetes.cluster`,
      );
    }
  }
  const kc = new KubeConfig();
  kc.loadFromCluster(root);
  const server = kc.getCurrentCluster()?.server ?? `https://${host}:${port}`;
  return { kubeConfig: kc, server };
}

/** A KubeConfig for an EKS-style cluster: endpoint and CA from DescribeCluster, a minted token per request. */
export function eksKubeConfig(name: string, endpoint: string, caData: string, token: () => Promise<string>): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name, server: endpoint, caData, skipTLSVerify: false }],
    users: [{ name: `${name}-eks`, authProvider: { name: EKS_AUTH_PROVIDER, config: {} } }],
    contexts: [{ name, cluster: name, user: `${name}-eks` }],
    currentContext: name,
  });
  kc.addAuthenticator(new EksTokenAuthenticator(token));
  return kc;
}

export async function eksConnection(name: string, config: EksClusterConfig, env: Environment): Promise<ClusterConnection> {
  // The AWS SDK is loaded only for EKS clusters: a kubeconfig-only environment starts without it.
  const [{ ensureAccount }, { createTokenSource, describeEksCluster }] = await Promise.all([import('../aws/sts.js'), import('../aws/eks.js')]);
  await ensureAccount(env);
  const { name: eksName, region } = config.eks;
  const access = await describeEksCluster(env, eksName, region);
  const token = createTokenSource({ clusterName: eksName, region });
  return { kubeConfig: eksKubeConfig(name, access.endpoint, access.certificateAuthorityData, token), server: access.endpoint };
}

export async function connectCluster(
  name: string,
  config: ClusterConfig,
  env: Environment,
  envFile: string,
): Promise<ClusterConnection> {
  if ('eks' in config) return eksConnection(name, config, env);
  if ('kubeconfig' in config) return kubeconfigConnection(name, config, envFile);
  throw issue(envFile, `clusters.${name}`, 'a sandbox cluster exists only in the sandbox environment, not on a real API server');
}

/**
 * Connects on first use and remembers the result, shared by every port of the cluster. A failed connect is
 * forgotten so the next call tries again (a cluster still CREATING, a transient DescribeCluster error).
 */
export function lazyConnection(connect: () => Promise<ClusterConnection>): () => Promise<ClusterConnection> {
  let connection: Promise<ClusterConnection> | undefined;
  return () => {
    connection ??= connect().catch((error: unknown) => {
      connection = undefined;
      throw error;
    });
    return connection;
  };
}
