#!/usr/bin/env node
// `npm run bench`: cutover's benchmarks against the running lab (docs/benchmarks.md has the results and
// what limits them). Builds the CLI and a real kubectl first, then measures:
//   handoff   N CronJobs from lab-blue to lab-green, `cutover execute` beside a kubectl patch loop
//   plan      `cutover plan` over 2,000 CronJobs on both clusters: wall time, peak RSS
//   traffic   a 3-step Route 53 weight shift against moto: calls by operation per step
//   startup   `cutover --help`
// Every figure is repeated; the report gives the median and the lowest and highest seen.
//
//   node scripts/bench.mjs [--only handoff,plan,traffic,startup] [--sizes 100,500] [--tools cutover,kubectl,floor] [--repeat 3]
//     [--plan-size 2000] [--plan-repeat 5] [--traffic-repeat 3] [--startup-repeat 15] [--concurrency 25]
//     [--quick] [--no-build] [--no-write] [--keep] [--quiet-wait 120] [--kubectl PATH] [--report-from results.json]
//   --quick   small sizes, one repetition: checks the bench itself works (the report is not written)
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchHandoff } from './bench/handoff.mjs';
import { benchPlan } from './bench/plan.mjs';
import { benchStartup } from './bench/startup.mjs';
import { benchTraffic } from './bench/traffic.mjs';
import { benchmarksDoc, repoRoot } from './bench/paths.mjs';
import { writeReport } from './bench/report.mjs';

const SUITES = ['startup', 'traffic', 'handoff', 'plan'];

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    sizes: { type: 'string' },
    tools: { type: 'string' },
    repeat: { type: 'string' },
    'plan-size': { type: 'string' },
    'plan-repeat': { type: 'string' },
    'traffic-repeat': { type: 'string' },
    'startup-repeat': { type: 'string' },
    concurrency: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'quiet-wait': { type: 'string' },
    kubectl: { type: 'string' },
    'report-from': { type: 'string' },
  },
});

const say = (line) => console.log(`bench: ${line}`);
const int = (text, fallback) => (text === undefined ? fallback : Number.parseInt(text, 10));

function options() {
  const quick = args.quick;
  return {
    suites: args.only ? args.only.split(',').map((s) => s.trim()) : SUITES,
    handoffSizes: (args.sizes ?? (quick ? '20' : '100,500')).split(',').map(Number),
    handoffTools: (args.tools ?? 'cutover,kubectl,floor').split(',').map((s) => s.trim()),
    repeat: int(args.repeat, quick ? 1 : 3),
    planSize: int(args['plan-size'], quick ? 200 : 2000),
    planRepeat: int(args['plan-repeat'], quick ? 1 : 5),
    trafficRepeat: int(args['traffic-repeat'], quick ? 1 : 3),
    startupRepeat: int(args['startup-repeat'], quick ? 3 : 15),
    // Past about 50 handoffs at once the lab's apiservers queue the requests of each gap (see the doc).
    concurrency: int(args.concurrency, 25),
    quietWaitS: int(args['quiet-wait'], quick ? 0 : 120),
    write: !args['no-write'] && !quick,
  };
}

/** Runs a command to completion, output shown; throws when it fails. Returns its stdout when captured. */
function run(command, argv, { capture = false } = {}) {
  const result = spawnSync(command, argv, { cwd: repoRoot, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${argv.join(' ')} exited ${result.status ?? result.signal}`);
  return capture ? result.stdout.trim() : '';
}

function firstLine(command, argv) {
  const result = spawnSync(command, argv, { cwd: repoRoot, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim().split('\n')[0] : 'unknown';
}

/** The lab must be up already: the bench never starts or stops it (it is shared). */
function checkLab() {
  const status = spawnSync(process.execPath, ['scripts/lab.mjs', 'status'], { cwd: repoRoot, encoding: 'utf8' });
  if (status.status !== 0) throw new Error(`the lab is not healthy (node scripts/lab.mjs status):\n${status.stdout}${status.stderr}\nStart it with \`npm run lab:up\`.`);
}

/** Waits up to `seconds` for a 1-minute load average below 2; returns the load it starts with. */
async function waitForQuiet(seconds) {
  const deadline = Date.now() + seconds * 1000;
  while (loadavg()[0] >= 2 && Date.now() < deadline) {
    say(`load average ${loadavg()[0].toFixed(2)} ≥ 2: waiting for a quieter machine (until ${new Date(deadline).toISOString()})`);
    await new Promise((r) => setTimeout(r, 15_000));
  }
  const load = loadavg()[0];
  if (load >= 2) say(`load average still ${load.toFixed(2)}: measuring anyway; the report says so`);
  return load;
}

function machine(kubectl) {
  const kubectlVersion = kubectl ? firstLine(kubectl, ['version', '--client']).replace('Client Version: ', '') : 'not built';
  const server = kubectl
    ? spawnSync(kubectl, ['--kubeconfig', join(repoRoot, '.lab', 'kubeconfig'), '--context', 'lab-blue', 'version', '-o', 'json'], { encoding: 'utf8' })
    : undefined;
  let kube = 'unknown';
  try {
    kube = JSON.parse(server?.stdout ?? '{}').serverVersion?.gitVersion ?? 'unknown';
  } catch {
    // Left unknown: the version is context for the report, not a result.
  }
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown CPU',
    memoryGiB: (totalmem() / 2 ** 30).toFixed(0),
    kernel: release(),
    node: process.version,
    go: firstLine('go', ['version']),
    kubectl: kubectlVersion,
    kube,
  };
}

function settingsLine(opts) {
  const parts = {
    handoff: `handoff N = ${opts.handoffSizes.join(', ')} over 10 namespaces (${opts.handoffTools.join(', ')}), ${opts.repeat} rounds each, runbook concurrency ${opts.concurrency}`,
    plan: `plan ${opts.planSize} CronJobs, ${opts.planRepeat} runs`,
    traffic: `traffic shift ${opts.trafficRepeat} runs`,
    startup: `start-up ${opts.startupRepeat} runs`,
  };
  return SUITES.filter((s) => opts.suites.includes(s)).map((s) => parts[s]).join('; ');
}

function commandLine() {
  const given = process.argv.slice(2);
  return given.length === 0 ? 'npm run bench' : `node scripts/bench.mjs ${given.join(' ')}`;
}

async function main() {
  if (args['report-from']) {
    // Writes the report of a kept run (`--keep`) again, without measuring.
    await writeReport(benchmarksDoc, JSON.parse(await readFile(args['report-from'], 'utf8')));
    say(`results of ${args['report-from']} written to docs/benchmarks.md`);
    return;
  }
  const opts = options();
  const unknown = opts.suites.filter((s) => !SUITES.includes(s));
  if (unknown.length > 0) throw new Error(`unknown suite(s) ${unknown.join(', ')}; expected some of ${SUITES.join(', ')}`);
  checkLab();
  if (!args['no-build']) {
    say('building the CLI (npm run build)');
    run('npm', ['run', '--silent', 'build']);
  }
  const kubectl = opts.suites.includes('handoff') || args.kubectl ? (args.kubectl ?? run('bash', ['tools/k8s-lab/build-kubectl.sh'], { capture: true })) : undefined;
  const workDir = await mkdtemp(join(tmpdir(), 'cutover-bench-'));
  const loads = [await waitForQuiet(opts.quietWaitS)];
  const results = {
    date: new Date().toISOString(),
    command: commandLine(),
    machine: machine(kubectl),
    settings: settingsLine(opts),
    loads,
  };
  const suiteOpts = { ...opts, workDir, kubectl };
  const startedAt = Date.now();
  const before = (name) => {
    loads.push(loadavg()[0]);
    say(`${name} (load average ${loadavg()[0].toFixed(2)})`);
  };
  try {
    for (const suite of SUITES.filter((s) => opts.suites.includes(s))) {
      before(suite);
      if (suite === 'startup') results.startup = await benchStartup(suiteOpts, say);
      if (suite === 'traffic') results.traffic = await benchTraffic({ ...suiteOpts, repeat: opts.trafficRepeat }, say);
      if (suite === 'handoff') results.handoff = await benchHandoff(suiteOpts, say);
      if (suite === 'plan') results.plan = await benchPlan(suiteOpts, say);
    }
  } catch (error) {
    // The logs of the failed round stay for reading.
    await writeFile(join(workDir, 'results.json'), JSON.stringify(results, null, 2));
    say(`stopped; logs and partial results are in ${workDir}`);
    throw error;
  }
  results.durationS = Math.round((Date.now() - startedAt) / 1000);
  say(`measured in ${Math.floor(results.durationS / 60)} min ${results.durationS % 60} s`);
  await writeFile(join(workDir, 'results.json'), JSON.stringify(results, null, 2));
  if (opts.write) {
    await writeReport(benchmarksDoc, results);
    say('results written to docs/benchmarks.md');
  }
  if (opts.write && !args.keep) {
    await rm(workDir, { recursive: true, force: true });
  } else {
    say(`logs and raw results: ${workDir}${opts.write ? '' : ' (report not written: --quick or --no-write)'}`);
  }
}

try {
  await main();
} catch (error) {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
