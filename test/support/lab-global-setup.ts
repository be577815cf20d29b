// vitest globalSetup of the e2e project: refuses to run against a lab that is not up, then builds the CLI
// once. It never starts the lab itself (scripts/test.sh does that for `npm test`), so a missing lab fails
// in seconds, not in timeouts. The build happens here, before any test file runs, because files run side by
// side: a build inside one file would rewrite dist/ under another file's running `cutover` processes.
import { buildCli } from './build-cli.js';
import { kubectlPath } from './clients.js';
import { helmBinary } from './helm.js';
import { labClusterNames, labReadyz, motoResponds } from './lab-env.js';

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
  // helm (the chart and fence tests) and kubectl (the fence tests): built once here (minutes on a fresh
  // machine), instant from the cache.
  await Promise.all([buildCli(), helmBinary(), kubectlPath()]);
}
