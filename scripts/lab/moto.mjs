// moto_server: Route 53, EKS, CloudWatch and STS on loopback, from a project-local venv whose packages are
// pinned in tools/k8s-lab/requirements-moto.txt. moto keeps its state in memory, so `up` registers the lab
// clusters in its EKS every time (idempotently).
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateClusterCommand, DescribeClusterCommand, EKSClient, ResourceNotFoundException } from '@aws-sdk/client-eks';
import { AWS_CREDENTIALS, KUBE_VERSION, MOTO_PORT, REGION, motoEndpoint, motoLog, motoRequirements, rel, venvDir } from './layout.mjs';
import { LabError, describeProbe, probe } from './wait.mjs';

const python = join(venvDir, 'bin', 'python');
const motoServer = join(venvDir, 'bin', 'moto_server');
const marker = join(venvDir, '.requirements-sha256');

function requirementsHash() {
  return createHash('sha256').update(readFileSync(motoRequirements)).digest('hex');
}

function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  if (r.error && /** @type {NodeJS.ErrnoException} */ (r.error).code === 'ENOENT') {
    throw new LabError(`${cmd} not found on PATH: the lab needs Python 3.9+ (with the venv module) for moto_server`);
  }
  if (r.status !== 0) throw new LabError(`${what} failed (exit ${r.status}):\n${(r.stderr ?? '').trim()}`);
}

/** Creates or refreshes .lab/venv when the pinned requirements changed; a no-op otherwise. */
export function ensureVenv() {
  const want = requirementsHash();
  if (existsSync(motoServer) && existsSync(marker) && readFileSync(marker, 'utf8').trim() === want) return;
  console.log(`lab: installing moto_server into ${rel(venvDir)} (pinned in ${rel(motoRequirements)})`);
  rmSync(venvDir, { recursive: true, force: true });
  try {
    run('python3', ['-m', 'venv', venvDir], 'python3 -m venv (on Debian/Ubuntu: apt-get install python3-venv)');
    run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', motoRequirements], 'pip install of moto_server');
  } catch (err) {
    // A half-made venv would pass the existence check next time.
    rmSync(venvDir, { recursive: true, force: true });
    throw err;
  }
  writeFileSync(marker, want + '\n');
}

/** @returns {import('./components.mjs').Component} */
export function motoComponent() {
  return {
    id: 'moto',
    what: 'moto_server',
    log: motoLog,
    port: MOTO_PORT,
    timeoutMs: 60_000,
    // Through the venv's python explicitly, so the recorded command line is the one /proc shows.
    argv: [python, motoServer, '-H', '127.0.0.1', '-p', String(MOTO_PORT)],
    check: async () => {
      const r = await probe(`${motoEndpoint}/moto-api/`);
      return { ok: r.status === 200, detail: describeProbe(r) };
    },
  };
}

function eksClient() {
  // The SDK's once-per-process notice that Node 20 support ends in 2027 would bury the lab's own output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new EKSClient({ region: REGION, endpoint: motoEndpoint, credentials: AWS_CREDENTIALS, maxAttempts: 2 });
}

async function exists(client, name) {
  try {
    await client.send(new DescribeClusterCommand({ name }));
    return true;
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return false;
    throw err;
  }
}

/** Registers each lab cluster by name in moto's EKS (moto invents endpoint and CA; the project maps names). */
export async function registerEksClusters(names) {
  const client = eksClient();
  try {
    for (const name of names) {
      if (await exists(client, name)) continue;
      await client.send(
        new CreateClusterCommand({
          name,
          version: KUBE_VERSION.replace(/^v(\d+\.\d+)\..*$/, '$1'),
          roleArn: 'arn:aws:iam::123456789012:role/cutover-lab-eks',
          resourcesVpcConfig: { subnetIds: [], securityGroupIds: [] },
          tags: { 'cutover.dev/lab': name },
        }),
      );
    }
  } finally {
    client.destroy();
  }
}
