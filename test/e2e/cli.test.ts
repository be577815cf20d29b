// The built CLI (`node bin/cutover.js`, after the TypeScript build) as a user runs it, against the lab:
// bad input exits 2 with located messages and changes nothing on the clusters; `plan` reads both real
// clusters and shows what execute would do.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BatchV1Api, PatchStrategy, setHeaderOptions, type V1CronJob } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createNamespace, kubeConfigFor, labEnvironmentPath, labKubeconfigPath, labRunbookPath, repoRoot, type LabCluster } from '../support/lab.js';

const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function cutover(...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(repoRoot, 'bin', 'cutover.js'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1', CUTOVER_USER: 'cli-e2e' },
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const batch = (cluster: LabCluster) => kubeConfigFor(cluster).makeApiClient(BatchV1Api);

function cronJob(name: string, suspend: boolean, app = 'cli-e2e'): V1CronJob {
  return {
    metadata: { name, labels: { app } },
    spec: {
      schedule: '*/5 * * * *',
      suspend,
      jobTemplate: {
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox' }] } } },
      },
    },
  };
}

let dir: string;
let namespace: string;

beforeAll(async () => {
  // The shipped binary was built from the current sources by the e2e global setup.
  dir = await mkdtemp(join(tmpdir(), 'cutover-cli-e2e-'));
  namespace = await createNamespace('blue', 'cli-e2e');
  await createNamespace('green', 'cli-e2e', namespace);
  await batch('blue').createNamespacedCronJob({ namespace, body: cronJob('report', false) });
  await batch('green').createNamespacedCronJob({ namespace, body: cronJob('report', true) });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A runbook on the lab environment moving this file's own namespace. */
async function writeRunbook(name: string, steps: string[], extra: { to?: string; selector?: string } = {}): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(
    file,
    [
      'apiVersion: cutover.dev/v1',
      'kind: Runbook',
      `name: ${name}`,
      `environment: ${JSON.stringify(labEnvironmentPath)}`,
      'from: blue',
      `to: ${extra.to ?? 'green'}`,
      'cronjobs:',
      `  namespaces: [${namespace}]`,
      ...(extra.selector ? [`  selector: ${extra.selector}`] : []),
      'steps:',
      ...steps.map((step) => `  - ${step}`),
      '',
    ].join('\n'),
  );
  return file;
}

async function cronJobVersions(): Promise<string[]> {
  return Promise.all(
    (['blue', 'green'] as const).map(async (cluster) => {
      const found = await batch(cluster).readNamespacedCronJob({ namespace, name: 'report' });
      return `${cluster}:${found.metadata?.resourceVersion}:${String(found.spec?.suspend)}`;
    }),
  );
}

describe('bad input exits 2, says where, and changes nothing', () => {
  test('malformed YAML', async () => {
    const file = join(dir, 'malformed.yaml');
    await writeFile(file, 'apiVersion: cutover.dev/v1\nkind: Runbook\nsteps:\n  - preflight: {\n');
    const before = await cronJobVersions();

    const result = await cutover('execute', '-f', file, '--yes');

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(new RegExp(`^error: ${file}: 1 problem found, nothing was changed; fix it and run again:\\n  ${file}:5:1: invalid YAML: `));
    expect(await cronJobVersions()).toEqual(before);
  });

  test('an unknown cluster', async () => {
    const file = await writeRunbook('unknown-cluster', ['preflight: {}', 'moveCronJobs: {}'], { to: 'purple' });
    const before = await cronJobVersions();

    const result = await cutover('execute', '-f', file, '--yes');

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`  ${file}:6:5 to: unknown cluster "purple"; the environment "lab" has: blue, green\n`);
    expect(await cronJobVersions()).toEqual(before);
    expect(existsSync(join(repoRoot, 'config', '.cutover', 'unknown-cluster'))).toBe(false);
  });

  test('a percent out of range', async () => {
    const file = await writeRunbook('percent', ['preflight: {}', 'shiftTraffic: { percent: 150, soak: 1m }']);

    const result = await cutover('plan', '-f', file);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`  ${file}:11:30 steps.1.shiftTraffic.percent: expected a number <= 100, found the number 150\n`);
  });

  test('validate lists every problem of both files at once', async () => {
    const env = join(dir, 'env.yaml');
    await writeFile(env, `apiVersion: cutover.dev/v1\nkind: Environment\nname: e2e\nclusters:\n  blue: { kubeconfig: { context: lab-blue, path: ${JSON.stringify(labKubeconfigPath)} } }\n  green: { kubeconfig: { context: lab-green, pth: x } }\n`);
    const file = await writeRunbook('both-files', ['preflight', 'gate: { timeout: 5, cronjobFirstRun: {} }']);

    const result = await cutover('validate', '-f', file, '--env', env);

    expect(result.code).toBe(2);
    expect(result.stderr.split('\n').filter((line) => line.startsWith('  '))).toEqual([
      `  ${file}:10:5 steps.0: expected a map, found the text "preflight"; write "preflight: {}"`,
      `  ${file}:11:22 steps.1.gate.timeout: expected a duration with a unit like "90s", "5m" or "1h30m", found the number 5; write "5s" for seconds`,
      `  ${env}:6:46 clusters.green.kubeconfig.pth: unknown field "pth"; did you mean "path"? Known fields here: context, path.`,
    ]);
  });

  test('a usage error', async () => {
    const result = await cutover('plan', '--file');

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("option '-f, --file <runbook>' argument missing");
  });
});

describe('the binary', () => {
  test('--version and --help', async () => {
    const version = await cutover('--version');
    const help = await cutover('--help');

    expect(version).toMatchObject({ code: 0, stderr: '' });
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: cutover [options] [command]');
  });

  test('validate and graph on the lab runbook', async () => {
    const valid = await cutover('validate', '-f', labRunbookPath);
    const graph = await cutover('graph', '-f', labRunbookPath);

    expect(valid).toMatchObject({ code: 0, stderr: '' });
    expect(valid.stdout).toMatch(/^valid: lab-blue-to-green \(\d+ steps?, \d+ CronJob namespaces?\)\n$/);
    expect(graph.code).toBe(0);
    expect(graph.stdout.startsWith('stateDiagram-v2\n')).toBe(true);
  });
});

interface PlanJson {
  version: number;
  plan: {
    runbook: string;
    cronJobs: { ref: { namespace: string; name: string }; action: string; messages: { severity: string }[] }[];
    messages: { severity: string; code: string }[];
  };
}

const errorCount = (doc: PlanJson): number =>
  [...doc.plan.messages, ...doc.plan.cronJobs.flatMap((c) => c.messages)].filter((m) => m.severity === 'error').length;

describe('plan against the lab', () => {
  test('shows the move of the CronJob enabled on blue and suspended on green, and changes nothing', async () => {
    const file = await writeRunbook('plan-move', ['preflight: {}', 'moveCronJobs: {}'], { selector: 'app=cli-e2e' });
    const before = await cronJobVersions();

    const result = await cutover('plan', '-f', file, '--output', 'json');

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout) as PlanJson;
    expect(doc.version).toBe(1);
    expect(doc.plan.cronJobs.map((c) => [c.ref, c.action])).toEqual([[{ namespace, name: 'report' }, 'move']]);
    expect(await cronJobVersions()).toEqual(before);
  });

  test('the table names the CronJob and what will happen to it', async () => {
    const file = await writeRunbook('plan-table', ['preflight: {}', 'moveCronJobs: {}'], { selector: 'app=cli-e2e' });

    const result = await cutover('plan', '-f', file);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${namespace}/report`);
    expect(result.stdout).toContain('move');
  });

  test('a CronJob missing on the target is an error of the plan: exit 1', async () => {
    await batch('blue').createNamespacedCronJob({ namespace, body: cronJob('orphan', false, 'orphan') });
    const file = await writeRunbook('plan-orphan', ['preflight: {}', 'moveCronJobs: {}'], { selector: 'app=orphan' });

    const result = await cutover('plan', '-f', file, '--output', 'json');

    expect(result.code).toBe(1);
    const doc = JSON.parse(result.stdout) as PlanJson;
    expect(doc.plan.cronJobs).toHaveLength(1);
    expect(doc.plan.cronJobs[0]).toMatchObject({ ref: { namespace, name: 'orphan' }, action: 'blocked' });
    expect(errorCount(doc)).toBeGreaterThan(0);
    expect(result.stderr).toMatch(/^error: the plan has \d+ error\(s\):/);
  });

  test('the lab runbook plans, and its exit code follows the plan errors', async () => {
    const result = await cutover('plan', '-f', labRunbookPath, '--output', 'json');

    const doc = JSON.parse(result.stdout) as PlanJson;
    expect(doc.plan.runbook).toBe('lab-blue-to-green');
    expect(result.code).toBe(errorCount(doc) > 0 ? 1 : 0);
  });
});

describe('execute refuses before changing anything', () => {
  test('without a terminal and without --yes', async () => {
    const file = await writeRunbook('no-tty', ['preflight: {}', 'moveCronJobs: {}'], { selector: 'app=cli-e2e' });
    const before = await cronJobVersions();

    const result = await cutover('execute', '-f', file);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('there is no terminal to ask on; pass --yes to go ahead without asking');
    expect(await cronJobVersions()).toEqual(before);
  });

  test('a saved plan the clusters no longer match is stale', async () => {
    const file = await writeRunbook('stale', ['preflight: {}', 'moveCronJobs: {}'], { selector: 'app=stale' });
    await batch('blue').createNamespacedCronJob({ namespace, body: cronJob('stale', false, 'stale') });
    await batch('green').createNamespacedCronJob({ namespace, body: cronJob('stale', true, 'stale') });
    const saved = join(dir, 'stale-plan.json');
    expect((await cutover('plan', '-f', file, '--out', saved)).code).toBe(0);
    // Someone enables the target copy after the plan was reviewed.
    await batch('green').patchNamespacedCronJob(
      { namespace, name: 'stale', body: { spec: { suspend: false } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const before = await Promise.all((['blue', 'green'] as const).map((c) => batch(c).readNamespacedCronJob({ namespace, name: 'stale' })));

    const result = await cutover('execute', '-f', file, '--plan', saved, '--yes');

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`error: plan is stale: ${saved} no longer matches the clusters; nothing was changed.`);
    const after = await Promise.all((['blue', 'green'] as const).map((c) => batch(c).readNamespacedCronJob({ namespace, name: 'stale' })));
    expect(after.map((c) => c.metadata?.resourceVersion)).toEqual(before.map((c) => c.metadata?.resourceVersion));
  });
});

/** An environment file naming the two lab clusters, with runs recorded beside it. */
function writeLabEnvironment(path: string): Promise<void> {
  const clusters = (['blue', 'green'] as const).map((c) => `  ${c}: { kubeconfig: { context: lab-${c}, path: ${JSON.stringify(labKubeconfigPath)} } }`);
  return writeFile(path, ['apiVersion: cutover.dev/v1', 'kind: Environment', 'name: cli-e2e', 'clusters:', ...clusters, ''].join('\n'));
}

describe('execute and status on the lab', () => {
  test('a run that halts at a gate is recorded, resumed by the next execute, and shown by status', async () => {
    const env = join(dir, 'resume-env.yaml');
    await writeLabEnvironment(env);
    await batch('blue').createNamespacedCronJob({ namespace, body: cronJob('resume', false, 'resume') });
    await batch('green').createNamespacedCronJob({ namespace, body: cronJob('resume', true, 'resume') });
    const file = await writeRunbook(
      'resume',
      ['preflight: {}', 'moveCronJobs: {}', 'gate: { name: smoke test, timeout: 30s, command: { command: "false" } }'],
      { selector: 'app=resume' },
    );

    const first = await cutover('execute', '-f', file, '--env', env, '--yes');

    expect(first.code).toBe(1);
    expect(first.stdout).toContain(`carrying out the plan of resume: blue → green`);
    expect(first.stdout).toContain('step 3/3: smoke test');
    const runId = /^halted: run (\S+) halted: /.exec(first.stderr)?.[1];
    expect(runId).toBeDefined();
    expect(first.stderr).toContain(`Run \`cutover execute -f ${file} --env ${env}\` again to resume run ${runId}`);
    const copies = await Promise.all((['blue', 'green'] as const).map((c) => batch(c).readNamespacedCronJob({ namespace, name: 'resume' })));
    expect(copies.map((copy) => copy.spec?.suspend)).toEqual([true, false]);

    const second = await cutover('execute', '-f', file, '--env', env, '--yes');

    expect(second.code).toBe(1);
    expect(second.stdout).toContain(`resuming run ${runId} at step 3 (smoke test)`);
    expect(second.stderr).toContain(`halted: run ${runId} halted: `);

    const status = await cutover('status', '-f', file, '--env', env, '--output', 'json');

    expect(status.code).toBe(0);
    const view = JSON.parse(status.stdout) as {
      run: { runId: string; status: string; current: number; steps: { status: string; cronjobs?: { cronjob: string; phase: string }[] }[] };
    };
    expect(view.run).toMatchObject({ runId, status: 'halted', current: 2 });
    expect(view.run.steps.map((step) => step.status)).toEqual(['done', 'done', 'failed']);
    expect(view.run.steps[1]!.cronjobs).toEqual([expect.objectContaining({ cronjob: `${namespace}/resume`, phase: 'verified' })]);

    const table = await cutover('status', '-f', file, '--env', env);

    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`run ${runId}: halted`);
    expect(table.stdout).toMatch(/> {2}3\. smoke test\s+failed/);
  });
});

describe('interrupting execute', () => {
  test('SIGINT stops the run at a safe point: exit 1, recorded as aborted, resumable', async () => {
    const env = join(dir, 'sigint-env.yaml');
    await writeLabEnvironment(env);
    const file = await writeRunbook('sigint', ['preflight: {}', 'gate: { name: long check, timeout: 2m, command: { command: sleep, args: ["60"] } }'], {
      selector: 'app=nothing-here',
    });
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'cutover.js'), 'execute', '-f', file, '--env', env, '--yes'], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1', CUTOVER_USER: 'cli-e2e' },
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // Once (a second SIGINT is the operator's "quit at once"), while the gate's command runs.
      if (!interrupted && stdout.includes('waiting for gate long check')) {
        interrupted = true;
        setTimeout(() => child.kill('SIGINT'), 1_000);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));

    expect(stdout).toContain('SIGINT: stopping at the next safe point');
    expect(code).toBe(1);
    expect(stderr).toMatch(/^halted: run \S+ stopped: /);
    const status = await cutover('status', '-f', file, '--env', env, '--output', 'json');
    expect(JSON.parse(status.stdout)).toMatchObject({ run: { status: 'aborted', current: 1 } });
  });
});
