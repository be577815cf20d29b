// Handoff of N CronJobs from lab-blue to lab-green by `cutover execute`, by the kubectl loop and by the API
// floor (the bench's own three writes per CronJob), on the same lab in the same round. Each tool gets fresh
// namespaces with the same CronJobs (source enabled, target suspended); the bench counts the requests sent,
// checks the tool really moved every CronJob, and deletes the namespaces (waiting until they are gone)
// before the next tool starts.
import { spawn } from 'node:child_process';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readJournal, runCutover, runbookDoc, environmentDoc, stepWindows, tail, writeRunbook } from './cli.mjs';
import {
  assertHandedOver,
  contextOf,
  countRequests,
  createRound,
  deleteRound,
  kubeconfigPath,
  minimalHandoff,
} from './kube.mjs';
import { kubectlLoop } from './paths.mjs';
import { distribution } from './stats.mjs';

const SOURCE = 'blue';
const TARGET = 'green';
const CLUSTERS = [SOURCE, TARGET];
const NAMESPACES = 10;

const measuredRequests = (run) => countRequests(CLUSTERS, run);

// ---------------------------------------------------------------------------------------------------------
// cutover

/** Per-CronJob gap from the probe: source confirmed suspended (read back) → target resume acknowledged. */
function probeGaps(seen) {
  const gaps = [];
  const missing = [];
  for (const [key, at] of Object.entries(seen.cronjobs)) {
    if (at.sourceConfirmed === undefined || at.targetEnabled === undefined) missing.push(key);
    else gaps.push(at.targetEnabled - at.sourceConfirmed);
  }
  return { gaps, missing };
}

/** The same gap as the journal tells it: source `write` suspend→true to target `write` suspend→false (append times). */
function journalGaps(journal) {
  const suspended = new Map();
  const gaps = [];
  for (const entry of journal) {
    if (entry.type !== 'write' || !entry.data?.ref) continue;
    const { cluster, ref, after } = entry.data;
    if (cluster === SOURCE && after?.suspend === true) suspended.set(ref, Date.parse(entry.at));
    if (cluster === TARGET && after?.suspend === false && suspended.has(ref)) gaps.push(Date.parse(entry.at) - suspended.get(ref));
  }
  return gaps;
}

async function cutoverRound(n, opts) {
  const round = await createRound('bench-h', n, NAMESPACES, { source: SOURCE, target: TARGET });
  const dir = join(opts.workDir, `handoff-${n}-${round.id}`);
  const name = `bench-handoff-${n}`;
  try {
    const runbook = await writeRunbook(
      dir,
      environmentDoc(),
      runbookDoc({ name, namespaces: round.namespaces, concurrency: opts.concurrency, steps: [{ preflight: {} }, { moveCronJobs: {} }] }),
    );
    const log = join(dir, 'execute.log');
    const { result, requests } = await measuredRequests(() =>
      runCutover(['execute', '-f', runbook, '--yes'], { cwd: dir, log, probeOut: join(dir, 'probe.json'), probe: { source: SOURCE, target: TARGET } }),
    );
    if (result.code !== 0) throw new Error(`cutover execute exited ${result.code}; ${log}:\n${await tail(log)}`);
    await assertHandedOver(round, SOURCE, TARGET);
    const journal = await readJournal(dir, name);
    const windows = stepWindows(journal);
    const move = windows['1'];
    const { gaps, missing } = probeGaps(result.seen);
    if (missing.length > 0) throw new Error(`the probe saw no complete handoff for ${missing.length} CronJob(s), e.g. ${missing[0]}`);
    const clientRequests = Object.values(result.seen.calls).reduce((a, b) => a + b, 0);
    return {
      wallMs: result.wallMs,
      handoffStepMs: move?.end !== undefined ? move.end - move.start : undefined,
      gap: distribution(gaps),
      journalGap: distribution(journalGaps(journal)),
      requests,
      clientRequests,
      clientBreakdown: result.seen.calls,
      maxRssKb: result.seen.maxRssKb,
    };
  } finally {
    await deleteRound(round, CLUSTERS);
  }
}

// ---------------------------------------------------------------------------------------------------------
// kubectl loop

async function kubectlRound(n, opts) {
  const round = await createRound('bench-k', n, NAMESPACES, { source: SOURCE, target: TARGET });
  const dir = join(opts.workDir, `kubectl-${n}-${round.id}`);
  try {
    const home = join(dir, 'home');
    await mkdir(home, { recursive: true });
    const list = join(dir, 'cronjobs.txt');
    const times = join(dir, 'times.txt');
    const sent = join(dir, 'requests.log');
    await writeFile(list, round.refs.map((ref) => `${ref.namespace} ${ref.name}\n`).join(''));
    await writeFile(times, '');
    await writeFile(sent, '');
    // A fresh HOME: kubectl starts with an empty discovery cache, as on a new operator machine.
    const env = {
      ...process.env,
      HOME: home,
      KUBECONFIG: kubeconfigPath,
      PATH: `${dirname(opts.kubectl)}:${process.env.PATH ?? ''}`,
    };
    const { result, requests } = await measuredRequests(() =>
      timedSpawn('bash', [kubectlLoop, contextOf(SOURCE), contextOf(TARGET), list, times, sent], { cwd: dir, env, log: join(dir, 'loop.log') }),
    );
    if (result.code !== 0) throw new Error(`the kubectl loop exited ${result.code}; ${join(dir, 'loop.log')}:\n${await tail(join(dir, 'loop.log'))}`);
    await assertHandedOver(round, SOURCE, TARGET);
    const gaps = (await readFile(times, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [, suspended, resumed] = line.split(' ');
        return (Number(resumed) - Number(suspended)) * 1000;
      });
    const { clientRequests, clientBreakdown } = kubectlRequests(await readFile(sent, 'utf8'));
    return { wallMs: result.wallMs, gap: distribution(gaps), requests, clientRequests, clientBreakdown };
  } finally {
    await deleteRound(round, CLUSTERS);
  }
}

/** Requests kubectl logged at -v=6 ("Response" lines), by verb and what they were for. */
function kubectlRequests(log) {
  const clientBreakdown = {};
  let clientRequests = 0;
  for (const match of log.matchAll(/"Response" verb="(\w+)" url="https?:\/\/[^/]+([^"?]*)/g)) {
    const [, verb, path] = match;
    const what = /\/cronjobs\//.test(path) ? 'cronjob' : /^\/(api|apis)$/.test(path) ? 'discovery' : path;
    const key = `${verb} ${what}`;
    clientBreakdown[key] = (clientBreakdown[key] ?? 0) + 1;
    clientRequests += 1;
  }
  return { clientRequests, clientBreakdown };
}

async function timedSpawn(command, args, { cwd, env, log }) {
  const output = await open(log, 'w');
  try {
    const started = performance.now();
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', output.fd, output.fd] });
    const code = await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (exitCode, signal) => resolve(exitCode ?? signal));
    });
    return { code, wallMs: performance.now() - started };
  } finally {
    await output.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// API floor: what the lab's apiservers allow for a handoff, measured the same way

/** In flight at once in the floor round: enough to keep both apiservers busy on two cores. */
const FLOOR_CONCURRENCY = 32;

async function floorRound(n) {
  const round = await createRound('bench-f', n, NAMESPACES, { source: SOURCE, target: TARGET });
  try {
    const started = performance.now();
    const { result: gaps, requests } = await measuredRequests(() => minimalHandoff(round, SOURCE, TARGET, FLOOR_CONCURRENCY));
    const wallMs = performance.now() - started;
    await assertHandedOver(round, SOURCE, TARGET);
    return { wallMs, gap: distribution(gaps), requests, clientRequests: 3 * n, clientBreakdown: { 'PATCH cronjob': 2 * n, 'PATCH cronjob/status': n } };
  } finally {
    await deleteRound(round, CLUSTERS);
  }
}

// ---------------------------------------------------------------------------------------------------------

const ROUNDS = { cutover: cutoverRound, kubectl: kubectlRound, floor: floorRound };

/**
 * `repeat` rounds per N; in each round every tool runs (cutover, the kubectl loop, the API floor), in an
 * order that alternates so no tool always gets the quieter slot. Returns, per N, each tool's round results.
 */
export async function benchHandoff(opts, say) {
  const results = {};
  for (const n of opts.handoffSizes) {
    const tools = opts.handoffTools ?? ['cutover', 'kubectl', 'floor'];
    results[n] = Object.fromEntries(tools.map((tool) => [tool, []]));
    for (let r = 0; r < opts.repeat; r++) {
      const order = r % 2 === 0 ? tools : [...tools].reverse();
      for (const tool of order) {
        const run = ROUNDS[tool];
        if (!run) throw new Error(`unknown handoff tool ${tool}; expected one of ${Object.keys(ROUNDS).join(', ')}`);
        const load = loadavg()[0];
        const measured = { ...(await run(n, opts)), load };
        results[n][tool].push(measured);
        say(
          `handoff N=${n} round ${r + 1}/${opts.repeat} ${tool}: ${(measured.wallMs / 1000).toFixed(2)} s` +
            (measured.handoffStepMs ? ` (step ${(measured.handoffStepMs / 1000).toFixed(2)} s)` : '') +
            ', ' +
            `${(measured.clientRequests / n).toFixed(1)} requests/CronJob (apiservers counted ${(measured.requests.tool / n).toFixed(1)}), gap p50 ${measured.gap.p50?.toFixed(0)} ms ` +
            `p99 ${measured.gap.p99?.toFixed(0)} ms max ${measured.gap.max?.toFixed(0)} ms`,
        );
      }
    }
  }
  return results;
}
