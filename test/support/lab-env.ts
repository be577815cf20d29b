// Facts about the running lab (paths, endpoints, credentials) and health probes, free of any vitest API so
// the global setup, which runs outside test workers, can use them too. Tests import test/support/lab.ts.
import { existsSync } from 'node:fs';
import https from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';

// The AWS SDK warns once per process that Node 20 support ends in 2027; in test output that is noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export type LabCluster = 'blue' | 'green';
export const labClusterNames: readonly LabCluster[] = ['blue', 'green'];

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const labKubeconfigPath = join(repoRoot, '.lab', 'kubeconfig');
/** The committed environment file that points at the lab (contexts lab-blue / lab-green, moto). */
export const labEnvironmentPath = join(repoRoot, 'config', 'lab.yaml');
/** The initial lab runbook: moves namespace `billing` from blue to green. */
export const labRunbookPath = join(repoRoot, 'workflows', 'lab.yaml');

/** Kubernetes release the lab builds; the e2e suite checks the servers report exactly this. */
export const LAB_KUBE_VERSION = 'v1.34.4';

export const motoEndpoint = 'http://127.0.0.1:15000';
export const labRegion = 'us-east-1';
export const labAccountId = '123456789012';

/** The keys moto accepts, as the SDK's default credential chain reads them from the environment. */
export const motoCredentialsEnv = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' } as const;

/** Options for any @aws-sdk v3 client, pointed at moto: `new Route53Client(awsClientConfig())`. */
export function awsClientConfig(): {
  region: string;
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
} {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = motoCredentialsEnv;
  return { region: labRegion, endpoint: motoEndpoint, credentials: { accessKeyId, secretAccessKey } };
}

export const contextFor = (cluster: LabCluster): string => `lab-${cluster}`;
/** Context of a user that is authenticated but holds no RBAC rights at all. */
export const noRightsContextFor = (cluster: LabCluster): string => `lab-${cluster}-norights`;

const NOT_UP = 'the lab is not up: run `npm run lab:up` first';

/** A fresh KubeConfig loaded from .lab/kubeconfig (all contexts). */
export function readLabKubeconfig(): KubeConfig {
  if (!existsSync(labKubeconfigPath)) throw new Error(`${labKubeconfigPath} not found: ${NOT_UP}`);
  const kc = new KubeConfig();
  kc.loadFromFile(labKubeconfigPath);
  return kc;
}

/** KubeConfig for one lab cluster, as its admin (default) or as the user without rights. */
export function kubeConfigFor(cluster: LabCluster, user: 'admin' | 'norights' = 'admin'): KubeConfig {
  const kc = readLabKubeconfig();
  kc.setCurrentContext(user === 'admin' ? contextFor(cluster) : noRightsContextFor(cluster));
  return kc;
}

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

function get(url: string, ca?: Buffer): Promise<ProbeResult> {
  return new Promise((done) => {
    const req = https.get(url, { ca, timeout: 3_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => done({ ok: res.statusCode === 200, detail: `HTTP ${res.statusCode} ${body.trim().slice(0, 200)}` }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => done({ ok: false, detail: err.message }));
  });
}

/** GET /readyz of a lab apiserver, verifying its certificate against the CA in .lab/kubeconfig. */
export async function labReadyz(cluster: LabCluster): Promise<ProbeResult> {
  const kc = readLabKubeconfig();
  const entry = kc.getCluster(contextFor(cluster));
  if (!entry?.caData) return { ok: false, detail: `no cluster ${contextFor(cluster)} in ${labKubeconfigPath}` };
  return get(`${entry.server}/readyz`, Buffer.from(entry.caData, 'base64'));
}

/** True when moto_server answers on its fixed port. */
export async function motoResponds(): Promise<ProbeResult> {
  try {
    const res = await fetch(`${motoEndpoint}/moto-api/`, { signal: AbortSignal.timeout(3_000) });
    return { ok: res.ok, detail: `HTTP ${res.status}` };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

/** Admin token of a lab cluster, for tests that speak HTTP to the apiserver themselves. */
export function adminToken(cluster: LabCluster): string {
  const kc = kubeConfigFor(cluster);
  const token = kc.getCurrentUser()?.token;
  if (!token) throw new Error(`no token for ${contextFor(cluster)} in ${labKubeconfigPath}`);
  return token;
}

/** The lab's CA certificate of one cluster (PEM), from .lab/kubeconfig. */
export function clusterCa(cluster: LabCluster): string {
  const data = readLabKubeconfig().getCluster(contextFor(cluster))?.caData;
  if (!data) throw new Error(`no CA for ${contextFor(cluster)} in ${labKubeconfigPath}`);
  return Buffer.from(data, 'base64').toString('utf8');
}
