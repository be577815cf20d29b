// Where everything of the lab lives and which loopback ports it uses. The ports are fixed because
// config/lab.yaml (committed) and the docs name them; change them here and there together.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root, found from this file so the lab works from any working directory. */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const labDir = join(root, '.lab');
export const runDir = join(labDir, 'run');
export const pidDir = join(runDir, 'pids');
export const venvDir = join(labDir, 'venv');
export const kubeconfigPath = join(labDir, 'kubeconfig');
export const buildScript = join(root, 'tools', 'k8s-lab', 'build.sh');
export const motoRequirements = join(root, 'tools', 'k8s-lab', 'requirements-moto.txt');

export const KUBE_VERSION = 'v1.34.4';
export const REGION = 'us-east-1';
export const MOTO_PORT = 15000;
export const motoEndpoint = `http://127.0.0.1:${MOTO_PORT}`;
/** moto accepts any credentials; these are the ones the project's tests and docs use. */
export const AWS_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/**
 * @typedef {{ name: 'blue' | 'green', etcdClient: number, etcdPeer: number, apiserver: number,
 *   controllerManager: number, serviceCidr: string }} ClusterLayout
 */

/** @type {ClusterLayout[]} */
export const clusters = [
  { name: 'blue', etcdClient: 23790, etcdPeer: 23800, apiserver: 16443, controllerManager: 16257, serviceCidr: '10.96.0.0/16' },
  { name: 'green', etcdClient: 23791, etcdPeer: 23801, apiserver: 26443, controllerManager: 26257, serviceCidr: '10.97.0.0/16' },
];

/** Files of one cluster under .lab/run/<name>/. */
export function clusterFiles(name) {
  const dir = join(runDir, name);
  return {
    dir,
    etcdData: join(dir, 'etcd'),
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    servingCert: join(dir, 'apiserver.crt'),
    servingKey: join(dir, 'apiserver.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
    tokens: join(dir, 'tokens.csv'),
    tokensJson: join(dir, 'tokens.json'),
    controllerKubeconfig: join(dir, 'controller-manager.kubeconfig'),
    completerKubeconfig: join(dir, 'podcompleter.kubeconfig'),
    controllerCertDir: join(dir, 'controller-manager-certs'),
    log: (component) => join(dir, `${component}.log`),
  };
}

export const motoLog = join(runDir, 'moto.log');

/** Context names written into .lab/kubeconfig. */
export const contextName = (cluster) => `lab-${cluster}`;
export const noRightsContextName = (cluster) => `lab-${cluster}-norights`;

/** Repository-relative form of a path, for messages. */
export function rel(path) {
  return path.startsWith(root + '/') ? path.slice(root.length + 1) : path;
}
