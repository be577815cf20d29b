// vitest globalSetup of the e2e project: refuses to run against a lab that is not up. It never starts the
// lab itself (scripts/test.sh does that for `npm test`), so a missing lab fails in seconds, not in timeouts.
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
}
