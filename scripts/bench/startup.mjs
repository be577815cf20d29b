// Start-up time: `cutover --help` from spawn to exit, as an operator's shell sees it, beside a bare
// `node -e 0` on the same machine (the part no code of ours can remove).
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { cliBin } from './paths.mjs';

function timed(args) {
  const started = performance.now();
  const run = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  const ms = performance.now() - started;
  if (run.status !== 0) throw new Error(`node ${args.join(' ')} exited ${run.status}: ${run.stderr.toString().slice(0, 500)}`);
  return ms;
}

export async function benchStartup(opts, say) {
  // One unmeasured run of each fills the page cache, as on a machine where cutover was just installed and run.
  timed([cliBin, '--help']);
  timed(['-e', '0']);
  const help = [];
  const bare = [];
  for (let r = 0; r < opts.startupRepeat; r++) {
    help.push(timed([cliBin, '--help']));
    bare.push(timed(['-e', '0']));
  }
  say(`start-up: cutover --help ${help.map((ms) => ms.toFixed(0)).join(', ')} ms; node -e 0 ${bare.map((ms) => ms.toFixed(0)).join(', ')} ms`);
  return { help, bare };
}
