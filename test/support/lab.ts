// Helpers for e2e tests against the lab (`npm run lab:up`). Each test file works in namespaces of its own,
// made by createNamespace, so files run side by side on the shared clusters.
import { randomBytes } from 'node:crypto';
import { ApiException, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll } from 'vitest';
import { kubeConfigFor, motoCredentialsEnv, type LabCluster } from './lab-env.js';

export * from './lab-env.js';

/** `prefix-` plus random letters, a valid DNS label (≤ 63 characters). */
export function uniqueName(prefix: string): string {
  const suffix = randomBytes(4).toString('hex');
  const head = prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63 - suffix.length - 1);
  return `${head}-${suffix}`;
}

interface CreatedNamespace {
  cluster: LabCluster;
  name: string;
}

// Namespaces made outside a running test (in beforeAll) are deleted when the file's suite ends.
const suiteNamespaces: CreatedNamespace[] = [];
afterAll(async () => {
  await Promise.all(suiteNamespaces.splice(0).map(deleteNamespace));
});

async function deleteNamespace({ cluster, name }: CreatedNamespace): Promise<void> {
  const core = kubeConfigFor(cluster).makeApiClient(CoreV1Api);
  try {
    // Background: the namespace controller removes the contents; the test need not wait for it.
    await core.deleteNamespace({ name, propagationPolicy: 'Background' });
  } catch (err) {
    if (!(err instanceof ApiException && err.code === 404)) throw err;
  }
}

/**
 * Creates a namespace with a unique name on a lab cluster and deletes it after the test file. (Not after
 * the current test: inside `test.concurrent` vitest's global onTestFinished attaches to whichever test
 * finishes first, which deleted namespaces still in use.) Pass the same prefix to both clusters to get
 * related names.
 */
export async function createNamespace(cluster: LabCluster, prefix: string, name = uniqueName(prefix)): Promise<string> {
  const core = kubeConfigFor(cluster).makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name, labels: { 'lab.cutover.dev/e2e': prefix.slice(0, 63) } } } });
  suiteNamespaces.push({ cluster, name });
  return name;
}

/**
 * Polls `probe` until it returns a value other than undefined, or throws once `timeoutMs` has passed
 * with a message naming what was awaited and the last value seen.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500));
  }
}

/**
 * For the tests of the calling file: moto's keys in the process environment, where the SDK's default
 * credential chain finds them (as it finds an operator's), and the previous values back afterwards.
 */
export function useMotoCredentials(): void {
  const saved = Object.fromEntries(Object.keys(motoCredentialsEnv).map((key) => [key, process.env[key]]));
  beforeAll(() => {
    Object.assign(process.env, motoCredentialsEnv);
  });
  afterAll(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
}
