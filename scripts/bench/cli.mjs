// Runs the real cutover CLI (bin/cutover.js, built) as a child process, as an operator would, with the
// bench's probe preloaded; writes the runbook and environment files a round needs into its temp folder.
import { spawn } from 'node:child_process';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { kubeconfigPath, contextOf } from './kube.mjs';
import { cliBin, probeModule } from './paths.mjs';

/** Environment naming the lab's clusters by absolute kubeconfig path; runs are kept in the round's folder. */
export function environmentDoc({ dns, aws } = {}) {
  return {
    apiVersion: 'cutover.dev/v1',
    kind: 'Environment',
    name: 'bench',
    ...(aws ? { aws } : {}),
    clusters: {
      blue: { kubeconfig: { context: contextOf('blue'), path: kubeconfigPath } },
      green: { kubeconfig: { context: contextOf('green'), path: kubeconfigPath } },
    },
    ...(dns ? { dns } : {}),
    state: { local: { dir: 'state' } },
    allowNonInteractiveApproval: true,
  };
}

export function runbookDoc({ name, namespaces, concurrency, steps }) {
  return {
    apiVersion: 'cutover.dev/v1',
    kind: 'Runbook',
    name,
    environment: './environment.yaml',
    from: 'blue',
    to: 'green',
    onFailure: 'halt',
    cronjobs: { namespaces, running: 'wait', drainTimeout: '10m', missedRuns: 'skip', concurrency },
    steps,
  };
}

/** Writes environment.yaml and runbook.yaml into `dir`; returns the runbook's path. */
export async function writeRunbook(dir, environment, runbook) {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'environment.yaml'), stringify(environment));
  const file = join(dir, 'runbook.yaml');
  await writeFile(file, stringify(runbook));
  return file;
}

/**
 * Runs `cutover ARGS` and resolves with its exit code, wall time (spawn to exit) and what the probe saw.
 * stdout and stderr go to `log`. `probe` names the source and target clusters to instrument; without it
 * only the peak RSS is recorded.
 */
export async function runCutover(args, { cwd, log, probeOut, probe }) {
  const output = await open(log, 'w');
  const env = {
    ...process.env,
    NO_COLOR: '1',
    CUTOVER_USER: 'bench',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // moto takes any credentials; these keep the CLI from looking for real ones.
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    BENCH_PROBE_OUT: probeOut,
    ...(probe ? { BENCH_PROBE_SOURCE: probe.source, BENCH_PROBE_TARGET: probe.target } : {}),
  };
  try {
    const started = performance.now();
    // $BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the CLI processes of a round.
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, '--import', pathToFileURL(probeModule).href, cliBin, ...args], {
      cwd,
      env,
      stdio: ['ignore', output.fd, output.fd],
    });
    const code = await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (exitCode, signal) => resolve(exitCode ?? signal));
    });
    const wallMs = performance.now() - started;
    const seen = JSON.parse(await readFile(probeOut, 'utf8'));
    return { code, wallMs, seen };
  } finally {
    await output.close();
  }
}

/** The last lines of a log, for an error message. */
export async function tail(file, lines = 15) {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** The run's journal (local state store: <env folder>/state/<runbook>/journal.ndjson). */
export async function readJournal(dir, runbookName) {
  const text = await readFile(join(dir, 'state', runbookName, 'journal.ndjson'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

/** [start, end] epoch ms of each step, from the journal's transitions (`stepN` states). */
export function stepWindows(journal) {
  const transitions = journal.filter((e) => e.type === 'transition' && e.data);
  const windows = {};
  for (const entry of transitions) {
    const at = Date.parse(entry.at);
    const into = /^step(\d+)$/.exec(String(entry.data.to));
    const from = /^step(\d+)$/.exec(String(entry.data.from));
    if (into) (windows[into[1]] ??= {}).start ??= at;
    if (from && windows[from[1]]) windows[from[1]].end ??= at;
  }
  return windows;
}
