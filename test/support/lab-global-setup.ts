// vitest globalSetup of the e2e project: refuses to run against a lab that is not up, then builds the CLI
// once. It never starts the lab itself (scripts/test.sh does that for `npm test`), so a missing lab fails
// in seconds, not in timeouts. The build happens here, before any test file runs, because files run side by
// side: a build inside one file would rewrite dist/ under another file's running `cutover` processes.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { helmPath, kubectlPath } from './clients.js';
import { labClusterNames, labReadyz, motoResponds } from './lab-env.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The e2e tests exercise the shipped binary (`node bin/cutover.js`): compile the current sources. */
async function buildCli(): Promise<void> {
  const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: repoRoot, timeout: 300_000 });
  } catch (err) {
    const out = (err as { stdout?: string }).stdout ?? '';
    throw new Error(`building the CLI for the e2e suite failed:\n${out}`);
  }
}

export default async function checkLabIsUp(): Promise<void> {
  const problems: string[] = [];
  for (const cluster of labClusterNames) {
    try {
      const r = await labReadyz(cluster);
      if (!r.ok) problems.push(`${cluster} kube-apiserver /readyz: ${r.detail}`);
    } catch (err) {
      problems.push(`${cluster}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const moto = await motoResponds();
  if (!moto.ok) problems.push(`moto_server: ${moto.detail}`);
  if (problems.length > 0) {
    throw new Error(`the lab is not up (${problems.join('; ')}): run \`npm run lab:up\` first`);
  }
  // helm and kubectl for the fence's real-client tests: built once (minutes on a fresh machine), then cached.
  await Promise.all([buildCli(), helmPath(), kubectlPath()]);
}
