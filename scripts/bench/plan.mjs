// `cutover plan` over 2,000 CronJobs present on both clusters (10 namespaces): wall time of the whole
// process (start-up, reading both clusters, planning, rendering the table) and its peak RSS. The CronJobs
// are made once and planned `repeat` times; plan changes nothing, so every repetition sees the same world.
import { join } from 'node:path';
import { environmentDoc, runCutover, runbookDoc, tail, writeRunbook } from './cli.mjs';
import { countRequests, createRound, deleteRound } from './kube.mjs';

const CLUSTERS = ['blue', 'green'];

export async function benchPlan(opts, say) {
  const n = opts.planSize;
  const round = await createRound('bench-p', n, 10, { source: 'blue', target: 'green', concurrency: 32 });
  const dir = join(opts.workDir, `plan-${n}-${round.id}`);
  const runs = [];
  try {
    const runbook = await writeRunbook(
      dir,
      environmentDoc(),
      runbookDoc({ name: `bench-plan-${n}`, namespaces: round.namespaces, concurrency: 5, steps: [{ preflight: {} }, { moveCronJobs: {} }] }),
    );
    for (let r = 0; r < opts.planRepeat; r++) {
      const log = join(dir, `plan-${r}.log`);
      const { result, requests } = await countRequests(CLUSTERS, () =>
        runCutover(['plan', '-f', runbook], { cwd: dir, log, probeOut: join(dir, `probe-${r}.json`), probe: { source: 'blue', target: 'green' } }),
      );
      if (result.code !== 0) throw new Error(`cutover plan exited ${result.code}; ${log}:\n${await tail(log)}`);
      const clientRequests = Object.values(result.seen.calls).reduce((a, b) => a + b, 0);
      const run = { wallMs: result.wallMs, maxRssMb: result.seen.maxRssKb / 1024, requests: requests.tool, clientRequests };
      runs.push(run);
      say(`plan N=${n} run ${r + 1}/${opts.planRepeat}: ${(run.wallMs / 1000).toFixed(2)} s, peak RSS ${run.maxRssMb.toFixed(0)} MB, ${run.clientRequests} requests (apiservers counted ${run.requests})`);
    }
  } finally {
    await deleteRound(round, CLUSTERS);
  }
  return { n, runs };
}
