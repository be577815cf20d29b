// In-cluster mode (issue 19): an environment whose `state.kubernetes` names no cluster keeps its run state
// and lock in the cluster cutover runs in, reached with the pod's ServiceAccount.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { IN_CLUSTER_ROOT_ENV, inClusterConnection } from '../../src/adapters/k8s/client.js';
import { loadRunbook } from '../../src/config/load.js';
import { InputError } from '../../src/core/errors.js';
import { openStateStore } from '../../src/engine/store.js';
import { loadedRunbook } from '../support/builders.js';

const SA_DIR = 'var/run/secrets/kubernetes.io/serviceaccount';
const saved = { ...process.env };
let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cutover-in-cluster-'));
  process.env.KUBERNETES_SERVICE_HOST = '10.96.0.1';
  process.env.KUBERNETES_SERVICE_PORT = '443';
  process.env[IN_CLUSTER_ROOT_ENV] = root;
});

afterEach(async () => {
  process.env = { ...saved };
  await rm(root, { recursive: true, force: true });
});

async function mountServiceAccount(files: Record<string, string>): Promise<void> {
  await mkdir(join(root, SA_DIR), { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(root, SA_DIR, name), text);
}

describe('the environment file', () => {
  test('state.kubernetes without a cluster is valid and keeps no cluster', async () => {
    await writeFile(
      join(root, 'env.yaml'),
      'apiVersion: cutover.dev/v1\nkind: Environment\nname: prod\nclusters:\n  blue: { eks: { name: b, region: eu-west-1 } }\n  green: { eks: { name: g, region: eu-west-1 } }\nstate: { kubernetes: { namespace: cutover } }\n',
    );
    await writeFile(
      join(root, 'rb.yaml'),
      'apiVersion: cutover.dev/v1\nkind: Runbook\nname: rb\nenvironment: env.yaml\nfrom: blue\nto: green\ncronjobs: { namespaces: [billing] }\nsteps:\n  - moveCronJobs:\n',
    );
    const { environment } = await loadRunbook(join(root, 'rb.yaml'));
    expect(environment.state).toEqual({ kubernetes: { namespace: 'cutover' } });
  });

  test('the state store says it lives in the cluster cutover runs in', () => {
    const store = openStateStore(loadedRunbook({ environment: { state: { kubernetes: { namespace: 'cutover' } } } }));
    expect(store.location).toBe('ConfigMap cutover/cutover-blue-to-green on cluster in-cluster');
  });
});

describe('inClusterConnection', () => {
  test('reaches the API server of KUBERNETES_SERVICE_HOST/PORT with the mounted token and CA', async () => {
    await mountServiceAccount({ token: 'sa-token', 'ca.crt': 'not checked here', namespace: 'cutover' });
    const { kubeConfig, server } = inClusterConnection('env.yaml');

    expect(server).toBe('https://10.96.0.1:443');
    expect(kubeConfig.getCurrentCluster()?.caFile).toBe(join(root, SA_DIR, 'ca.crt'));
    const { headers } = await kubeConfig.applyToFetchOptions({});
    expect(new Headers(headers as ConstructorParameters<typeof Headers>[0]).get('authorization')).toBe('Bearer sa-token');
  });

  test('outside a pod: an input error naming state.kubernetes and what to do', () => {
    delete process.env.KUBERNETES_SERVICE_HOST;
    let error: unknown;
    try {
      inClusterConnection('env.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    const issue = (error as InputError).issues[0];
    expect(issue?.path).toBe('state.kubernetes');
    expect(issue?.message).toMatch(/KUBERNETES_SERVICE_HOST.*name a cluster in state\.kubernetes\.cluster/);
  });

  test('no token mounted: an input error naming the missing file', async () => {
    await mountServiceAccount({ 'ca.crt': 'x' });
    expect(() => inClusterConnection('env.yaml')).toThrow(new RegExp(`${join(root, SA_DIR, 'token')} does not exist`));
  });
});
