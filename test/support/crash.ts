// Crashing the shipped CLI at chosen points, and watching both lab clusters for the handoff invariant.
//
// The crash hook is a preload module (`node --import`), so the product needs no test switch: it wraps
// `rename` of node:fs/promises — the last act of the local store's atomic snapshot save — and, after the
// n-th rename onto a `snapshot.json` (CUTOVER_CRASH_AT=n), kills its own process with SIGKILL. Every
// completed rename is logged to CUTOVER_CRASH_LOG, so a clean run tells how many saves (crash points)
// a run has.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BatchV1Api, Watch, type V1CronJob, type V1Job } from '@kubernetes/client-node';
import { expect } from 'vitest';
import { kubeConfigFor, labKubeconfigPath, motoEndpoint, repoRoot, type LabCluster } from './lab.js';

export const MINUTE = 60_000;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
export const batch = (cluster: LabCluster) => kubeConfigFor(cluster).makeApiClient(BatchV1Api);
const SCHEDULED = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

const HOOK = `
import fsp from 'node:fs/promises';
import { appendFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
const crashAt = Number(process.env.CUTOVER_CRASH_AT ?? '0');
const log = process.env.CUTOVER_CRASH_LOG;
const original = fsp.rename;
let saves = 0;
fsp.rename = async function rename(from, to) {
  const result = await original.call(this, from, to);
  if (String(to).endsWith('snapshot.json')) {
    saves += 1;
    if (log) appendFileSync(log, saves + '\\n');
    if (saves === crashAt) process.kill(process.pid, 'SIGKILL');
  }
  return result;
};
syncBuiltinESMExports();
`;

let hookFile: Promise<string> | undefined;

/** The preload module's file URL, written once per test process. */
export function crashHook(): Promise<string> {
  hookFile ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cutover-crash-hook-'));
    const file = join(dir, 'crash-hook.mjs');
    await writeFile(file, HOOK);
    return pathToFileURL(file).href;
  })();
  return hookFile;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export const showResult = (r: CliResult): string => `exit ${r.code ?? r.signal}\n${r.stdout}\n${r.stderr}`;

export interface CliOptions {
  env?: Record<string, string>;
  /** Preload the crash hook. */
  hook?: boolean;
  timeoutMs?: number;
  /** Called once the process runs, e.g. to signal it from outside. */
  started?: (child: ChildProcess) => void;
}

/** Runs `bin/cutover.js` as an operator does; settles with the exit code or the killing signal. */
export async function cutover(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const pre = options.hook ? ['--import', await crashHook()] : [];
  const child = spawn(process.execPath, [...pre, join(repoRoot, 'bin', 'cutover.js'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: '1', CUTOVER_USER: 'safety-e2e', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  options.started?.(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 5 * MINUTE);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Runs `cutover execute` until it completes, as an operator re-runs a halted run. Every attempt must end
 * on its own (no wait without a deadline) with an exit code the CLI chose: done, or halted / failed with a
 * clear `halted: ` or `error: ` line, never an unexpected error.
 */
export async function untilDone(
  runbook: string,
  opts: { maxAttempts?: number; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<CliResult[]> {
  const attempts: CliResult[] = [];
  const maxAttempts = opts.maxAttempts ?? 15;
  for (let i = 0; i < maxAttempts; i++) {
    const result = await cutover(['execute', '-f', runbook, '--yes', '--steal-lock'], { timeoutMs: opts.timeoutMs ?? 6 * MINUTE, ...(opts.env ? { env: opts.env } : {}) });
    attempts.push(result);
    expect(result.signal, showResult(result)).toBeNull();
    if (result.code === 0) return attempts;
    expect([1, 2], showResult(result)).toContain(result.code);
    expect(result.stderr, showResult(result)).toMatch(/^(halted|error): /m);
    expect(result.stderr, showResult(result)).not.toContain('unexpected error');
  }
  expect.fail(`not done after ${maxAttempts} attempts:\n${attempts.map(showResult).join('\n=====\n')}`);
}

// ---------------------------------------------------------------------------------------------------------
// CronJobs and runbooks

/** The label every object of one test file carries, so one watch per cluster sees them all. */
export const SWEEP_LABEL = 'safety.cutover.dev/sweep';

export function minutelyCronJob(name: string, sweep: string, suspend: boolean, runSeconds?: number): V1CronJob {
  const annotations: Record<string, string> = runSeconds ? { 'lab.cutover.dev/run-seconds': String(runSeconds) } : {};
  return {
    metadata: { name, labels: { [SWEEP_LABEL]: sweep } },
    spec: {
      schedule: '* * * * *',
      suspend,
      // The default history (3 Jobs) would delete the evidence of earlier ticks during the test.
      successfulJobsHistoryLimit: 50,
      failedJobsHistoryLimit: 50,
      jobTemplate: {
        metadata: { labels: { [SWEEP_LABEL]: sweep } },
        spec: {
          backoffLimit: 0,
          template: { metadata: { annotations }, spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox' }] } },
        },
      },
    },
  };
}

export interface RunbookFiles {
  dir: string;
  runbook: string;
  environment: string;
}

/**
 * Environment lines (for `envExtra`) pointing the AWS clients at moto (or at `aws.endpoint`, e.g. a fault
 * proxy in front of it) and naming one blue/green weighted A record.
 */
export function motoDnsLines(zoneId: string, name: string, aws: { endpoint?: string; accountId?: string } = {}): string[] {
  const account = aws.accountId ? `, accountId: "${aws.accountId}"` : '';
  return [
    `aws: { region: us-east-1, endpoint: "${aws.endpoint ?? motoEndpoint}"${account} }`,
    'dns:',
    `  hostedZoneId: ${zoneId}`,
    '  records:',
    `    - { name: ${name}, type: A, setIdentifiers: { blue: blue, green: green } }`,
  ];
}

/** An environment of the two lab clusters with local state in `dir`, and a handoff runbook for `namespaces`. */
export async function writeHandoffRunbook(
  dir: string,
  namespaces: string[],
  opts: {
    name?: string;
    kubeconfig?: string;
    contexts?: Record<LabCluster, string>;
    /** More lines of the environment (aws, dns). */
    envExtra?: string[];
    /** More lines of the runbook's cronjobs section. */
    extra?: string[];
    /** cronjobs.concurrency; 3 unless given. */
    concurrency?: number;
    /** cronjobs.drainTimeout; 3m unless given. */
    drainTimeout?: string;
    /** cronjobs.missedRuns; skip unless given. */
    missedRuns?: 'skip' | 'latest' | 'all' | 'run-once';
    steps?: string[];
  } = {},
): Promise<RunbookFiles> {
  const kubeconfig = JSON.stringify(opts.kubeconfig ?? labKubeconfigPath);
  const contexts = opts.contexts ?? { blue: 'lab-blue', green: 'lab-green' };
  const environment = join(dir, 'environment.yaml');
  await writeFile(
    environment,
    [
      'apiVersion: cutover.dev/v1',
      'kind: Environment',
      'name: safety-e2e',
      'clusters:',
      `  blue: { kubeconfig: { context: ${contexts.blue}, path: ${kubeconfig} } }`,
      `  green: { kubeconfig: { context: ${contexts.green}, path: ${kubeconfig} } }`,
      'state: { local: { dir: state } }',
      ...(opts.envExtra ?? []),
      '',
    ].join('\n'),
  );
  const runbook = join(dir, 'runbook.yaml');
  await writeFile(
    runbook,
    [
      'apiVersion: cutover.dev/v1',
      'kind: Runbook',
      `name: ${opts.name ?? 'safety-e2e'}`,
      'environment: environment.yaml',
      'from: blue',
      'to: green',
      'onFailure: halt',
      'cronjobs:',
      `  namespaces: [${namespaces.join(', ')}]`,
      '  running: wait',
      `  drainTimeout: ${opts.drainTimeout ?? '3m'}`,
      `  missedRuns: ${opts.missedRuns ?? 'skip'}`,
      `  concurrency: ${opts.concurrency ?? 3}`,
      ...(opts.extra ?? []),
      'steps:',
      ...(opts.steps ?? ['  - preflight: {}', '  - moveCronJobs: {}']),
      '',
    ].join('\n'),
  );
  return { dir, runbook, environment };
}

// ---------------------------------------------------------------------------------------------------------
// Watching both apiservers: every suspend value of every CronJob in scope, stamped on arrival

interface Seen {
  at: number;
  cluster: LabCluster;
  key: string;
  suspend: boolean;
}

/** The CronJobs a watch follows: those of one namespace, or those carrying a sweep's label anywhere. */
export type WatchScope = { namespace: string } | { sweep: string };

export class SuspendWatch {
  readonly seen: Seen[] = [];
  private stopped = false;
  private readonly running: Promise<void>[] = [];
  private readonly controllers = new Set<AbortController>();
  private readonly labelSelector?: string;
  private readonly path: string;

  constructor(private readonly scope: WatchScope) {
    this.labelSelector = 'sweep' in scope ? `${SWEEP_LABEL}=${scope.sweep}` : undefined;
    this.path = 'namespace' in scope ? `/apis/batch/v1/namespaces/${scope.namespace}/cronjobs` : '/apis/batch/v1/cronjobs';
  }

  private list(cluster: LabCluster) {
    return 'namespace' in this.scope
      ? batch(cluster).listNamespacedCronJob({ namespace: this.scope.namespace })
      : batch(cluster).listCronJobForAllNamespaces({ labelSelector: this.labelSelector });
  }

  async start(): Promise<void> {
    for (const cluster of ['blue', 'green'] as const) {
      const listed = await this.list(cluster);
      for (const cj of listed.items) this.record(cluster, cj);
      this.running.push(this.follow(cluster, listed.metadata?.resourceVersion ?? '0'));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const controller of this.controllers) controller.abort();
    await Promise.all(this.running);
  }

  /** Moments when a CronJob was enabled on both clusters, from the merged arrival order. */
  bothEnabled(): string[] {
    const state = new Map<string, boolean>();
    const overlaps: string[] = [];
    for (const event of [...this.seen].sort((a, b) => a.at - b.at)) {
      state.set(`${event.cluster}|${event.key}`, !event.suspend);
      if (state.get(`blue|${event.key}`) === true && state.get(`green|${event.key}`) === true) {
        overlaps.push(`${event.key} at ${new Date(event.at).toISOString()}`);
      }
    }
    return overlaps;
  }

  /** When a CronJob was last seen switching to `suspend` on a cluster. */
  switchedAt(cluster: LabCluster, key: string, suspend: boolean): number | undefined {
    const events = this.seen.filter((e) => e.cluster === cluster && e.key === key);
    const index = events.findLastIndex((e, i) => e.suspend === suspend && i > 0 && events[i - 1]!.suspend !== suspend);
    return index < 0 ? undefined : events[index]!.at;
  }

  private record(cluster: LabCluster, cj: V1CronJob): void {
    const key = `${cj.metadata?.namespace ?? '?'}/${cj.metadata?.name ?? '?'}`;
    const suspend = cj.spec?.suspend === true;
    const last = this.seen.findLast((e) => e.cluster === cluster && e.key === key);
    if (last?.suspend !== suspend) this.seen.push({ at: Date.now(), cluster, key, suspend });
  }

  /** Watches from `resourceVersion`, again from the last one seen whenever the server ends the watch. */
  private async follow(cluster: LabCluster, resourceVersion: string): Promise<void> {
    let version = resourceVersion;
    while (!this.stopped) {
      let expired = false;
      const ended = new Promise<unknown>((resolve) => {
        void new Watch(kubeConfigFor(cluster))
          .watch(
            this.path,
            { resourceVersion: version, allowWatchBookmarks: true, ...(this.labelSelector ? { labelSelector: this.labelSelector } : {}) },
            (type, object: V1CronJob & { code?: number }) => {
              if (type === 'ERROR') {
                expired = object.code === 410;
                return;
              }
              version = object.metadata?.resourceVersion ?? version;
              if (type !== 'BOOKMARK') this.record(cluster, object);
            },
            resolve,
          )
          .then((controller) => (this.stopped ? controller.abort() : this.controllers.add(controller)), resolve);
      });
      const error = await ended;
      if (expired) {
        const listed = await this.list(cluster);
        for (const cj of listed.items) this.record(cluster, cj);
        version = listed.metadata?.resourceVersion ?? version;
      } else if (error && !this.stopped) {
        await sleep(200);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Evidence: Jobs per tick, and where each CronJob ends enabled

export interface RanJob {
  cluster: LabCluster;
  key: string;
  name: string;
  tick: number;
}

export async function ranJobs(sweep: string): Promise<RanJob[]> {
  const all: RanJob[] = [];
  for (const cluster of ['blue', 'green'] as const) {
    const jobs: V1Job[] = (await batch(cluster).listJobForAllNamespaces({ labelSelector: `${SWEEP_LABEL}=${sweep}` })).items;
    for (const job of jobs) {
      const owner = job.metadata?.ownerReferences?.find((o) => o.controller === true && o.kind === 'CronJob');
      all.push({
        cluster,
        key: `${job.metadata?.namespace ?? '?'}/${owner?.name ?? '?'}`,
        name: job.metadata?.name ?? '?',
        tick: Date.parse(job.metadata?.annotations?.[SCHEDULED] ?? ''),
      });
    }
  }
  return all;
}

/** Ticks that ran on both clusters (or twice on one), as `namespace/cronjob@time: jobs`. */
export function ticksRunTwice(jobs: RanJob[]): string[] {
  const perTick = new Map<string, string[]>();
  for (const job of jobs) {
    const id = `${job.key}@${new Date(job.tick).toISOString()}`;
    perTick.set(id, [...(perTick.get(id) ?? []), `${job.cluster}/${job.name}`]);
  }
  return [...perTick.entries()].filter(([, names]) => names.length > 1).map(([id, names]) => `${id}: ${names.join(', ')}`);
}

/** `namespace/name` → which clusters have it enabled now. */
export async function enabledWhere(sweep: string): Promise<Map<string, LabCluster[]>> {
  const where = new Map<string, LabCluster[]>();
  for (const cluster of ['blue', 'green'] as const) {
    const listed = await batch(cluster).listCronJobForAllNamespaces({ labelSelector: `${SWEEP_LABEL}=${sweep}` });
    for (const cj of listed.items) {
      const key = `${cj.metadata?.namespace ?? '?'}/${cj.metadata?.name ?? '?'}`;
      if (!where.has(key)) where.set(key, []);
      if (cj.spec?.suspend !== true) where.get(key)!.push(cluster);
    }
  }
  return where;
}
