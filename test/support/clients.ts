// The real clients the fence's e2e tests drive: helm (pinned helm.sh/helm/v4, tools/helm) and kubectl (the
// lab's Kubernetes release, tools/k8s-lab). Each script builds its binary once, caches it under .lab/, and
// prints its path; a cached build answers at once. The e2e global setup calls both before any test file
// runs, so a fresh machine builds them there and not inside a test's timeout.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { helmBinary } from './helm.js';
import { repoRoot } from './lab-env.js';

const run = promisify(execFile);

async function built(script: string): Promise<string> {
  const { stdout } = await run('bash', [join(repoRoot, script)], { cwd: repoRoot, timeout: 1_800_000, maxBuffer: 16 * 1024 * 1024 });
  const path = stdout.trim().split('\n').at(-1) ?? '';
  if (!path) throw new Error(`${script} printed no binary path`);
  return path;
}

let kubectl: Promise<string> | undefined;

/** The chart tests' helm locator, shared. */
export const helmPath = helmBinary;
export const kubectlPath = (): Promise<string> => (kubectl ??= built('tools/k8s-lab/build-kubectl.sh'));

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a client binary; settles with its exit code instead of throwing on a non-zero one. */
export async function runTool(binary: string, args: string[], env: Record<string, string> = {}): Promise<ToolResult> {
  try {
    const { stdout, stderr } = await run(binary, args, { cwd: repoRoot, timeout: 180_000, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}
