// The helm CLI the chart tests run: built from the Go module proxy by tools/helm/build.sh, cached under
// .lab/helm. Free of vitest APIs: the e2e global setup builds it once before any test file runs, so files
// running side by side never build it twice; later calls only read the cache.
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { labKubeconfigPath, repoRoot } from './lab-env.js';

const run = promisify(execFile);
let binary: Promise<string> | undefined;

/** Path of the pinned helm binary; builds it the first time (a few minutes), then answers from the cache. */
export function helmBinary(): Promise<string> {
  binary ??= run('bash', [join(repoRoot, 'tools/helm/build.sh')], { timeout: 1_200_000, maxBuffer: 16 << 20 })
    .then(({ stdout }) => stdout.trim().split('\n').at(-1) ?? '')
    .catch((error: unknown) => {
      binary = undefined;
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`building helm with tools/helm/build.sh failed:\n${stderr}`);
    });
  return binary;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm; resolves with its exit code and output whatever the code, so tests can assert on failures. */
export async function helm(args: string[], opts: { context?: string } = {}): Promise<HelmResult> {
  const kube = opts.context ? ['--kubeconfig', labKubeconfigPath, '--kube-context', opts.context] : [];
  // A home of its own: helm writes caches and its repository config under XDG folders.
  const env = { PATH: process.env.PATH ?? '', HOME: join(tmpdir(), 'cutover-helm-home') };
  try {
    const { stdout, stderr } = await run(await helmBinary(), [...args, ...kube], { cwd: repoRoot, env, timeout: 300_000, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}

/** Where the chart lives in the repository, and the complete example values the tests lint and render. */
export const chartDir = join(repoRoot, 'deploy/chart/cutover');
export const chartExampleValues = join(chartDir, 'ci/eks-values.yaml');
