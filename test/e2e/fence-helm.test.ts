// Issue 13 with real clients on the lab: a chart of CronJobs (`suspend: false` in its values) is deployed on
// both clusters with helm v4, the way a team builds green. Fenced, green's copies cannot be enabled; after
// `execute`, neither `helm upgrade` of the unchanged chart nor `kubectl apply` (client-side or server-side)
// of its rendered manifest can enable blue's copies again; after `rollback`, the same holds the other way;
// and `cutover ledger` over the whole scenario shows no tick twice. Beside it, a run killed (SIGKILL) in
// the middle of every ownership write resumes without an instant where both copies were enabled.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, describe, expect, onTestFinished, test } from 'vitest';
import { helmPath, kubectlPath, runTool, type ToolResult } from '../support/clients.js';
import {
  MINUTE,
  SuspendWatch,
  batch,
  cutover,
  enabledWhere,
  minutelyCronJob,
  ranJobs,
  showResult,
  sleep,
  ticksRunTwice,
  writeHandoffRunbook,
  type CliResult,
} from '../support/crash.js';
import { startFaultProxy, proxiedKubeconfig } from '../support/fault-proxy.js';
import { createNamespace, kubeConfigFor, labKubeconfigPath, repoRoot, uniqueName, waitFor, type LabCluster } from '../support/lab.js';

const CHART = join(repoRoot, 'test', 'fixtures', 'fence-chart');
const CONTEXT: Record<LabCluster, string> = { blue: 'lab-blue', green: 'lab-green' };

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
});

const toolShow = (r: ToolResult): string => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

async function helm(cluster: LabCluster, args: string[]): Promise<ToolResult> {
  return runTool(await helmPath(), [...args, '--kubeconfig', labKubeconfigPath, '--kube-context', CONTEXT[cluster]]);
}

async function kubectl(cluster: LabCluster, args: string[]): Promise<ToolResult> {
  return runTool(await kubectlPath(), ['--kubeconfig', labKubeconfigPath, '--context', CONTEXT[cluster], ...args]);
}

async function suspendOf(cluster: LabCluster, namespace: string): Promise<Record<string, boolean | undefined>> {
  const listed = await batch(cluster).listNamespacedCronJob({ namespace });
  return Object.fromEntries(listed.items.map((cj) => [cj.metadata?.name ?? '?', cj.spec?.suspend]));
}

/** The namespace's FenceRecord as `{ name: ownership, _default: ownership }`. */
async function recordOf(cluster: LabCluster, namespace: string): Promise<Record<string, string>> {
  const custom = kubeConfigFor(cluster).makeApiClient(CustomObjectsApi);
  const record = (await custom.getNamespacedCustomObject({ group: 'cutover.dev', version: 'v1', namespace, plural: 'fencerecords', name: 'cutover-fence' })) as {
    spec: { default: string; cronJobs?: Record<string, string> };
  };
  return { ...record.spec.cronJobs, _default: record.spec.default };
}

/** Waits until `cluster` has run a Job for a tick after `after` for every CronJob of the chart. */
async function tickRanOn(cluster: LabCluster, namespace: string, after: number): Promise<void> {
  await waitFor(
    `a Job on ${cluster} for alpha and beta after ${new Date(after).toISOString()}`,
    async () => {
      const jobs = (await batch(cluster).listNamespacedJob({ namespace })).items;
      const owners = new Set(
        jobs
          .filter((j) => Date.parse(j.metadata?.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'] ?? '') > after)
          .map((j) => j.metadata?.ownerReferences?.find((o) => o.controller)?.name),
      );
      return owners.has('alpha') && owners.has('beta') ? true : undefined;
    },
    { timeoutMs: 2 * MINUTE, intervalMs: 2_000 },
  );
}

/** Every re-apply of the unchanged chart a deploy pipeline does, on `cluster`; none may enable a copy. */
async function reapplyEverything(cluster: LabCluster, namespace: string, release: string, sweep: string): Promise<string[]> {
  const outcomes: string[] = [];
  const upgrade = await helm(cluster, ['upgrade', release, CHART, '-n', namespace, '--set', `sweep=${sweep}`, '--set', 'suspend=false']);
  outcomes.push(`helm upgrade: exit ${upgrade.code}`);
  expect(await suspendOf(cluster, namespace), toolShow(upgrade)).toEqual({ alpha: true, beta: true });
  const rendered = await helm(cluster, ['template', release, CHART, '-n', namespace, '--set', `sweep=${sweep}`]);
  expect(rendered.code, toolShow(rendered)).toBe(0);
  const dir = await mkdtemp(join(tmpdir(), 'cutover-fence-helm-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const manifest = join(dir, 'rendered.yaml');
  await writeFile(manifest, rendered.stdout);
  const clientSide = await kubectl(cluster, ['apply', '-n', namespace, '-f', manifest]);
  outcomes.push(`kubectl apply: exit ${clientSide.code}`);
  expect(clientSide.code, toolShow(clientSide)).not.toBe(0);
  expect(clientSide.stderr).toMatch(/cutover fence: CronJob .*alpha is not owned by this cluster/);
  const serverSide = await kubectl(cluster, ['apply', '--server-side', '--force-conflicts', '-n', namespace, '-f', manifest]);
  outcomes.push(`kubectl apply --server-side --force-conflicts: exit ${serverSide.code}`);
  expect(serverSide.code, toolShow(serverSide)).not.toBe(0);
  expect(await suspendOf(cluster, namespace)).toEqual({ alpha: true, beta: true });
  return outcomes;
}

describe('the fence with real clients (issue 13)', () => {
  test.concurrent('helm on both clusters, execute, re-deploys to blue, rollback, re-deploys to green: no tick twice', async () => {
    const sweep = uniqueName('fence-helm');
    const ns = uniqueName('fence-helm');
    await createNamespace('blue', 'fence-helm', ns);
    await createNamespace('green', 'fence-helm', ns);
    const dir = await mkdtemp(join(tmpdir(), 'cutover-fence-helm-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const { runbook } = await writeHandoffRunbook(dir, [ns], { name: uniqueName('fence-helm') });
    cleanup.push(() => cutover(['unfence', '-f', runbook, '--on', 'blue']), () => cutover(['unfence', '-f', runbook, '--on', 'green']));
    const watch = new SuspendWatch({ namespace: ns });
    await watch.start();
    onTestFinished(() => watch.stop());
    const began = Date.now();

    // Step one of building green: fence it. Blue, still the owner of everything, is fenced too.
    for (const cluster of ['green', 'blue'] as const) {
      const fenced = await cutover(['fence', '-f', runbook, '--on', cluster]);
      expect(fenced.code, showResult(fenced)).toBe(0);
    }
    const release = 'billing';
    const onBlue = await helm('blue', ['install', release, CHART, '-n', ns, '--set', `sweep=${sweep}`]);
    expect(onBlue.code, toolShow(onBlue)).toBe(0);
    // The same chart, unchanged, on green: refused, nothing enabled there.
    const onGreen = await helm('green', ['install', release, CHART, '-n', ns, '--set', `sweep=${sweep}`]);
    expect(onGreen.code, toolShow(onGreen)).not.toBe(0);
    expect(onGreen.stderr).toMatch(/cutover fence: CronJob .* is not owned by this cluster/);
    expect(Object.values(await suspendOf('green', ns)).filter((s) => s !== true)).toEqual([]);
    // Green built as the fence asks: suspended copies, enabled only by the handoff.
    const suspended = await helm('green', ['upgrade', '--install', release, CHART, '-n', ns, '--set', `sweep=${sweep}`, '--set', 'suspend=true']);
    expect(suspended.code, toolShow(suspended)).toBe(0);
    expect(await suspendOf('green', ns)).toEqual({ alpha: true, beta: true });
    await tickRanOn('blue', ns, began);

    const executed = await cutover(['execute', '-f', runbook, '--yes']);
    expect(executed.code, showResult(executed)).toBe(0);
    expect(await suspendOf('green', ns)).toEqual({ alpha: false, beta: false });
    expect(await recordOf('blue', ns)).toMatchObject({ alpha: 'fenced', beta: 'fenced', _default: 'owned' });
    expect(await recordOf('green', ns)).toMatchObject({ alpha: 'owned', beta: 'owned', _default: 'fenced' });
    const toBlue = await reapplyEverything('blue', ns, release, sweep);
    const handedOver = Date.now();
    await tickRanOn('green', ns, handedOver);

    const rolledBack = await cutover(['rollback', '-f', runbook, '--yes']);
    expect(rolledBack.code, showResult(rolledBack)).toBe(0);
    expect(await suspendOf('blue', ns)).toEqual({ alpha: false, beta: false });
    expect(await recordOf('green', ns)).toMatchObject({ alpha: 'fenced', beta: 'fenced' });
    const toGreen = await reapplyEverything('green', ns, release, sweep);
    await tickRanOn('blue', ns, Date.now());

    const ledger = await cutover(['ledger', '-f', runbook, '--from', new Date(began).toISOString(), '-o', 'json']);
    expect(ledger.code, showResult(ledger)).toBe(0);
    const result = JSON.parse(ledger.stdout) as { doubleRuns: number; cronJobs: { cronJob: string; ticks: { jobs: { cluster: string }[] }[] }[] };
    expect(result.doubleRuns).toBe(0);
    for (const entry of result.cronJobs) {
      const clusters = new Set(entry.ticks.flatMap((t) => t.jobs.map((j) => j.cluster)));
      expect([...clusters].sort(), entry.cronJob).toEqual(['blue', 'green']);
      expect(entry.ticks.every((t) => t.jobs.length <= 1)).toBe(true);
    }
    expect(ticksRunTwice(await ranJobs(sweep))).toEqual([]);
    await watch.stop();
    expect(watch.bothEnabled()).toEqual([]);
    // What the deploy tools did, for the record of the test run.
    console.info(`re-deploy to blue: ${toBlue.join('; ')}\nre-deploy to green: ${toGreen.join('; ')}`);
  });

  test.concurrent('SIGKILL in the middle of each ownership write: the resumed run ends target-only, never both enabled', async () => {
    const sweep = uniqueName('fence-crash');
    const watch = new SuspendWatch({ sweep });
    await watch.start();
    onTestFinished(() => watch.stop());
    // A clean run first, to learn which writes move ownership (the record PATCHes and the dry run).
    const clean = await crashPoint(sweep, 'c', () => false);
    const cleanRun = await cutover(['execute', '-f', clean.runbook, '--yes']);
    expect(cleanRun.code, showResult(cleanRun)).toBe(0);
    // Writes are counted from 1: the two record writes (source fenced, target owned), the first dry-run
    // resume, and the resume itself right after it.
    const records = clean.writes.flatMap((w, i) => (/fencerecords\/cutover-fence/.test(w) ? [i + 1] : []));
    const dryRun = clean.writes.findIndex((w) => /dryRun=All/.test(w)) + 1;
    expect(records.length, clean.writes.join('\n')).toBe(2);
    expect(dryRun, clean.writes.join('\n')).toBeGreaterThan(records[1]!);
    const at = [...records, dryRun, dryRun + 1];
    const outcomes = await Promise.all(
      at.map(async (n, i) => {
        let kill: (() => void) | undefined;
        const point = await crashPoint(sweep, `k${i}`, (count) => {
          if (count === n) kill?.();
          return count === n;
        });
        const first = await cutover(['execute', '-f', point.runbook, '--yes'], { started: (child) => (kill = () => child.kill('SIGKILL')) });
        const resumed: CliResult = first.signal === 'SIGKILL' ? await cutover(['execute', '-f', point.runbook, '--yes', '--steal-lock']) : first;
        return { n, point, first, resumed };
      }),
    );
    for (const { n, point, first, resumed } of outcomes) {
      expect(first.signal, `write ${n}: ${showResult(first)}`).toBe('SIGKILL');
      expect(resumed.code, `write ${n}: ${showResult(resumed)}`).toBe(0);
      expect(await recordOf('blue', point.namespace)).toMatchObject({ alpha: 'fenced' });
      expect(await recordOf('green', point.namespace)).toMatchObject({ alpha: 'owned' });
      // The source refuses to be enabled again after the resumed move.
      const reenable = await kubectl('blue', ['patch', 'cronjob', 'alpha', '-n', point.namespace, '--type=merge', '-p', '{"spec":{"suspend":false}}']);
      expect(reenable.code, toolShow(reenable)).not.toBe(0);
    }
    const where = await enabledWhere(sweep);
    for (const [key, clusters] of where) expect(clusters, key).toEqual(['green']);
    await sleep(1_000);
    await watch.stop();
    expect(watch.bothEnabled()).toEqual([]);
    expect(ticksRunTwice(await ranJobs(sweep))).toEqual([]);
  });
});

interface CrashPointFiles {
  namespace: string;
  runbook: string;
  writes: string[];
}

/** A namespace on both clusters, fenced, with one minutely CronJob, reached through write-counting proxies. */
async function crashPoint(sweep: string, label: string, onWrite: (count: number) => boolean): Promise<CrashPointFiles> {
  const namespace = uniqueName(`fence-crash-${label}`);
  await createNamespace('blue', 'fence-crash', namespace);
  await createNamespace('green', 'fence-crash', namespace);
  await batch('blue').createNamespacedCronJob({ namespace, body: minutelyCronJob('alpha', sweep, false) });
  await batch('green').createNamespacedCronJob({ namespace, body: minutelyCronJob('alpha', sweep, true) });
  const dir = await mkdtemp(join(tmpdir(), 'cutover-fence-crash-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const plain = await writeHandoffRunbook(join(dir), [namespace], { name: uniqueName('fence-crash'), concurrency: 1 });
  for (const cluster of ['blue', 'green'] as const) {
    const fenced = await cutover(['fence', '-f', plain.runbook, '--on', cluster]);
    expect(fenced.code, showResult(fenced)).toBe(0);
    cleanup.push(() => cutover(['unfence', '-f', plain.runbook, '--on', cluster]));
  }
  const files: CrashPointFiles = { namespace, runbook: '', writes: [] };
  const onWriteAnswered = async (method: string, path: string): Promise<void> => {
    files.writes.push(`${method} ${path}`);
    // Hold the answer until the process is gone: the write happened, the CLI never learns it.
    if (onWrite(files.writes.length)) await sleep(500);
  };
  const proxies = [await startFaultProxy('blue', { rate: 0, onWriteAnswered }), await startFaultProxy('green', { rate: 0, onWriteAnswered })];
  cleanup.push(async () => {
    for (const proxy of proxies) await proxy.close();
  });
  const proxiedDir = await mkdtemp(join(tmpdir(), 'cutover-fence-crash-'));
  cleanup.push(() => rm(proxiedDir, { recursive: true, force: true }));
  const kubeconfig = await proxiedKubeconfig(proxiedDir, proxies);
  const name = /^name: (.*)$/m.exec(await (await import('node:fs/promises')).readFile(plain.runbook, 'utf8'))![1]!;
  files.runbook = (await writeHandoffRunbook(proxiedDir, [namespace], { name, concurrency: 1, kubeconfig })).runbook;
  return files;
}
